import { createRequire } from 'node:module'
import { isLoopbackHost, parseOriginEntry } from './origin.ts'
import { analyse, type RegExpAnalysis } from './regexp-analysis.ts'

// CORS configurations that have caused real breaches, refused at startup: one table, each check
// naming the mistake, finding it in a policy and saying what to write instead. docs/policies.md
// ("Startup errors") and SECURITY.md list the same checks, with the attack each one prevents.

type Add = (path: string, message: string) => void

/**
 * A policy's origins as the checks see them. A list of thousands of exact origins is common, and
 * only one check reads strings: the list is walked as it is, each JSON path written only for a
 * problem, and the RegExps (few) are gathered once for the checks that read only them.
 */
interface PolicyView {
  /** The origins as declared (a lone RegExp as a list of one); values that are neither string nor RegExp are checkOrigins' to report. */
  readonly origins: readonly unknown[]
  /** The JSON path of `origins[index]`. */
  readonly pathOf: (index: number) => string
  readonly regexps: ReadonlyArray<{ readonly path: string, readonly value: RegExp }>
  readonly credentials: boolean
  readonly insecureAllowed: boolean
}

export interface MisconfigCheck {
  /** The mistake, as the docs name it. */
  readonly name: string
  /** Adds a problem for each place of the policy that makes the mistake. */
  readonly find: (policy: PolicyView, add: Add) => void
}

const INSTEAD = 'list the origins, a subdomain pattern such as "https://*.example.com", or decide in an origin function'

