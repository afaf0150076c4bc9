import { createRequire } from 'node:module'
import { MAX_ORIGIN_LENGTH } from './headers.ts'

// tldts holds the Public Suffix List: only subdomain patterns and RegExps need it, so it is loaded
// when the first of those is checked, and a plugin without them never pays for it. It is CommonJS:
// require() loads it as it is, where an ESM import first scans the whole file for its export names.
let tldts: typeof import('tldts') | undefined
/** Whether the list was dropped once startup's checks were done (see releaseSuffixList). */
let released = false
/** Whether it was needed again after a release: then it is kept, since loading it blocks for 15-45 ms. */
let kept = false

function parseDomain (host: string): ReturnType<typeof import('tldts').parse> {
  if (tldts === undefined) {
    tldts = createRequire(import.meta.url)('tldts') as typeof import('tldts')
    if (released) kept = true
  }
  return tldts.parse(host, { allowPrivateDomains: true })
}

/**
 * Drops the Public Suffix List (about 1 MB of heap) once the application is ready: requests never
 * need it, only checking a pattern or a RegExp does. A check after that (corsPolicies.replace or
 * tryCandidate with a pattern, another server starting) loads it again, and from then on it stays.
 */
export function releaseSuffixList (): void {
  if (kept || tldts === undefined) return
  tldts = undefined
  released = true
  // Node's module cache holds it too; what is left of it is collected with the next full GC.
  const require = createRequire(import.meta.url)
  delete require.cache[require.resolve('tldts')]
}

// Origins as browsers serialize them (Fetch standard, "origin" / HTML "serialization of an origin"):
// `scheme://host[:port]`, lower case, no path, the default port left out, or the opaque `null`.

/** One entry of a policy's `origins` list, once checked. */
export type OriginEntry =
  | { readonly kind: 'exact', readonly origin: string }
  /** `https://*.example.com[:port]`: `suffix` is `.example.com[:port]`, what follows the first label. */
  | { readonly kind: 'subdomains', readonly scheme: 'http' | 'https', readonly suffix: string }
  /** `http://localhost:*`: `origin` is the entry without `:*`. */
  | { readonly kind: 'anyPort', readonly origin: string }
  /** `http://*.localhost:*`, for loopback names only: `suffix` is `.localhost`, what follows the first label, without the port. */
  | { readonly kind: 'subdomainsAnyPort', readonly scheme: 'http' | 'https', readonly suffix: string }

const SERIALIZED = 'an origin is scheme://host[:port], as browsers send it'
const HOST = 'a host is a name of non-empty labels made of a-z, 0-9, - and _ (punycode for the rest), an IPv4 address or a bracketed IPv6 address'
const WILDCARD_PLACES = 'a wildcard stands for the first label (https://*.example.com) or for the port (http://localhost:*)'

/**
 * Checks one configured origin entry. Returns the parsed entry, or a sentence that says what is wrong
 * with it and how to write it instead.
 */
