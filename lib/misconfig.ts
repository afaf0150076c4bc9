import safeRegex from 'safe-regex2'
import { parseOriginEntry } from './origin.ts'

// CORS configurations that have caused real breaches, refused at startup: one table, each check
// naming the mistake, finding it in a policy and saying what to write instead. README ("Startup
// errors") and SECURITY.md list the same checks, with the attack each one prevents.

type Add = (path: string, message: string) => void

/** A policy's origins as the checks see them: each string or RegExp with its JSON path. */
interface PolicyView {
  readonly origins: ReadonlyArray<{ readonly path: string, readonly value: string | RegExp }>
  readonly credentials: boolean
  readonly insecureAllowed: boolean
}

export interface MisconfigCheck {
  /** The mistake, as the docs name it. */
  readonly name: string
  /** Adds a problem for each place of the policy that makes the mistake. */
  readonly find: (policy: PolicyView, add: Add) => void
}

export const MISCONFIG_CHECKS: readonly MisconfigCheck[] = [
  {
    name: 'an http origin with credentials',
    find (policy, add) {
      if (!policy.credentials || policy.insecureAllowed) return
      for (const { path, value } of policy.origins) {
        const insecure = typeof value === 'string' ? isInsecureEntry(value) : regexpAdmitsInsecure(value)
        if (!insecure) continue
        add(path, `${typeof value === 'string' ? JSON.stringify(value) : String(value)} allows a plain http origin with credentials: ` +
          'anyone on the network path (public Wi-Fi, a proxy) can inject a script into that origin and read your users\' responses; ' +
          'use https, or set dangerouslyAllowInsecureOrigins: true if you accept that risk (localhost, 127.0.0.1 and [::1] need neither)')
      }
    },
  },
  {
    name: 'a RegExp origin with an unescaped dot',
    find (policy, add) {
      for (const { path, value } of policy.origins) {
        if (!(value instanceof RegExp)) continue
        const fixed = escapeBareDots(value.source)
        if (fixed === value.source) continue
        add(path, `${String(value)} has an unescaped "." that matches any character (/^https:\\/\\/app.example.com$/ also matches https://appxexample.com, ` +
          `a domain anyone can register); write ${String(new RegExp(fixed, value.flags))}`)
      }
    },
  },
  {
    name: 'a RegExp origin open to catastrophic backtracking',
    find (policy, add) {
      for (const { path, value } of policy.origins) {
        if (!(value instanceof RegExp) || safeRegex(withoutOptionals(value.source))) continue
        add(path, `${String(value)} may take exponential time on a crafted Origin (nested or too many repetitions, as safe-regex2 judges it), ` +
          'so a few requests could stall the server; for subdomains list a pattern such as "https://*.example.com", ' +
          'or decide in an origin function')
      }
    },
  },
]

/** Runs every check of the table on a policy, adding what it finds. */
export function findMisconfigurations (policy: Record<string, unknown>, add: Add): void {
  const origins = policy.origins
  const items: Array<{ path: string, value: string | RegExp }> = []
  if (origins instanceof RegExp) items.push({ path: '/origins', value: origins })
  if (Array.isArray(origins)) {
    origins.forEach((value: unknown, index) => {
      if (typeof value === 'string' || value instanceof RegExp) items.push({ path: `/origins/${index}`, value })
    })
  }
  const view: PolicyView = {
    origins: items,
    credentials: policy.credentials === true,
    insecureAllowed: policy.dangerouslyAllowInsecureOrigins === true,
  }
  for (const check of MISCONFIG_CHECKS) check.find(view, add)
}

/**
 * Loopback hosts: what browsers treat as potentially trustworthy although plain http (Secure
 * Contexts), since no one else on the network can answer for them.
 */
