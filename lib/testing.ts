import type { FastifyInstance, LightMyRequestResponse } from 'fastify'

// The browser's part of the Fetch standard, played against an app with inject, so that an
// application's own tests can ask "would a browser on this origin be allowed to make this call?"
// It follows the standard; where a browser currently differs (Chromium, Firefox), the result says so
// instead of following that browser. Grounding: Fetch standard, "CORS-safelisted method", "CORS-safelisted
// request-header", "CORS-unsafe request-header names", "CORS-preflight fetch", "CORS check",
// "HTTP fetch", "HTTP-redirect fetch", "CORS filtered response", "forbidden response-header name".

export interface CorsCheckRequest {
  /** The page's origin, e.g. `https://app.example.com`, or `null`. */
  origin: string
  /** As the page passes it to fetch(); normalized the way browsers do (only DELETE GET HEAD OPTIONS POST PUT are upper-cased). */
  method?: string
  /** A path (resolved against `apiOrigin`), or an absolute URL on the app's own origin. */
  url: string
  /** Headers the page sets. Forbidden request headers (cookie, host, …) are refused: scripts cannot set them. */
  headers?: Record<string, string>
  /** `credentials: 'include'`: cookies and HTTP auth go along, and the stricter checks apply. */
  credentials?: boolean
  /** Cookies the browser holds for the API's site, sent with every actual request when credentials is true. */
  cookies?: Record<string, string>
  body?: string
  /**
   * The app's own origin: relative URLs resolve against it, and redirects to it are followed (with
   * inject). Default: the origin of `url` when it is absolute, else `http://localhost` (inject's host).
   */
  apiOrigin?: string
}

/** One redirect the browser received, in order. */
export interface CorsCheckRedirect {
  /** The request that was answered with a redirect. */
  method: string
  url: string
  status: number
  /** Where it points: the Location resolved against `url`, or the raw value when it is not a URL. */
  location: string
}

export interface CorsCheckResult {
  /** Whether the page could read the response. */
  ok: boolean
  /** The preflight of the first request (a redirected request's preflight shows in `reason` when it failed). */
  preflight: { sent: boolean, status: number | null, headers: Record<string, string> }
  /** The last actual response the app gave (the final one after redirects), or null when the first preflight failed and the browser never sent it. */
  response: LightMyRequestResponse | null
  /** Response header names the page can read (lower case). */
  exposedHeaders: string[]
  /** Why the browser would refuse (or why corsCheck cannot tell), in a sentence; null when ok. */
  reason: string | null
  /** Every redirect received, in order, the refused one included. Empty when there was none. */
  redirects: CorsCheckRedirect[]
  /** Where Chromium or Firefox would decide differently from the Fetch standard on this call: one sentence each. */
  browserDifferences: string[]
}

const NORMALIZED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'])
const SAFELISTED_METHODS = new Set(['GET', 'HEAD', 'POST'])
const SAFELISTED_CONTENT_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'])
const SAFELISTED_RESPONSE_HEADERS = new Set(['cache-control', 'content-language', 'content-length', 'content-type', 'expires', 'last-modified', 'pragma'])
const FORBIDDEN_RESPONSE_HEADERS = new Set(['set-cookie', 'set-cookie2'])
const FORBIDDEN_REQUEST_HEADERS = new Set([
  'accept-charset', 'accept-encoding', 'access-control-request-headers', 'access-control-request-method', 'connection',
  'content-length', 'cookie', 'cookie2', 'date', 'dnt', 'expect', 'host', 'keep-alive', 'origin', 'referer',
  'set-cookie', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'via',
])
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])
const REQUEST_BODY_HEADERS = ['content-encoding', 'content-language', 'content-location', 'content-type']
const MAX_REDIRECTS = 20
const DEFAULT_API_ORIGIN = 'http://localhost'

/** One request of the chain: the page's, then one per redirect followed. */
interface Hop {
  method: string
  url: URL
  headers: Record<string, string>
  body: string | undefined
}

/**
 * Plays a browser's cross-origin `fetch()` against `app`: decides whether a preflight is needed,
 * sends it and checks its answer, sends the actual request, checks that, and follows redirects
 * the way fetch does (redirect mode "follow") while they stay on the app's own origin.
 */