export function parseOriginEntry (entry: string): OriginEntry | string {
  if (entry === 'null') return { kind: 'exact', origin: 'null' }
  // Most entries are already origins in the form browsers send, which the request-time check reads
  // without allocating. The URL parser below would cost each of them ~650 bytes of garbage and a
  // second copy of the string: with thousands of origins, megabytes allocated at startup, which
  // grow V8's young generation where a hand-written Set of the same origins would not (see
  // bench/results.md). Punycode labels still go through the URL parser, which validates them.
  if (isSerializedOrigin(entry) && !entry.includes('xn--')) return { kind: 'exact', origin: entry }
  if (entry === '*') return "is '*' inside a list; write origins: '*' (not in a list) for a public policy"
  if (entry.length > MAX_ORIGIN_LENGTH) return `is longer than ${MAX_ORIGIN_LENGTH} characters; no browser sends such an origin`
  const sep = entry.indexOf('://')
  if (sep <= 0) {
    // `https:app.example.com` lacks only the slashes; `app.example.com` lacks the scheme too.
    const slashless = /^(https?):\/?(.+)$/.exec(entry)
    const example = slashless === null ? `https://${entry.replace(/^\/*/, '')}` : `${slashless[1]}://${slashless[2]}`
    return `does not start with scheme://; ${SERIALIZED}, e.g. "${example}"`
  }
  for (let i = 0; i < entry.length; i++) {
    const c = entry.charCodeAt(i)
    if (c > 0x7f) return `has non-ASCII characters; browsers send international names in punycode${suggest(entry)}`
    if (c < 0x21 || c === 0x7f) return `has white space or control characters; ${SERIALIZED}`
  }
  if (entry !== entry.toLowerCase()) return `has upper-case letters; browsers send origins in lower case: "${entry.toLowerCase()}"`
  const scheme = entry.slice(0, sep)
  if (!/^[a-z][a-z0-9+.-]*$/.test(scheme)) return `has an invalid scheme "${scheme}"; ${SERIALIZED}`
  const rest = entry.slice(sep + 3)
  if (rest.includes('@')) return `has user info; browsers never send it in an origin${suggest(entry)}`
  if (rest.includes('?') || rest.includes('#')) return `has a query or fragment; ${SERIALIZED}${suggest(entry)}`
  const slash = rest.indexOf('/')
  if (slash >= 0) {
    const what = slash === rest.length - 1 && slash > 0 ? 'has a path (a trailing slash)' : 'has a path'
    return `${what}; ${SERIALIZED}${suggest(entry)}`
  }

  const star = rest.indexOf('*')
  if (star === -1) return checkExact(entry, scheme, rest)
  if (rest.indexOf('*', star + 1) !== -1) {
    if (!rest.startsWith('*.') || !rest.endsWith(':*')) return `has more than one wildcard; ${WILDCARD_PLACES}`
    // Any subdomain on any port is harmless on loopback (local dev servers), and nowhere else.
    const base = rest.slice(2, -2)
    if (!isLoopbackName(base)) return 'combines a subdomain wildcard with a port wildcard; list the ports, e.g. "https://*.example.com:8443"'
    const parsed = checkSubdomainPattern(entry, scheme, base)
    return typeof parsed === 'string' ? parsed : { kind: 'subdomainsAnyPort', scheme: scheme as 'http' | 'https', suffix: '.' + base }
  }
  if (rest.startsWith('*.')) return checkSubdomainPattern(entry, scheme, rest.slice(2))
  if (rest.endsWith(':*')) return checkAnyPortPattern(entry.slice(0, -2), scheme, rest.slice(0, -2))
  return `has a wildcard in the wrong place; ${WILDCARD_PLACES}`
}

function suggest (entry: string): string {
  const origin = urlOrigin(entry)
  return origin === null ? '' : `: write "${origin}"`
}

function urlOrigin (value: string): string | null {
  try {
    const origin = new URL(value).origin
    return origin === 'null' ? null : origin
  } catch {
    return null
  }
}

/** `written` turns a suggested origin back into what the entry should be (a pattern, for a pattern's base). */
function checkExact (entry: string, scheme: string, hostPort: string, written = (origin: string) => origin): OriginEntry | string {
  if (scheme === 'http' || scheme === 'https') {
    const origin = urlOrigin(entry)
    if (origin === null) return `is not a valid ${scheme} origin; ${SERIALIZED}`
    if (origin === entry) {
      // The URL parser keeps empty labels (a..example.com, example.com.) and characters such as ! or $.
      const host = splitHostPort(hostPort) as { hostEnd: number }
      return isHost(hostPort, 0, host.hostEnd) ? { kind: 'exact', origin } : `has an invalid host; ${HOST}`
    }
    const port = /:(\d+)$/.exec(hostPort)?.[1]
    if (port !== undefined && Number(port) === (scheme === 'https' ? 443 : 80)) {
      return `has the default port :${port}; browsers leave it out: write "${written(origin)}"`
    }
    return `is not in the form browsers send; write "${written(origin)}"`
  }
  // Other schemes (capacitor://localhost, chrome-extension://id) have no URL serialization of their
  // origin, so they are held to the same shape: host in lower case, optional port, nothing else.
  const parts = splitHostPort(hostPort)
  if (parts === null || !isHost(hostPort, 0, parts.hostEnd) || !isPort(hostPort, parts.hostEnd, scheme)) {
    return `is not of the form scheme://host[:port]; ${HOST}, and a port is a number up to 65535 without leading zeros`
  }
  return { kind: 'exact', origin: entry }
}

