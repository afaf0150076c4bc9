import fc from 'fast-check'
import { parse as parseDomain } from 'tldts'
import type { ModelEntry, ModelPolicy } from './cors-model.ts'

// Generators for the property and fuzz tests: policies, origins built from their entries, random
// origins, and near misses of both.

export const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9_-]{0,8}[a-z0-9])?$/)
const tld = fc.constantFrom('com', 'io', 'dev', 'org', 'net', 'app', 'co.uk', 'com.au', 'example', 'xn--p1ai')

/** A registrable domain: a label and a top-level suffix, never itself on the Public Suffix List. */
export const baseDomain = fc.tuple(label, tld)
  .map(([l, t]) => `${l}.${t}`)
  .filter((d) => parseDomain(d, { allowPrivateDomains: true }).domain === d)

const subdomain = fc.array(label, { minLength: 1, maxLength: 3 }).map((labels) => labels.join('.'))
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((n) => n.join('.'))
const loopback = fc.constantFrom('localhost', '127.0.0.1', '[::1]')
const host = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(subdomain, baseDomain).map(([s, b]) => `${s}.${b}`) },
  { weight: 2, arbitrary: baseDomain },
  { weight: 1, arbitrary: loopback },
  { weight: 1, arbitrary: ipv4 })
const webScheme = fc.constantFrom<'http' | 'https'>('http', 'https')
const otherScheme = fc.constantFrom('capacitor', 'tauri', 'chrome-extension', 'moz-extension', 'app')

/** A port in serialized form for `scheme`, or none. */
function portFor (scheme: string): fc.Arbitrary<string | null> {
  return fc.option(fc.integer({ min: 0, max: 65535 })
    .filter((p) => !(scheme === 'https' && p === 443) && !(scheme === 'http' && p === 80))
    .map(String), { freq: 2 })
}
const withPort = (port: string | null): string => port === null ? '' : ':' + port

/** A well-formed origin, not derived from any policy. */
export const serializedOrigin = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(webScheme, host).chain(([s, h]) => portFor(s).map((p) => `${s}://${h}${withPort(p)}`)) },
  { weight: 1, arbitrary: fc.tuple(otherScheme, fc.oneof(label, fc.constant('localhost'))).map(([s, h]) => `${s}://${h}`) })

const exactEntry: fc.Arbitrary<ModelEntry> = fc.oneof(
  { weight: 5, arbitrary: serializedOrigin },
  { weight: 1, arbitrary: fc.constant('null') }
).map((origin) => ({ kind: 'exact', origin }))

const subdomainEntry: fc.Arbitrary<ModelEntry> = fc.tuple(webScheme, fc.oneof(baseDomain, fc.tuple(label, baseDomain).map(([l, b]) => `${l}.${b}`)))
  .chain(([scheme, base]) => fc.option(fc.constantFrom('8443', '3000', '1', '65535', scheme === 'https' ? '80' : '443'))
    .map((port) => ({ kind: 'subdomains', scheme, base, port })))

/** Subdomains of localhost, on one port or any: loopback, so accepted with credentials too. */
const loopbackSubdomainEntry: fc.Arbitrary<ModelEntry> = fc.tuple(webScheme, fc.constantFrom('localhost', 'app.localhost'), fc.constantFrom(null, '*', '3000'))
  .map(([scheme, base, port]) => ({ kind: 'subdomains', scheme, base, port }))

const anyPortEntry: fc.Arbitrary<ModelEntry> = fc.tuple(webScheme, fc.oneof(loopback, baseDomain))
  .map(([scheme, host]) => ({ kind: 'anyPort', scheme, host }))

/** RegExps a policy may list: anchored, dots escaped, no nested quantifiers. */
export const REGEXPS: readonly RegExp[] = [
  /^https:\/\/[a-z0-9-]+\.regex\.example$/,
  /^https:\/\/one\.example$|^https:\/\/two\.example$/,
  /^capacitor:\/\/localhost$/,
  /^http:\/\/127\.0\.0\.1:\d{4}$/,
  /^https:\/\/(?:alpha|beta)\.example\.org(?::8443)?$/,
]

/** Origins that sit next to what the RegExps above allow. */
const REGEXP_NEIGHBOURS = [
  'https://x.regex.example', 'https://a-b.regex.example', 'https://regex.example', 'https://x.y.regex.example',
  'https://one.example', 'https://two.example', 'https://one.example.evil', 'https://evil.two.example',
  'capacitor://localhost', 'http://127.0.0.1:3000', 'http://127.0.0.1:30000', 'https://alpha.example.org',
  'https://beta.example.org:8443', 'https://gamma.example.org',
]

export const listPolicy: fc.Arbitrary<ModelPolicy> = fc.record({
  origins: fc.array(fc.oneof(exactEntry, subdomainEntry, anyPortEntry, loopbackSubdomainEntry), { minLength: 1, maxLength: 6 }),
  regexps: fc.subarray([...REGEXPS], { maxLength: 2 }),
})