export async function corsCheck (app: FastifyInstance, request: CorsCheckRequest): Promise<CorsCheckResult> {
  const headers = normalizeHeaders(request.headers ?? {})
  for (const name of Object.keys(headers)) {
    if (FORBIDDEN_REQUEST_HEADERS.has(name) || name.startsWith('proxy-') || name.startsWith('sec-')) {
      throw new TypeError(`corsCheck: ${name} is a forbidden request header; page scripts cannot set it`)
    }
  }
  const { apiOrigin, url } = target(request)
  if (request.origin === apiOrigin) {
    throw new TypeError(`corsCheck: the page's origin ${request.origin} is the API's own origin (apiOrigin); ` +
      'a same-origin request is not a CORS request. Pass the API\'s origin as apiOrigin')
  }
  const credentials = request.credentials === true
  const cookie = credentials && request.cookies !== undefined
    ? Object.entries(request.cookies).map(([k, v]) => `${k}=${v}`).join('; ')
    : undefined
  const result: CorsCheckResult = {
    ok: false,
    preflight: { sent: false, status: null, headers: {} },
    response: null,
    exposedHeaders: [],
    reason: null,
    redirects: [],
    browserDifferences: [],
  }
  let hop: Hop = { method: normalizeMethod(request.method ?? 'GET'), url, headers, body: request.body }
  let followed = 0
  const refuse = (reason: string): CorsCheckResult => {
    result.reason = followed === 0 ? reason : `after ${followed} redirect${followed > 1 ? 's' : ''}, at ${hop.method} ${hop.url.href}: ${reason}`
    return result
  }

  let response: LightMyRequestResponse
  // Whether the request before this one was preflighted and answered with a 303 (see below).
  let seeOtherAfterPreflight = false
  for (;;) {
    const unsafe = unsafeHeaderNames(hop.headers)
    noteChromiumSafelist(result.browserDifferences, hop, unsafe)

    // Fetch standard, "HTTP fetch": a preflight when the method or a header is not safelisted.
    const preflighted = !SAFELISTED_METHODS.has(hop.method) || unsafe.length > 0
    if (seeOtherAfterPreflight && !preflighted) {
      note(result.browserDifferences, 'Firefox preflights the GET that follows a 303 answering a preflighted request, which the Fetch ' +
        'standard does not: the server must also answer that preflight (OPTIONS with Access-Control-Request-Method: GET).')
    }
    if (preflighted) {
      const preflightHeaders: Record<string, string> = { origin: request.origin, 'access-control-request-method': hop.method }
      if (unsafe.length > 0) preflightHeaders['access-control-request-headers'] = unsafe.join(',')
      const answer = await app.inject({ method: 'OPTIONS', url: hop.url.href, headers: preflightHeaders })
      if (followed === 0) result.preflight = { sent: true, status: answer.statusCode, headers: stringHeaders(answer.headers) }
      const refusal = preflightRefusal(answer, request.origin, credentials, hop.method, unsafe, result.browserDifferences)
      if (refusal !== null) return refuse(refusal)
    }

    const actualHeaders: Record<string, string> = { ...hop.headers, origin: request.origin }
    if (cookie !== undefined) actualHeaders.cookie = cookie
    response = await app.inject({ method: hop.method, url: hop.url.href, headers: actualHeaders, payload: hop.body })
    result.response = response
    // "HTTP fetch": the CORS check applies to every response, a redirect included, before it is followed.
    const refusal = corsCheckRefusal(response, request.origin, credentials, 'response')
    if (refusal !== null) return refuse(refusal)
    // "location URL": a redirect status without Location is the response itself.
    const location = response.headers.location
    if (!REDIRECT_STATUSES.has(response.statusCode) || location === undefined) break
    const next = redirect(hop, response.statusCode, location, apiOrigin, result.redirects)
    if (typeof next === 'string') return refuse(next)
    seeOtherAfterPreflight = preflighted && response.statusCode === 303
    hop = next
    followed++
  }

  result.ok = true
  result.exposedHeaders = exposedHeaders(response, credentials)
  return result
}

/** The app's origin and the first request's URL on it. */
function target (request: CorsCheckRequest): { apiOrigin: string, url: URL } {
  const base = request.apiOrigin ?? DEFAULT_API_ORIGIN
  if (!URL.canParse(base) || !isHttp(new URL(base)) || new URL(base).origin !== base) {
    throw new TypeError(`corsCheck: apiOrigin must be a serialized http(s) origin such as https://api.example.com, not ${JSON.stringify(base)}`)
  }
  const url = new URL(request.url, base)
  const apiOrigin = request.apiOrigin ?? url.origin
  if (!isHttp(url) || url.origin !== apiOrigin) {
    throw new TypeError(`corsCheck: ${url.href} is not an http(s) URL on the app's origin ${apiOrigin}; corsCheck plays against one app (see apiOrigin)`)
  }
  url.hash = ''
  return { apiOrigin, url }
}

function isHttp (url: URL): boolean {
  return url.protocol === 'http:' || url.protocol === 'https:'
}

/**
 * Fetch standard, "HTTP-redirect fetch" (redirect mode "follow"): the next request, or why the
 * browser (or corsCheck) stops here. Records the redirect.
 */