function isLoopback (host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

/** An http entry the validator accepts (exact, any-port or subdomain pattern) for a host other than loopback. */
function isInsecureEntry (entry: string): boolean {
  if (!entry.startsWith('http://') || typeof parseOriginEntry(entry) === 'string') return false
  let host = entry.slice(7)
  if (host.startsWith('*.')) host = host.slice(2)
  const end = host.startsWith('[') ? host.indexOf(']') + 1 : host.indexOf(':')
  return !isLoopback(end <= 0 ? host : host.slice(0, end))
}

/**
 * Whether a RegExp can match an http origin other than loopback: one of its top-level alternatives
 * has a scheme part that matches "http" (`https?`, `(http|https)`, `[a-z]+`), and a host part that
 * does not start with a loopback name.
 */
function regexpAdmitsInsecure (regexp: RegExp): boolean {
  for (const alternative of topLevelAlternatives(regexp.source)) {
    const sep = alternative.indexOf(':\\/\\/')
    if (sep === -1) continue
    const scheme = alternative.slice(alternative.startsWith('^') ? 1 : 0, sep)
    let http: boolean
    try {
      http = new RegExp(`^(?:${scheme})$`, regexp.flags).test('http')
    } catch {
      // A group that spans the "://": read the text instead.
      http = /http(?:[^s]|$|s[?*{])/.test(scheme)
    }
    if (http && !startsWithLoopback(alternative.slice(sep + 5))) return true
  }
  return false
}

// In a RegExp's source: a loopback name, or a group of them, then a port, a group or the end.
const LOOPBACK_NAME = /^(?:localhost|127\\\.0\\\.0\\\.1|\\\[::1\\\])$/
const LOOPBACK_HOST = /^(?:localhost|127\\\.0\\\.0\\\.1|\\\[::1\\\])(?=[:()|$]|$)/
const HOST_GROUP = /^\((?:\?:)?([^()]*)\)(?=[:()|$]|$)/

function startsWithLoopback (host: string): boolean {
  if (LOOPBACK_HOST.test(host)) return true
  const group = HOST_GROUP.exec(host)
  return group !== null && topLevelAlternatives(group[1] as string).every((name) => LOOPBACK_NAME.test(name))
}

/** The source split at each `|` outside groups and character classes. */
function topLevelAlternatives (source: string): string[] {
  const alternatives: string[] = []
  let depth = 0
  let inClass = false
  let start = 0
  for (let i = 0; i < source.length; i++) {
    const c = source.charAt(i)
    if (c === '\\') i++
    else if (inClass) inClass = c !== ']'
    else if (c === '[') inClass = true
    else if (c === '(') depth++
    else if (c === ')') depth--
    else if (c === '|' && depth === 0) {
      alternatives.push(source.slice(start, i))
      start = i + 1
    }
  }
  alternatives.push(source.slice(start))
  return alternatives
}

/**
 * The source with `\.` for each `.` that stands alone outside a character class: a `.` followed by a
 * quantifier (`.*`, `.+`, `.?`, `.{1,63}`) means "any characters" on purpose and is kept.
 */
function escapeBareDots (source: string): string {
  let fixed = ''
  let inClass = false
  for (let i = 0; i < source.length; i++) {
    const c = source.charAt(i)
    if (c === '\\') {
      fixed += source.slice(i, i + 2)
      i++
      continue
    }
    if (inClass) inClass = c !== ']'
    else if (c === '[') inClass = true
    else if (c === '.' && (i + 1 === source.length || !'*+?{'.includes(source.charAt(i + 1)))) {
      fixed += '\\.'
      continue
    }
    fixed += c
  }
  return fixed
}

/**
 * The source without the `?` quantifiers outside groups, for safe-regex2: a part that is optional at
 * the top level matches at most once and sits in no repetition, so it cannot make matching
 * exponential, yet safe-regex2 counts the common `(?::\d+)?` as a nested repetition. A `?` inside a
 * group is kept (`(a?a)+` is exponential); so are group syntax (`(?:`) and lazy modifiers (`+?`).
 */
function withoutOptionals (source: string): string {
  let kept = ''
  let depth = 0
  let inClass = false
  for (let i = 0; i < source.length; i++) {
    const c = source.charAt(i)
    if (c === '\\') {
      kept += source.slice(i, i + 2)
      i++
      continue
    }
    if (inClass) inClass = c !== ']'
    else if (c === '[') inClass = true
    else if (c === '(') depth++
    else if (c === ')') depth--
    else if (c === '?' && depth === 0 && !'(*+?}'.includes(source.charAt(i - 1))) continue
    kept += c
  }
  return kept
}