/** An origin the entry allows. */
function allowedBy (entry: ModelEntry): fc.Arbitrary<string> {
  switch (entry.kind) {
    case 'exact': return fc.constant(entry.origin)
    case 'subdomains': return fc.tuple(subdomain, entry.port === '*' ? portFor(entry.scheme) : fc.constant(entry.port))
      .map(([s, port]) => `${entry.scheme}://${s}.${entry.base}${withPort(port)}`)
    case 'anyPort': return portFor(entry.scheme).map((p) => `${entry.scheme}://${entry.host}${withPort(p)}`)
  }
}

/**
 * Near misses of an origin: each is what an attacker or a broken client might send instead of it.
 * Some stay allowed (a port change under an any-port entry); the model decides.
 */
const MUTATIONS: ReadonlyArray<(origin: string, n: number, other: string) => string> = [
  (o, n) => { const i = n % o.length; return o.slice(0, i) + o.charAt(i).toUpperCase() + o.slice(i + 1) },
  (o) => o.toUpperCase(),
  (o, n) => { const i = hostStart(o) + (n % Math.max(1, hostEnd(o) - hostStart(o))); return o.slice(0, i) + '.' + o.slice(i) },
  (o) => o.replace('.', '..'),
  (o) => o.slice(0, hostStart(o)) + '.' + o.slice(hostStart(o)),
  (o) => o.slice(0, hostEnd(o)) + '.' + o.slice(hostEnd(o)),
  (o) => o.slice(0, hostEnd(o)) + '.evil.io' + o.slice(hostEnd(o)),
  (o) => o.slice(0, hostStart(o)) + 'evil' + o.slice(hostStart(o)),
  (o) => o.slice(0, hostStart(o)) + 'evil-' + o.slice(hostStart(o)),
  (o) => o.slice(0, hostStart(o)) + 'evil.' + o.slice(hostStart(o)),
  (o) => o.slice(0, hostStart(o)) + '*.' + o.slice(hostStart(o)),
  (o) => o + '/',
  (o, n) => o + ['/x', '?q=1', '#f', '/.', '/..', '\\', ';', '/%2e%2e'][n % 8],
  (o) => o.slice(0, hostStart(o)) + 'user@' + o.slice(hostStart(o)),
  (o) => o.slice(0, hostStart(o)) + 'user:pw@' + o.slice(hostStart(o)),
  (o, _n, other) => o + '@' + other.slice(hostStart(other)),
  (o, n) => {
    const i = hostStart(o) + (n % Math.max(1, hostEnd(o) - hostStart(o)))
    return o.slice(0, i) + '%' + o.charCodeAt(i).toString(16).padStart(2, '0') + o.slice(i + 1)
  },
  (o) => o.replace('.', '%2e'),
  (o, n) => { const i = hostStart(o) + (n % Math.max(1, hostEnd(o) - hostStart(o))); return o.slice(0, i) + ['\u0430', '\u00fc', '\u0131', '\uff0e', '\u3002', '\u200b'][n % 6] + o.slice(i + 1) },
  (o) => o + (o.startsWith('https:') ? ':443' : ':80'),
  (o) => o + ':0' + (o.startsWith('https:') ? '443' : '80'),
  (o) => /:\d+$/.test(o) ? o.replace(/:(\d+)$/, ':0$1') : o + ':08080',
  (o, n) => o.replace(/:\d+$/, '') + ':' + String([65536, 65535, 99999, 123456, 0, 4294967297][n % 6]),
  (o) => o + ':',
  (o, _n, other) => o + ', ' + other,
  (o, _n, other) => o + ',' + other,
  (o) => ' ' + o,
  (o) => o + ' ',
  (o) => o + '\t',
  (o, n) => { const i = n % o.length; return o.slice(0, i) + [' ', '\t', '\0', '\r\n', '\x7f', '\x0b', ','][n % 7] + o.slice(i) },
  (o, n) => { const i = n % o.length; return o.slice(0, i) + o.slice(i + 1) },
  (o, n) => { const i = n % o.length; return o.slice(0, i) + o.charAt(i) + o.slice(i) },
  (o) => o.startsWith('https:') ? 'http:' + o.slice(6) : o.startsWith('http:') ? 'https:' + o.slice(5) : 'https' + o.slice(o.indexOf(':')),
  (o) => o.replace('://', ':/'),
  (o) => o.replace('://', ':///'),
  (o) => o.slice(hostStart(o)),
  (o, n) => padTo(o, [2047, 2048, 2049, 5000][n % 4] as number),
  (_o, n) => ['null', 'NULL', 'null ', ' null', 'nul', '', 'https://', 'http://:80', 'file://', 'null, null', '*'][n % 11] as string,
  (o) => o.replace(/\/\/[^:/]*/, '//1.2.3.04'),
  (o) => o.replace(/\/\/[^:/]*/, '//0x7f.0.0.1'),
  (o) => o.replace(/\/\/[^:/]*/, '//127.1'),
  (o) => o.replace(/\/\/[^:/]*/, '//a.1'),
  (o) => o.replace(/\/\/[^:/]*/, '//[0:0::1]'),
  (o) => o.replace(/\/\/[^:/]*/, '//[::FFFF:127.0.0.1]'),
  (o) => o.replace(/\/\/[^:/]*/, '//[::1'),
  (o) => o.replace(/\/\/[^:/]*/, '//xn--zz.example.com'),
]

