import { createRequire } from 'node:module'
import type { RootNode } from 'regjsparser'
import { isLoopbackHost, isSerializedOrigin, registrableDomain } from './origin.ts'

// What a RegExp lets in, judged on its meaning rather than its spelling (`:\/\/`, `\/{2}`, `[/][/]`
// and `\x2f\x2f` are one thing): the RegExp is parsed (regjsparser, the parser Babel uses), a
// bounded set of strings it matches is drawn from the syntax tree, and each one that is an http(s)
// origin is turned into the origins an attacker would try: another registrable domain, a name run
// into the listed one, a label changed, the scheme http. The RegExp itself, wrapped as the matcher
// wraps it, says which of those it matches. Deterministic, and a fraction of a millisecond for the
// RegExps people write.

/** What startup found out about one RegExp. */
export interface RegExpAnalysis {
  /** A construct that samples cannot stand for ("a lookaround"), or null. */
  readonly unsupported: string | null
  /** Whether it matches at least one origin in serialized form. */
  readonly matchesOrigins: boolean
  /** An origin on an attacker's domain that it matches, or null. */
  readonly anyHost: string | null
  /** An origin it matches (`sample`) and a look-alike of it, on another registrable domain, that it also matches. */
  readonly lookAlike: { readonly sample: string, readonly variant: string } | null
  /** A plain http origin, its host not loopback, that it matches. */
  readonly insecure: string | null
}

/** Origins no one who writes a RegExp for their own sites means to let in. */
const ATTACKER_ORIGINS = ['https://evil.io', 'http://evil.io', 'https://attacker.net:8443', 'https://203.0.113.7', 'http://203.0.113.7', 'https://[2001:db8::1]']
const ATTACKER_DOMAINS = ['evil.io', 'attacker.net']
/** Inserted into each label of the registrable domain, at its start, middle and end. */
const INSERTIONS = ['x', 'zz', '0', '-x']
/** Characters tried first for a character class: host characters, then those of a port and the separators. */
const PREFERRED = 'a1x0-.:/_'
/** The most strings drawn from one node of the tree, and so from the whole RegExp. */
const MAX_SAMPLES = 48

let parser: typeof import('regjsparser') | undefined

/** Analyses an anchored RegExp without the g and y flags that safe-regex2 judged safe. */
export function analyse (regexp: RegExp): RegExpAnalysis {
  const none = { matchesOrigins: false, anyHost: null, lookAlike: null, insecure: null }
  // Loaded on the first RegExp: policies without one never pay for it.
  parser ??= createRequire(import.meta.url)('regjsparser') as typeof import('regjsparser')
  const flags = regexp.flags.replace(/[gy]/g, '')
  let tree: RootNode<{ lookbehind: true, namedGroups: true, unicodePropertyEscape: true, unicodeSet: true }>
  try {
    tree = parser.parse(regexp.source, flags, { lookbehind: true, namedGroups: true, unicodePropertyEscape: true, unicodeSet: true })
  } catch {
    // V8 accepted it, so this is the parser's limit (such as groups nested a thousand deep).
    return { unsupported: 'syntax too deep or too new for the RegExp parser', ...none }
  }
  const unsupported = unsupportedConstruct(tree)
  if (unsupported !== null) return { unsupported, ...none }

  // As OriginMatcher runs it: against the whole origin, and only on origins in serialized form.
  const whole = new RegExp(`^(?:${regexp.source})$`, flags)
  const matches = (origin: string): boolean => isSerializedOrigin(origin) && whole.test(origin)
  let anyHost: string | null = null
  let lookAlike: RegExpAnalysis['lookAlike'] = null
  let insecure: string | null = null
  let matchesOrigins = false
  const onHttp = (origin: string): void => {
    if (insecure === null && origin.startsWith('http://') && !isLoopbackHost(splitOrigin(origin).host)) insecure = origin
  }

  for (const origin of ATTACKER_ORIGINS) {
    if (!matches(origin)) continue
    matchesOrigins = true
    anyHost ??= origin
    onHttp(origin)
  }
  const seen = new Set<string>()
  for (const drawn of samples(tree, flags)) {
    if (!matches(drawn)) continue
    matchesOrigins = true
    // The same host under http and https too: `[a-z]+:\/\/` covers both.
    const { scheme, host, port } = splitOrigin(drawn)
    for (const origin of [drawn, `https://${host}${port}`, `http://${host}${port}`]) {
      if (seen.has(origin) || (origin !== drawn && !matches(origin))) continue
      seen.add(origin)
      if (origin === drawn && scheme !== 'http' && scheme !== 'https') continue
      onHttp(origin)
      if (anyHost !== null) continue
      const found = hostileMatch(origin, matches)
      if (found?.any === true) anyHost = found.origin
      else if (found !== undefined) lookAlike ??= { sample: origin, variant: found.origin }
    }
  }
  return { unsupported: null, matchesOrigins, anyHost, lookAlike, insecure }
}

type Node = RootNode<{ lookbehind: true, namedGroups: true, unicodePropertyEscape: true, unicodeSet: true }>

/** A lookaround or a backreference: what makes a match depend on text that samples do not show. */
function unsupportedConstruct (node: Node): string | null {
  if (node.type === 'reference') return 'a backreference'
  if (node.type === 'group' && node.behavior !== 'normal' && node.behavior !== 'ignore') return 'a lookaround'
  if (node.type === 'alternative' || node.type === 'disjunction' || node.type === 'group' || node.type === 'quantifier') {
    for (const child of node.body) {
      const found = unsupportedConstruct(child)
      if (found !== null) return found
    }
  }
  return null
}