function checkSubdomainPattern (entry: string, scheme: string, baseWithPort: string): OriginEntry | string {
  if (scheme !== 'http' && scheme !== 'https') return `is a wildcard pattern for the scheme "${scheme}"; wildcard patterns are for http and https origins`
  const parsed = checkExact(`${scheme}://${baseWithPort}`, scheme, baseWithPort, (origin) => origin.replace('://', '://*.'))
  if (typeof parsed === 'string') return `is not a valid pattern: after "*.", it ${parsed}`
  const parts = splitHostPort(baseWithPort) as { hostEnd: number }
  const base = baseWithPort.slice(0, parts.hostEnd)
  // The Public Suffix List does not know `localhost`, so it reads as a top-level domain; every
  // name under it is loopback, which only the machine itself can answer for.
  if (isLoopbackName(base)) return { kind: 'subdomains', scheme, suffix: '.' + baseWithPort }
  const info = parseDomain(base)
  if (info.isIp === true) return 'puts a wildcard in front of an IP address; list the addresses instead'
  if (info.publicSuffix === base || info.domain === null) {
    return `covers the public suffix "${base}", so every site under it could read the responses; ` +
      `put the wildcard under a domain you own, e.g. "${scheme}://*.example.${base}"`
  }
  return { kind: 'subdomains', scheme, suffix: '.' + baseWithPort }
}

/**
 * Loopback hosts: what browsers treat as potentially trustworthy although plain http (Secure
 * Contexts: 127.0.0.0/8, [::1], localhost and names under it), since no one else on the network can
 * answer for them. One decision for the origins listed as strings and for RegExps' samples.
 */