function hostStart (o: string): number {
  const i = o.indexOf('://')
  return i === -1 ? 0 : i + 3
}

function hostEnd (o: string): number {
  const start = hostStart(o)
  if (o.charAt(start) === '[') {
    const close = o.indexOf(']', start)
    return close === -1 ? o.length : close + 1
  }
  const colon = o.indexOf(':', start)
  return colon === -1 ? o.length : colon
}

/** The origin with labels added in front of its host until it is `length` characters long. */
export function padTo (o: string, length: number): string {
  const start = hostStart(o)
  if (o.charAt(start) === '[') return o
  let pad = ''
  while (o.length + pad.length < length) {
    const room = length - o.length - pad.length
    pad += room > 64 ? 'a'.repeat(63) + '.' : room === 1 ? '.' : 'b'.repeat(room - 1) + '.'
  }
  // A room of one is filled by a dot, which leaves an empty label: longer by one, then malformed anyway.
  return o.slice(0, start) + pad + o.slice(start)
}

export function nearMiss (origin: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.tuple(origin, fc.nat(MUTATIONS.length - 1), fc.nat(), serializedOrigin)
    .map(([o, m, n, other]) => (MUTATIONS[m] as (typeof MUTATIONS)[number])(o, n, other))
}

/** Origins worth asking about under `policy`: allowed ones, random ones, their near misses. */
export function originsFor (policy: ModelPolicy): fc.Arbitrary<string> {
  const allowed = policy.origins === '*' ? [] : policy.origins.map(allowedBy)
  const regexps = (policy.regexps?.length ?? 0) > 0 ? [fc.constantFrom(...REGEXP_NEIGHBOURS)] : []
  const valid = fc.oneof(serializedOrigin, ...allowed, ...regexps)
  return fc.oneof(
    { weight: 2, arbitrary: valid },
    { weight: 3, arbitrary: nearMiss(valid) },
    { weight: 1, arbitrary: nearMiss(nearMiss(valid)) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) })
}

/** Request header names policies list, for Access-Control-Request-Headers values. */
export const REQUEST_HEADER_NAMES: readonly string[] = ['x-a', 'x-b', 'X-Request-Id', 'content-type', 'authorization', 'x-api-key', 'accept-version']
const headerName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...REQUEST_HEADER_NAMES) },
  { weight: 2, arbitrary: fc.mixedCase(fc.constantFrom(...REQUEST_HEADER_NAMES)) },
  { weight: 2, arbitrary: fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}$/) },
  { weight: 1, arbitrary: fc.constantFrom('*', 'x-a;b', 'x a', '"x"', 'x(a)', 'x@a', 'x/a', 'x\0a', 'x\ra', 'é', 'x\u0100', 'x{a}', 'x=a', '\x7f') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 6 }) })
const ows = fc.constantFrom('', '', '', ' ', '  ', '\t', ' \t', '\n', '\v', '\u00a0')
const item = fc.tuple(ows, headerName, ows).map((parts) => parts.join(''))
const list = fc.array(fc.oneof({ weight: 8, arbitrary: item }, { weight: 1, arbitrary: ows }), { maxLength: 8 }).map((items) => items.join(','))

/** Values at the limits: 100 or 101 names, 8192 or 8193 characters. */
const atLimits = fc.tuple(fc.constantFrom(99, 100, 101), fc.constantFrom('x-a', 'X-B', 'content-type'), fc.constantFrom(null, 8191, 8192, 8193))
  .map(([count, n, length]) => {
    const value = Array.from({ length: count }, () => n).join(',')
    return length === null || value.length >= length ? value : value + ' '.repeat(length - value.length)
  })

/** Access-Control-Request-Headers values as clients send them, hostile ones included; undefined for none, an array for a repeated header. */
export const acrh = fc.oneof(
  { weight: 8, arbitrary: list },
  { weight: 1, arbitrary: atLimits },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, '', ',', ' , ,', ['x-a', 'x-b'], ['x-a']) })

/** Access-Control-Request-Method values: the routes' `methods`, others, their case changed, and malformed ones. */
export function acrmFor (methods: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...methods, 'OPTIONS', 'POST', 'CONNECT') },
    { weight: 2, arbitrary: fc.mixedCase(fc.constantFrom(...methods)) },
    { weight: 1, arbitrary: fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,10}$/) },
    { weight: 2, arbitrary: fc.constantFrom('', ' GET', 'GET ', '\tPUT', 'GET, PUT', 'GET,PUT', 'GE T', 'PUT\r\n', 'PÜT', 'PUT\0', 'get', 'patch') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) })
}