function redirect (hop: Hop, status: number, location: NonNullable<LightMyRequestResponse['headers'][string]>, apiOrigin: string, redirects: CorsCheckRedirect[]): Hop | string {
  const entry: CorsCheckRedirect = { method: hop.method, url: hop.url.href, status, location: String(location) }
  redirects.push(entry)
  // "location URL": Location is a single URL, parsed against the response's URL.
  if (Array.isArray(location)) return `the ${status} redirect has several Location headers, which is a network error`
  let next: URL
  try {
    next = new URL(String(location), hop.url)
  } catch {
    return `the ${status} redirect's Location ${JSON.stringify(String(location))} is not a URL, which is a network error`
  }
  next.hash = ''
  entry.location = next.href
  if (!isHttp(next)) {
    return `the ${status} redirect goes to a ${next.protocol} URL; fetch follows only http(s) redirects (a network error)`
  }
  if (redirects.length > MAX_REDIRECTS) return `the ${status} redirect is one more than the ${MAX_REDIRECTS} that fetch follows (a network error)`
  // A CORS request never follows a redirect to a URL with credentials (tainting "cors").
  if (next.username !== '' || next.password !== '') return `the ${status} redirect's Location includes credentials (user:pass@), which a CORS request refuses (a network error)`
  if (next.origin !== apiOrigin) {
    // "redirect-taint": past a cross-origin redirect the request's origin serializes as null.
    return `the ${status} redirect goes to another origin (${next.origin}), which corsCheck cannot follow: it plays only against this app ` +
      `(apiOrigin ${apiOrigin}). A browser would follow it sending Origin: null, so that server would have to allow null`
  }
  let { method, body } = hop
  const headers = { ...hop.headers }
  // 301/302 turn POST into GET, 303 turns everything but GET and HEAD into GET: without the body.
  if (((status === 301 || status === 302) && method === 'POST') || (status === 303 && method !== 'GET' && method !== 'HEAD')) {
    method = 'GET'
    body = undefined
    for (const name of REQUEST_BODY_HEADERS) delete headers[name]
  }
  return { method, url: next, headers, body }
}

function normalizeMethod (method: string): string {
  const upper = method.toUpperCase()
  return NORMALIZED_METHODS.has(upper) ? upper : method
}

/** Lower-case names; values stripped of leading and trailing HTTP whitespace, as fetch's Headers does. */
function normalizeHeaders (headers: Record<string, string>): Record<string, string> {
  const normalized: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) normalized[name.toLowerCase()] = value.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '')
  return normalized
}

function stringHeaders (headers: LightMyRequestResponse['headers']): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    out[name] = Array.isArray(value) ? value.join(', ') : String(value)
  }
  return out
}

/**
 * Fetch standard, "CORS-unsafe request-header names", for lower-case names: sorted. (Its 1024-byte
 * cap on safelisted values cannot be reached with one value per name of at most 128 bytes each.)
 */
export function unsafeHeaderNames (headers: Record<string, string>): string[] {
  return Object.entries(headers).filter(([name, value]) => !isSafelistedRequestHeader(name, value)).map(([name]) => name).sort()
}

/** Fetch standard, "CORS-safelisted request-header". */
function isSafelistedRequestHeader (name: string, value: string): boolean {
  if (value.length > 128) return false
  switch (name) {
    case 'accept':
      return !hasUnsafeByte(value)
    case 'accept-language':
    case 'content-language':
      return /^[0-9A-Za-z *,\-.;=]*$/.test(value)
    case 'content-type': {
      if (hasUnsafeByte(value)) return false
      const essence = value.split(';')[0]!.trim().toLowerCase()
      return SAFELISTED_CONTENT_TYPES.has(essence)
    }
    case 'range':
      return /^bytes=\d+-\d*$/.test(value)
    default:
      return false
  }
}

function hasUnsafeByte (value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || '"():<>?@[\\]{}'.includes(value[i]!)) return true
  }
  return false
}

// Chromium (measured on 156 by test/browser/oracle.test.ts) also safelists these client-hint
// request headers when their value has this form; the Fetch standard does not.
const CHROMIUM_CLIENT_HINTS: ReadonlyMap<string, RegExp> = new Map([
  ['device-memory', /^\d+(?:\.\d+)?$/],
  ['dpr', /^\d+(?:\.\d+)?$/],
  ['downlink', /^\d+(?:\.\d+)?$/],
  ['rtt', /^\d+$/],
  ['viewport-width', /^\d+$/],
  ['width', /^\d+$/],
  ['ect', /^(?:slow-2g|2g|3g|4g)$/],
  ['save-data', /^on$/i],
])