export const MISCONFIG_CHECKS: readonly MisconfigCheck[] = [
  {
    name: 'an http origin with credentials',
    find (policy, add) {
      if (!policy.credentials || policy.insecureAllowed) return
      for (let index = 0; index < policy.origins.length; index++) {
        const value = policy.origins[index]
        if (typeof value !== 'string' && !(value instanceof RegExp)) continue
        const example = typeof value === 'string' ? (isInsecureEntry(value) ? '' : null) : analysisOf(value)?.insecure ?? null
        if (example === null) continue
        add(policy.pathOf(index), `${typeof value === 'string' ? JSON.stringify(value) : String(value)} allows a plain http origin with credentials: ` +
          'anyone on the network path (public Wi-Fi, a proxy) can inject a script into that origin and read your users\' responses' +
          `${example === '' ? '' : ` (it matches ${example})`}; ` +
          'use https, or set dangerouslyAllowInsecureOrigins: true if you accept that risk (localhost, 127.0.0.1 and [::1] need neither)')
      }
    },
  },
  {
    name: 'a RegExp origin with an unescaped dot',
    find (policy, add) {
      for (const { path, value } of policy.regexps) {
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
      for (const { path, value } of policy.regexps) {
        if (!mayBacktrack(value)) continue
        add(path, `${String(value)} may take exponential time on a crafted Origin (nested or too many repetitions, as safe-regex2 judges it), ` +
          'so a few requests could stall the server; for subdomains list a pattern such as "https://*.example.com", ' +
          'or decide in an origin function')
      }
    },
  },
  {
    name: 'a RegExp origin that cannot be checked',
    find (policy, add) {
      for (const { path, regexp, analysis } of analysedRegExps(policy)) {
        if (analysis.unsupported === null) continue
        add(path, `${String(regexp)} uses ${analysis.unsupported}, so startup cannot tell which hosts it lets in; ` +
          'list the origins and patterns ("https://*.example.com"), or decide in an origin function')
      }
    },
  },
  {
    name: 'a RegExp origin that matches no origin',
    find (policy, add) {
      for (const { path, regexp, analysis } of analysedRegExps(policy)) {
        if (analysis.unsupported !== null || analysis.matchesOrigins) continue
        add(path, `${String(regexp)} matches no origin as browsers send them (scheme://host[:port], lower case, nothing after), so it allows nothing; ` +
          'write it for whole origins, e.g. /^https:\\/\\/app\\.example\\.com$/, or remove it')
      }
    },
  },
  {
    name: 'a RegExp origin that matches any host',
    find (policy, add) {
      for (const { path, regexp, analysis } of analysedRegExps(policy)) {
        if (analysis.anyHost === null) continue
        add(path, `${String(regexp)} matches hosts anyone can register, such as ${analysis.anyHost}, so any site could read the responses; ` +
          (policy.credentials ? INSTEAD : `for a public API write origins: '*'; otherwise ${INSTEAD}`))
      }
    },
  },
  {
    name: 'a RegExp origin that lets look-alike hosts in',
    find (policy, add) {
      for (const { path, regexp, analysis } of analysedRegExps(policy)) {
        if (analysis.anyHost !== null || analysis.lookAlike === null) continue
        const { sample, variant } = analysis.lookAlike
        add(path, `${String(regexp)} matches ${variant} as well as ${sample}: a look-alike host that anyone can register, ` +
          'since the RegExp lets a name run into the domain or lets the domain\'s labels vary; ' +
          'match whole labels under a domain you own, spelled out to its top-level domain, ' +
          'e.g. /^https:\\/\\/([a-z0-9-]+\\.)?example\\.com$/, or list a pattern such as "https://*.example.com"')
      }
    },
  },
]

/** Runs every check of the table on a policy, adding what it finds. */
export function findMisconfigurations (policy: Record<string, unknown>, add: Add): void {
  const declared = policy.origins
  const origins: readonly unknown[] = declared instanceof RegExp ? [declared] : Array.isArray(declared) ? declared : []
  const pathOf = declared instanceof RegExp ? () => '/origins' : (index: number) => `/origins/${index}`
  const regexps: Array<{ path: string, value: RegExp }> = []
  for (let index = 0; index < origins.length; index++) {
    const value = origins[index]
    if (value instanceof RegExp) regexps.push({ path: pathOf(index), value })
  }
  const view: PolicyView = {
    origins,
    pathOf,
    regexps,
    credentials: policy.credentials === true,
    insecureAllowed: policy.dangerouslyAllowInsecureOrigins === true,
  }
  for (const check of MISCONFIG_CHECKS) check.find(view, add)
}

/** Whether a RegExp's source is written `^…$`, so that it reads as a whole origin. */
export function isAnchored (source: string): boolean {
  return source.startsWith('^') && source.endsWith('$') && !source.endsWith('\\$')
}

/** An http entry the validator accepts (exact, any-port or subdomain pattern) for a host other than loopback. */
function isInsecureEntry (entry: string): boolean {
  if (!entry.startsWith('http://') || typeof parseOriginEntry(entry) === 'string') return false
  let host = entry.slice(7)
  if (host.startsWith('*.')) host = host.slice(2)
  const end = host.startsWith('[') ? host.indexOf(']') + 1 : host.indexOf(':')
  return !isLoopbackHost(end <= 0 ? host : host.slice(0, end))
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

// Loaded with the first RegExp origin: policies without one never pay for it.
let safeRegex: typeof import('safe-regex2').default | undefined

function mayBacktrack (regexp: RegExp): boolean {
  safeRegex ??= createRequire(import.meta.url)('safe-regex2') as typeof import('safe-regex2').default
  return !safeRegex(withoutOptionals(regexp.source))
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

const analyses = new WeakMap<RegExp, RegExpAnalysis | null>()

/**
 * The analysis of a RegExp, once per RegExp object; null for those that other checks refuse in a way
 * that makes it pointless or unsafe (not anchored, stateful, open to catastrophic backtracking).
 */
function analysisOf (regexp: RegExp): RegExpAnalysis | null {
  let analysis = analyses.get(regexp)
  if (analysis === undefined) {
    analysis = !isAnchored(regexp.source) || regexp.global || regexp.sticky || mayBacktrack(regexp) ? null : analyse(regexp)
    analyses.set(regexp, analysis)
  }
  return analysis
}

/** The RegExps of a policy for the checks that read the analysis: those without an unescaped dot, whose message says more. */
function * analysedRegExps (policy: PolicyView): Generator<{ path: string, regexp: RegExp, analysis: RegExpAnalysis }> {
  for (const { path, value } of policy.regexps) {
    if (escapeBareDots(value.source) !== value.source) continue
    const analysis = analysisOf(value)
    if (analysis !== null) yield { path, regexp: value, analysis }
  }
}