export function isLoopbackHost (host: string): boolean {
  return isLoopbackName(host) || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

/** `localhost` or a name under it: the only loopback names, and the only ones that can have subdomains. */
function isLoopbackName (host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost')
}

/**
 * The domain a host belongs to, the part someone registered (`example.com` for `a.b.example.com`,
 * `a.github.io` under the list's private section); null for IP addresses, public suffixes and single labels.
 */
export function registrableDomain (host: string): string | null {
  return parseDomain(host).domain
}

function checkAnyPortPattern (base: string, scheme: string, hostPort: string): OriginEntry | string {
  const parsed = checkExact(base, scheme, hostPort, (origin) => `${origin}:*`)
  if (typeof parsed === 'string') return `is not a valid pattern: before ":*", it ${parsed}`
  const hostEnd = (splitHostPort(hostPort) as { hostEnd: number }).hostEnd
  if (hostEnd < hostPort.length) {
    return `has a port and a port wildcard; write "${base}" for that port, or "${scheme}://${hostPort.slice(0, hostEnd)}:*" for any port`
  }
  return { kind: 'anyPort', origin: base }
}

/** Finds where the host ends (at the port's colon, or the end); null when brackets are unbalanced. */
function splitHostPort (hostPort: string): { hostEnd: number } | null {
  if (hostPort.charCodeAt(0) === 91 /* [ */) {
    const close = hostPort.indexOf(']')
    return close === -1 ? null : { hostEnd: close + 1 }
  }
  const colon = hostPort.indexOf(':')
  return { hostEnd: colon === -1 ? hostPort.length : colon }
}

function isLabelChar (c: number): boolean {
  // a-z 0-9 - _ : the characters a serialized host name is made of (punycode for the rest).
  return (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 95
}

/** A host name of non-empty labels, or a bracketed IPv6 address, between `start` and `end`. */
function isHost (value: string, start: number, end: number): boolean {
  if (start >= end) return false
  if (value.charCodeAt(start) === 91 /* [ */) {
    if (value.charCodeAt(end - 1) !== 93 /* ] */ || end - start < 4) return false
    for (let i = start + 1; i < end - 1; i++) {
      const c = value.charCodeAt(i)
      if (!((c >= 48 && c <= 58) || (c >= 97 && c <= 102) || c === 46)) return false
    }
    return true
  }
  let labelStart = start
  for (let i = start; i < end; i++) {
    const c = value.charCodeAt(i)
    if (c === 46 /* . */) {
      if (i === labelStart) return false
      labelStart = i + 1
    } else if (!isLabelChar(c)) {
      return false
    }
  }
  return labelStart < end
}

/** Nothing, or `:` and a port in serialized form: no leading zero, at most 65535, not the scheme's default. */
function isPort (value: string, colon: number, scheme: string): boolean {
  const len = value.length
  if (colon === len) return true
  if (value.charCodeAt(colon) !== 58 /* : */ || len - colon < 2 || len - colon > 6) return false
  if (value.charCodeAt(colon + 1) === 48 /* 0 */ && len - colon > 2) return false
  let port = 0
  for (let i = colon + 1; i < len; i++) {
    const c = value.charCodeAt(i)
    if (c < 48 || c > 57) return false
    port = port * 10 + c - 48
  }
  if (port > 65535) return false
  return !((scheme === 'https' && port === 443) || (scheme === 'http' && port === 80))
}

/**
 * Whether a request's `Origin` value has the serialized form, without allocating. Used before an
 * origin reaches a RegExp, a function or a public policy; exact and pattern lookups need no such check.
 */
export function isSerializedOrigin (value: string): boolean {
  const len = value.length
  if (len > MAX_ORIGIN_LENGTH) return false
  if (value === 'null') return true
  let i = 0
  for (; i < len; i++) {
    const c = value.charCodeAt(i)
    if (!((c >= 97 && c <= 122) || (i > 0 && ((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46)))) break
  }
  if (i === 0 || value.charCodeAt(i) !== 58 || value.charCodeAt(i + 1) !== 47 || value.charCodeAt(i + 2) !== 47) return false
  const scheme = value.slice(0, i)
  const hostStart = i + 3
  let hostEnd: number
  if (value.charCodeAt(hostStart) === 91 /* [ */) {
    const close = value.indexOf(']', hostStart)
    if (close === -1) return false
    hostEnd = close + 1
  } else {
    hostEnd = value.indexOf(':', hostStart)
    if (hostEnd === -1) hostEnd = len
  }
  if (!isHost(value, hostStart, hostEnd) || !isPort(value, hostEnd, scheme)) return false
  // An IP address is in the one form browsers send (rare enough for the URL parser to check IPv6).
  if (value.charCodeAt(hostStart) === 91 /* [ */) return isSerializedIPv6(value.slice(hostStart, hostEnd))
  return (scheme !== 'http' && scheme !== 'https') || isDottedQuadIfNumeric(value, hostStart, hostEnd)
}

function isSerializedIPv6 (host: string): boolean {
  try {
    return new URL(`http://${host}`).host === host
  } catch {
    return false
  }
}

/**
 * URL standard, "ends in a number": an http(s) host whose last label is a number is an IPv4 address,
 * which browsers send as four decimal parts without leading zeros (never `1.2.3.04`, `127.1`, `0x7f.0.0.1`).
 */
function isDottedQuadIfNumeric (value: string, start: number, end: number): boolean {
  let last = end
  while (last > start && value.charCodeAt(last - 1) !== 46 /* . */) last--
  if (value.charCodeAt(last) === 48 /* 0 */ && value.charCodeAt(last + 1) === 120 /* x */) return false
  for (let i = last; i < end; i++) {
    const c = value.charCodeAt(i)
    if (c < 48 || c > 57) return true
  }
  let parts = 0
  let part = 0
  let digits = 0
  for (let i = start; i <= end; i++) {
    const c = i === end ? 46 : value.charCodeAt(i)
    if (c === 46) {
      if (digits === 0 || part > 255) return false
      parts++
      part = 0
      digits = 0
    } else if (c < 48 || c > 57 || (digits === 1 && part === 0)) {
      return false
    } else {
      part = part * 10 + c - 48
      digits++
    }
  }
  return parts === 4
}

/**
 * Exact origins in a Set, subdomain patterns in a Set of suffixes per scheme (with the port, or
 * without it for loopback's any port), any-port patterns in a Set of bases: a lookup costs the same
 * however many origins are listed.
 */
export class OriginMatcher {
  readonly #exact: ReadonlySet<string>
  readonly #https: ReadonlySet<string> | null
  readonly #http: ReadonlySet<string> | null
  readonly #anyPort: ReadonlySet<string> | null
  readonly #httpsAnyPort: ReadonlySet<string> | null
  readonly #httpAnyPort: ReadonlySet<string> | null
  readonly #regexps: readonly RegExp[] | null

  constructor (entries: readonly OriginEntry[], regexps: readonly RegExp[]) {
    const exact = new Set<string>()
    const https = new Set<string>()
    const http = new Set<string>()
    const anyPort = new Set<string>()
    const httpsAnyPort = new Set<string>()
    const httpAnyPort = new Set<string>()
    // An index, not an iterator: its steps allocate until the loop is optimized, once per origin at startup.
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as OriginEntry
      if (entry.kind === 'exact') exact.add(entry.origin)
      else if (entry.kind === 'anyPort') anyPort.add(entry.origin)
      else if (entry.kind === 'subdomains') (entry.scheme === 'https' ? https : http).add(entry.suffix)
      else (entry.scheme === 'https' ? httpsAnyPort : httpAnyPort).add(entry.suffix)
    }
    this.#exact = exact
    this.#https = https.size > 0 ? https : null
    this.#http = http.size > 0 ? http : null
    this.#anyPort = anyPort.size > 0 ? anyPort : null
    this.#httpsAnyPort = httpsAnyPort.size > 0 ? httpsAnyPort : null
    this.#httpAnyPort = httpAnyPort.size > 0 ? httpAnyPort : null
    // Matched against the whole origin, as if wrapped in ^(?:…)$, so a top-level | cannot escape.
    this.#regexps = regexps.length > 0 ? regexps.map((r) => new RegExp(`^(?:${r.source})$`, r.flags)) : null
  }

  matches (origin: string): boolean {
    if (this.#exact.has(origin)) return true
    if (origin.length > MAX_ORIGIN_LENGTH || origin === 'null') return false
    if (this.#https !== null && origin.startsWith('https://') && matchesSuffix(this.#https, origin, 8)) return true
    if (this.#http !== null && origin.startsWith('http://') && matchesSuffix(this.#http, origin, 7)) return true
    if (this.#anyPort !== null && matchesAnyPort(this.#anyPort, origin)) return true
    if (this.#httpsAnyPort !== null && origin.startsWith('https://') && matchesSuffixAnyPort(this.#httpsAnyPort, origin, 8, 'https')) return true
    if (this.#httpAnyPort !== null && origin.startsWith('http://') && matchesSuffixAnyPort(this.#httpAnyPort, origin, 7, 'http')) return true
    if (this.#regexps !== null && isSerializedOrigin(origin)) {
      for (const regexp of this.#regexps) if (regexp.test(origin)) return true
    }
    return false
  }
}

// The suffix after each dot of the host is looked up; the labels before it must be non-empty and
// made of host characters, so `https://a..example.com` or `https://x, https://a.example.com` never match.
function matchesSuffix (suffixes: ReadonlySet<string>, origin: string, hostStart: number, end = origin.length): boolean {
  let labelStart = hostStart
  for (let i = hostStart; i < end; i++) {
    const c = origin.charCodeAt(i)
    if (c === 46 /* . */) {
      if (i === labelStart) return false
      if (suffixes.has(origin.slice(i, end))) return true
      labelStart = i + 1
    } else if (!isLabelChar(c)) {
      return false
    }
  }
  return false
}

// `http://*.localhost:*`: the host's suffix is looked up as above, after a port in serialized form or none.
function matchesSuffixAnyPort (suffixes: ReadonlySet<string>, origin: string, hostStart: number, scheme: string): boolean {
  const colon = origin.indexOf(':', hostStart)
  if (colon === -1) return matchesSuffix(suffixes, origin, hostStart)
  return isPort(origin, colon, scheme) && matchesSuffix(suffixes, origin, hostStart, colon)
}

function matchesAnyPort (bases: ReadonlySet<string>, origin: string): boolean {
  if (bases.has(origin)) return true
  const colon = origin.lastIndexOf(':')
  if (colon === -1 || !bases.has(origin.slice(0, colon))) return false
  return isPort(origin, colon, origin.slice(0, origin.indexOf(':')))
}