/** Notes when Chromium would treat some of this request's CORS-unsafe headers as safelisted. */
function noteChromiumSafelist (differences: string[], hop: Hop, unsafe: readonly string[]): void {
  const hints = unsafe.filter((name) => hop.headers[name]!.length <= 128 && CHROMIUM_CLIENT_HINTS.get(name)?.test(hop.headers[name]!) === true)
  if (hints.length === 0) return
  const names = hints.length > 1 ? `request headers ${hints.join(', ')}` : `request header ${hints[0]}`
  const effect = SAFELISTED_METHODS.has(hop.method) && hints.length === unsafe.length
    ? 'Chromium sends this request without a preflight'
    : `Chromium leaves ${hints.length > 1 ? 'them' : 'it'} out of the preflight's Access-Control-Request-Headers`
  note(differences, `Chromium treats the ${names} as CORS-safelisted, which the Fetch standard does not: ${effect}.`)
}

function note (differences: string[], sentence: string): void {
  if (!differences.includes(sentence)) differences.push(sentence)
}

function listOf (value: string | undefined): string[] {
  if (value === undefined) return []
  return value.split(',').map((item) => item.trim()).filter((item) => item !== '')
}

/** Fetch standard, "CORS check". */
function corsCheckRefusal (response: LightMyRequestResponse, origin: string, credentials: boolean, what: string): string | null {
  const allowOrigin = response.headers['access-control-allow-origin']
  if (allowOrigin === undefined) return `the ${what} has no Access-Control-Allow-Origin header`
  if (Array.isArray(allowOrigin)) return `the ${what} has several Access-Control-Allow-Origin values`
  if (allowOrigin === '*') {
    if (credentials) return `the ${what}'s Access-Control-Allow-Origin is '*', which is refused with credentials`
  } else if (allowOrigin !== origin) {
    return `the ${what}'s Access-Control-Allow-Origin ${JSON.stringify(allowOrigin)} is not the page's origin ${JSON.stringify(origin)}`
  }
  if (credentials && response.headers['access-control-allow-credentials'] !== 'true') {
    return `the ${what}'s Access-Control-Allow-Credentials is not exactly "true", which credentials require`
  }
  return null
}

/** Fetch standard, "CORS-preflight fetch". Notes where browsers would pass a preflight the standard refuses. */
function preflightRefusal (
  answer: LightMyRequestResponse,
  origin: string,
  credentials: boolean,
  method: string,
  unsafe: readonly string[],
  differences: string[]
): string | null {
  const status = answer.statusCode
  // The preflight is not followed: a redirect is not an ok status.
  if (REDIRECT_STATUSES.has(status)) return `the preflight was answered with a redirect (${status}), which browsers never follow for a preflight`
  if (status < 200 || status > 299) return `the preflight was answered with ${status}, not an ok status`
  const cors = corsCheckRefusal(answer, origin, credentials, 'preflight')
  if (cors !== null) return cors
  const methods = listOf(answer.headers['access-control-allow-methods'] as string | undefined)
  const methodAllowed = methods.includes(method) || SAFELISTED_METHODS.has(method) || (!credentials && methods.includes('*'))
  if (!methodAllowed) return `the method ${method} is not in the preflight's Access-Control-Allow-Methods`
  const allowed = listOf(answer.headers['access-control-allow-headers'] as string | undefined).map((h) => h.toLowerCase())
  // `*` stands for any name without credentials, but never for Authorization (a "CORS non-wildcard request-header name").
  const wildcard = !credentials && allowed.includes('*')
  const missing = unsafe.filter((name) => !allowed.includes(name) && (!wildcard || name === 'authorization'))
  if (missing.length === 0) return null
  if (wildcard) {
    note(differences, 'Chromium and Firefox let Access-Control-Allow-Headers: * cover Authorization, which the Fetch standard does not: ' +
      'both accept this preflight.')
    return 'the request header authorization is not in the preflight\'s Access-Control-Allow-Headers (\'*\' does not cover it)'
  }
  return `the request header ${missing[0]} is not in the preflight's Access-Control-Allow-Headers`
}

/** Fetch standard, "CORS filtered response": safelisted and exposed names, never Set-Cookie. */
function exposedHeaders (response: LightMyRequestResponse, credentials: boolean): string[] {
  const listed = listOf(response.headers['access-control-expose-headers'] as string | undefined).map((h) => h.toLowerCase())
  const all = !credentials && listed.includes('*')
  const exposed = Object.keys(response.headers).filter((name) => !FORBIDDEN_RESPONSE_HEADERS.has(name) &&
    (SAFELISTED_RESPONSE_HEADERS.has(name) || all || listed.includes(name)))
  return exposed.sort()
}
