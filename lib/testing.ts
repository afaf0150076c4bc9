import type { FastifyInstance, LightMyRequestResponse } from 'fastify'

// The browser's part of the Fetch standard, played against an app with inject, so that an
// application's own tests can ask "would a browser on this origin be allowed to make this call?"
// Grounding: Fetch standard, "CORS-safelisted method", "CORS-safelisted request-header",
// "CORS-unsafe request-header names", "CORS-preflight fetch", "CORS check", "CORS-safelisted response-header name".

export interface CorsCheckRequest {
  /** The page's origin, e.g. `https://app.example.com`, or `null`. */
  origin: string
  /** As the page passes it to fetch(); normalized the way browsers do (only DELETE GET HEAD OPTIONS POST PUT are upper-cased). */
  method?: string
  url: string
  /** Headers the page sets. Forbidden request headers (cookie, host, …) are refused: scripts cannot set them. */
  headers?: Record<string, string>
  /** `credentials: 'include'`: cookies and HTTP auth go along, and the stricter checks apply. */
  credentials?: boolean
  /** Cookies the browser holds for the API's site, sent with the actual request when credentials is true. */
  cookies?: Record<string, string>
  body?: string
}

export interface CorsCheckResult {
  /** Whether the page could read the response. */
  ok: boolean
  preflight: { sent: boolean, status: number | null, headers: Record<string, string> }
  /** The actual response, or null when the preflight failed and the browser never sent it. */
  response: LightMyRequestResponse | null
  /** Response header names the page can read (lower case). */
  exposedHeaders: string[]
  /** Why the browser would refuse, in a sentence; null when ok. */
  reason: string | null
}

const NORMALIZED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'])
const SAFELISTED_METHODS = new Set(['GET', 'HEAD', 'POST'])
const SAFELISTED_CONTENT_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'])
const SAFELISTED_RESPONSE_HEADERS = ['cache-control', 'content-language', 'content-length', 'content-type', 'expires', 'last-modified', 'pragma']
const FORBIDDEN_REQUEST_HEADERS = new Set([
  'accept-charset', 'accept-encoding', 'access-control-request-headers', 'access-control-request-method', 'connection',
  'content-length', 'cookie', 'cookie2', 'date', 'dnt', 'expect', 'host', 'keep-alive', 'origin', 'referer',
  'set-cookie', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'via',
])

/**
 * Plays a browser's cross-origin `fetch()` against `app`: decides whether a preflight is needed,
 * sends it and checks its answer as Chromium does, then sends the actual request and checks that.
 * Redirects are not followed.
 */
export async function corsCheck (app: FastifyInstance, request: CorsCheckRequest): Promise<CorsCheckResult> {
  const method = normalizeMethod(request.method ?? 'GET')
  const headers = lowerCaseKeys(request.headers ?? {})
  const credentials = request.credentials === true
  for (const name of Object.keys(headers)) {
    if (FORBIDDEN_REQUEST_HEADERS.has(name) || name.startsWith('proxy-') || name.startsWith('sec-')) {
      throw new TypeError(`corsCheck: ${name} is a forbidden request header; page scripts cannot set it`)
    }
  }
  const unsafe = unsafeHeaderNames(headers)
  const result: CorsCheckResult = {
    ok: false,
    preflight: { sent: false, status: null, headers: {} },
    response: null,
    exposedHeaders: [],
    reason: null,
  }

  // Fetch standard, "main fetch": a preflight when the method or a header is not safelisted.
  if (!SAFELISTED_METHODS.has(method) || unsafe.length > 0) {
    const preflightHeaders: Record<string, string> = { origin: request.origin, 'access-control-request-method': method }
    if (unsafe.length > 0) preflightHeaders['access-control-request-headers'] = unsafe.join(',')
    const answer = await app.inject({ method: 'OPTIONS', url: request.url, headers: preflightHeaders })
    result.preflight = { sent: true, status: answer.statusCode, headers: stringHeaders(answer.headers) }
    const refusal = preflightRefusal(answer, request.origin, credentials, method, unsafe, headers)
    if (refusal !== null) {
      result.reason = refusal
      return result
    }
  }

  const actualHeaders: Record<string, string> = { ...headers, origin: request.origin }
  if (credentials && request.cookies !== undefined) {
    actualHeaders.cookie = Object.entries(request.cookies).map(([k, v]) => `${k}=${v}`).join('; ')
  }
  const response = await app.inject({ method, url: request.url, headers: actualHeaders, payload: request.body })
  result.response = response
  const refusal = corsCheckRefusal(response, request.origin, credentials, 'response')
  if (refusal !== null) {
    result.reason = refusal
    return result
  }
  result.ok = true
  result.exposedHeaders = exposedHeaders(response, credentials)
  return result
}

function normalizeMethod (method: string): string {
  const upper = method.toUpperCase()
  return NORMALIZED_METHODS.has(upper) ? upper : method
}

function lowerCaseKeys (headers: Record<string, string>): Record<string, string> {
  const lower: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) lower[name.toLowerCase()] = value
  return lower
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

function listOf (value: string | undefined): string[] {
  if (value === undefined) return []
  return value.split(',').map((item) => item.trim()).filter((item) => item !== '')
}

/** Fetch standard, "CORS check", the way Chromium reports failures. */
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

function preflightRefusal (
  answer: LightMyRequestResponse,
  origin: string,
  credentials: boolean,
  method: string,
  unsafe: readonly string[],
  headers: Record<string, string>
): string | null {
  if (answer.statusCode < 200 || answer.statusCode > 299) return `the preflight was answered with ${answer.statusCode}, not an ok status`
  const cors = corsCheckRefusal(answer, origin, credentials, 'preflight')
  if (cors !== null) return cors
  const methods = listOf(answer.headers['access-control-allow-methods'] as string | undefined)
  const methodAllowed = methods.includes(method) || SAFELISTED_METHODS.has(method) || (!credentials && methods.includes('*'))
  if (!methodAllowed) return `the method ${method} is not in the preflight's Access-Control-Allow-Methods`
  const allowed = listOf(answer.headers['access-control-allow-headers'] as string | undefined).map((h) => h.toLowerCase())
  // Chromium: a wildcard never covers Authorization.
  if (headers.authorization !== undefined && !allowed.includes('authorization')) {
    return 'the request header authorization is not in the preflight\'s Access-Control-Allow-Headers (\'*\' does not cover it)'
  }
  for (const name of unsafe) {
    if (!allowed.includes(name) && (credentials || !allowed.includes('*'))) {
      return `the request header ${name} is not in the preflight's Access-Control-Allow-Headers`
    }
  }
  return null
}

function exposedHeaders (response: LightMyRequestResponse, credentials: boolean): string[] {
  const listed = listOf(response.headers['access-control-expose-headers'] as string | undefined).map((h) => h.toLowerCase())
  const present = Object.keys(response.headers)
  const exposed = present.filter((name) => SAFELISTED_RESPONSE_HEADERS.includes(name) || listed.includes(name) ||
    (!credentials && listed.includes('*') && name !== 'set-cookie' && name !== 'set-cookie2'))
  return exposed.sort()
}