/**
 * Strings the tree can match, at most MAX_SAMPLES: every alternative of every alternation at least
 * once, each quantifier at its minimum and one more, one character for each class (host characters
 * first). The first string takes the first choice everywhere; each other one differs from it in one place.
 */
function samples (node: Node, flags: string): string[] {
  switch (node.type) {
    case 'alternative':
    case 'group':
      return combine(node.body.map((child) => samples(child, flags)))
    case 'disjunction':
      return [...new Set(node.body.flatMap((child) => samples(child, flags)))].slice(0, MAX_SAMPLES)
    case 'quantifier': {
      const inner = samples(node.body[0], flags)
      if (node.min > 2048) return []
      if (inner.length === 0) return node.min === 0 ? [''] : []
      const least = (inner[0] as string).repeat(node.min)
      // Each choice of the inner part once: in one more repetition, or in the last one when the count is fixed.
      const more = (node.max ?? Infinity) > node.min
        ? inner.map((one) => least + one)
        : node.min > 0 ? inner.slice(1).map((one) => (inner[0] as string).repeat(node.min - 1) + one) : []
      return [least, ...more].slice(0, MAX_SAMPLES)
    }
    case 'anchor':
      return ['']
    case 'value': {
      const char = String.fromCodePoint(node.codePoint)
      // With the i flag, origins arrive in lower case whatever the RegExp spells.
      return [flags.includes('i') ? char.toLowerCase() : char]
    }
    default: {
      // A character class, an escape such as \d, or `.`: the RegExp engine says which characters it takes.
      const one = new RegExp(`^(?:${node.raw})$`, flags)
      for (const char of PREFERRED) if (one.test(char)) return [char]
      for (let code = 0x21; code < 0x7f; code++) if (one.test(String.fromCharCode(code))) return [String.fromCharCode(code)]
      return []
    }
  }
}

/** One string per choice of one part, the other parts at their first choice. */
function combine (parts: readonly string[][]): string[] {
  if (parts.some((choices) => choices.length === 0)) return []
  const firsts = parts.map((choices) => choices[0] as string)
  const out = [firsts.join('')]
  parts.forEach((choices, i) => {
    const before = firsts.slice(0, i).join('')
    const after = firsts.slice(i + 1).join('')
    for (const choice of choices.slice(1)) {
      if (out.length >= MAX_SAMPLES) return
      out.push(before + choice + after)
    }
  })
  return out
}

function splitOrigin (origin: string): { scheme: string, host: string, port: string } {
  const sep = origin.indexOf('://')
  const hostStart = sep + 3
  const hostEnd = origin.charAt(hostStart) === '[' ? origin.indexOf(']') + 1 : origin.indexOf(':', hostStart)
  const end = hostEnd <= 0 ? origin.length : hostEnd
  return { scheme: origin.slice(0, sep), host: origin.slice(hostStart, end), port: origin.slice(end) }
}

/**
 * The first origin an attacker could hold that the RegExp matches beside `origin` (an http(s) origin
 * it matches): `any` when on an attacker's own domain, else a look-alike (a name run into the domain,
 * a label of the domain changed). Loopback hosts are no one else's, so they never count.
 */
function hostileMatch (origin: string, matches: (origin: string) => boolean): { origin: string, any: boolean } | undefined {
  const { scheme, host, port } = splitOrigin(origin)
  const loopback = isLoopbackHost(host)
  const domain = loopback ? host : registrableDomain(host) ?? host
  const owner = loopback ? '' : domain
  const sub = host.slice(0, host.length - domain.length)
  const dot = domain.indexOf('.')
  const suffix = dot === -1 ? '' : domain.slice(dot)
  const attempt = (hosts: readonly string[], any: boolean): { origin: string, any: boolean } | undefined => {
    for (const candidate of hosts) {
      const variant = `${scheme}://${candidate}${port}`
      if (matches(variant) && !isLoopbackHost(candidate) && (registrableDomain(candidate) ?? candidate) !== owner) return { origin: variant, any }
    }
    return undefined
  }
  const attackers = ATTACKER_DOMAINS.flatMap((d) => [d, sub + d])
  if (suffix !== '') attackers.push(`evil${suffix}`, `${sub}evil${suffix}`)
  return attempt(attackers, true) ?? attempt([`evil${host}`, `evil-${host}`, `${host}.evil.io`, ...labelEdits(sub, domain)], false)
}

/**
 * The domain with one of its labels changed at any place: a character inserted, or one replaced by
 * a neighbour of its kind. Every place, since a class or a repetition may stand anywhere in a label
 * (`ex[a-z]mple`, `e[a-z]*xample`); the registrable domain has few characters.
 */
function labelEdits (sub: string, domain: string): string[] {
  const labels = domain.split('.')
  const edits: string[] = []
  labels.forEach((label, i) => {
    const rebuild = (changed: string): string => sub + [...labels.slice(0, i), changed, ...labels.slice(i + 1)].join('.')
    for (let at = 0; at <= label.length; at++) {
      const next = label.charAt(Math.min(at, label.length - 1))
      for (const text of [...INSERTIONS, next]) edits.push(rebuild(label.slice(0, at) + text + label.slice(at)))
    }
    for (let at = 0; at < label.length; at++) {
      const c = label.charAt(at)
      for (const other of [c === 'x' ? 'q' : 'x', neighbour(c)]) edits.push(rebuild(label.slice(0, at) + other + label.slice(at + 1)))
    }
  })
  return edits
}

/** Another character of the same kind: the next letter or digit (the one before, at the end of the range). */
function neighbour (c: string): string {
  const code = c.charCodeAt(0)
  if ((code >= 97 && code < 122) || (code >= 48 && code < 57)) return String.fromCharCode(code + 1)
  if (code === 122 || code === 57) return String.fromCharCode(code - 1)
  return 'a'
}
