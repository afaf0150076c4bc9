// An independent model of which origins a policy allows, written from the behaviour reference
// ("Terms", rules 15–18) and the WHATWG URL standard, for the property and fuzz tests. It shares no
// code with lib/: it parses with regular expressions and `URL`, where lib/ walks character codes.

/** One configured origin, as the generators build it; `render` gives the string a policy lists. */
export type ModelEntry =
  | { readonly kind: 'exact', readonly origin: string }
  /** `scheme://*.base[:port]`: one or more labels, then `.base`, then exactly that port (or none); port `*` (loopback bases only) takes any port or none. */
  | { readonly kind: 'subdomains', readonly scheme: 'http' | 'https', readonly base: string, readonly port: string | null }
  /** `scheme://host:*`: that scheme and host, with any port or none. */
  | { readonly kind: 'anyPort', readonly scheme: string, readonly host: string }

export interface ModelPolicy {
  /** `'*'` for a public policy. */
  readonly origins: '*' | readonly ModelEntry[]
  readonly regexps?: readonly RegExp[]
  /** An origin function, called only with well-formed origins other than `null`. */
  readonly fn?: (origin: string) => boolean
}

export function render (entry: ModelEntry): string {
  switch (entry.kind) {
    case 'exact': return entry.origin
    case 'subdomains': return `${entry.scheme}://*.${entry.base}${entry.port === null ? '' : ':' + entry.port}`
    case 'anyPort': return `${entry.scheme}://${entry.host}:*`
  }
}

const MAX_ORIGIN = 2048
const DEFAULT_PORT: Record<string, string> = { http: '80', https: '443' }
const SPECIAL = new Set(['http', 'https', 'ws', 'wss', 'ftp'])

interface Parts { scheme: string, host: string, port: string | null }

/**
 * The parts of an origin in serialized form (Terms: `scheme://host[:port]`, lower case, no path, default
 * port left out, IPv6 in brackets, names in ASCII), or null for anything else (rule 18).
 */
export function serializedParts (origin: string): Parts | null {
  if (origin.length > MAX_ORIGIN) return null
  const m = /^([a-z][a-z0-9+.-]*):\/\/(\[[^\]]*\]|[^:/[\]]*)(?::([0-9]+))?$/.exec(origin)
  if (m === null) return null
  const scheme = m[1] as string
  const host = m[2] as string
  const port = m[3] ?? null
  if (port !== null) {
    // The serialization of a port: decimal, no leading zero, at most 65535, never the default.
    if (!/^(0|[1-9][0-9]{0,4})$/.test(port) || Number(port) > 65535 || DEFAULT_PORT[scheme] === port) return null
  }
  if (host.startsWith('[')) {
    // IPv6: as the URL parser serializes it (compressed, lower case).
    if (!sameHost(host)) return null
  } else {
    const labels = host.split('.')
    // Names in lower-case ASCII (international ones in punycode); rule 18: no empty label.
    if (!labels.every((label) => /^[a-z0-9_-]+$/.test(label))) return null
    // URL standard, "ends in a number": the host of a special URL (http, https…) is then an IPv4
    // address, serialized as a dotted quad. Other schemes have opaque hosts, kept as they are.
    const last = labels[labels.length - 1] as string
    if (SPECIAL.has(scheme) && (/^[0-9]+$/.test(last) || /^0x[0-9a-f]*$/.test(last)) && !sameHost(host)) return null
  }
  return { scheme, host, port }
}

/** Whether the URL parser keeps `host` as it is. */
function sameHost (host: string): boolean {
  try {
    return new URL(`http://${host}/`).host === host
  } catch {
    return false
  }
}

/** Whether the plugin must allow `origin` under `policy`: rules 15–18. */
export function modelAllows (policy: ModelPolicy, origin: string): boolean {
  // Rule 17: null only where it is listed, or by a public policy.
  if (origin === 'null') return policy.origins === '*' || policy.origins.some((e) => e.kind === 'exact' && e.origin === 'null')
  const parts = serializedParts(origin)
  if (parts === null) return false
  if (policy.origins === '*') return true
  for (const entry of policy.origins) {
    if (entry.kind === 'exact' && entry.origin === origin) return true
    if (entry.kind === 'subdomains' && parts.scheme === entry.scheme && (parts.port === entry.port || entry.port === '*') &&
      parts.host.endsWith('.' + entry.base) && parts.host.length > entry.base.length + 1) return true
    if (entry.kind === 'anyPort' && parts.scheme === entry.scheme && parts.host === entry.host) return true
  }
  // Rule 16: a RegExp is matched against the whole origin, as if wrapped in ^(?:…)$.
  for (const regexp of policy.regexps ?? []) {
    if (new RegExp(`^(?:${regexp.source})$`, regexp.flags).test(origin)) return true
  }
  return policy.fn?.(origin) === true
}

/**
 * What `Access-Control-Allow-Origin` the policy gives a request whose `Origin` header arrived as
 * `origin` (a list when repeated, undefined when absent): the origin itself, `*` for a public policy,
 * or null. A public policy gives `*` to every actual request, whatever its Origin holds or whether it
 * has one (rules 3 and 18); a preflight still needs an origin it allows (rules 9 and 17).
 */
export function modelAllowOrigin (policy: ModelPolicy, origin: string | readonly string[] | undefined, request: 'actual' | 'preflight'): string | null {
  if (policy.origins === '*' && request === 'actual') return '*'
  if (typeof origin !== 'string' || !modelAllows(policy, origin)) return null
  return policy.origins === '*' ? '*' : origin
}

// Rule 9 and rule 18 for Access-Control-Request-Headers.
const MAX_ACRH = 8192
const MAX_ACRH_NAMES = 100
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/**
 * The names a preflight's Access-Control-Request-Headers asks for, lower case and each once, when
 * every one is allowed; null when the request is refused. `allowed` is lower case; `any` is `'*'`.
 */
export function modelRequestHeaders (value: unknown, allowed: readonly string[], any: boolean): string[] | null {
  if (value === undefined) return []
  if (typeof value !== 'string' || value.length > MAX_ACRH) return null
  // Comma-separated; optional white space (space and tab only) around items; empty items ignored.
  const items = value.split(',').map((item) => item.replace(/^[ \t]+|[ \t]+$/g, '')).filter((item) => item !== '')
  if (items.length > MAX_ACRH_NAMES || !items.every((item) => TOKEN.test(item))) return null
  const names: string[] = []
  for (const item of items) {
    const name = item.toLowerCase()
    if (!allowed.includes(name) && !(any && name !== 'authorization')) return null
    if (!names.includes(name)) names.push(name)
  }
  return names
}

export function isMethodToken (value: string): boolean {
  return TOKEN.test(value)
}
