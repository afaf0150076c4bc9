// The browser's checks on what a server answered. Grounding: Fetch standard, "CORS check",
// "CORS-preflight fetch", "CORS filtered response", "forbidden response-header name".
import { SAFELISTED_METHODS } from './request.ts'
import { STAR_COVERS_AUTHORIZATION, note } from './differences.ts'

/** A response as a transport received it: lower-case header names, a repeated header as an array. */
export interface WireResponse {
  status: number
  headers: Record<string, string | string[]>
}

/** Why the CORS check failed (on a preflight or on a response). */
export type CorsCheckFailure =
  | { kind: 'allow-origin-missing' }
  /** Several values: the header repeated, or one value with a comma or a space (`repeated` false). */
  | { kind: 'allow-origin-multiple', value: string, repeated: boolean }
  | { kind: 'allow-origin-mismatch', value: string }
  | { kind: 'allow-origin-star' }
  | { kind: 'allow-credentials', value: string | null }

/** Why a preflight's answer does not allow the request. */
export type PreflightFailure =
  | CorsCheckFailure
  | { kind: 'preflight-redirect', status: number }
  /** Not an ok status; `cors` is what the CORS check says of the same answer (browsers report that first). */
  | { kind: 'preflight-status', status: number, cors: CorsCheckFailure | null }
  | { kind: 'method', method: string }
  /** `star`: the answer allows `*`, which never covers authorization. */
  | { kind: 'header', header: string, star: boolean }

const SAFELISTED_RESPONSE_HEADERS = new Set(['cache-control', 'content-language', 'content-length', 'content-type', 'expires', 'last-modified', 'pragma'])
const FORBIDDEN_RESPONSE_HEADERS = new Set(['set-cookie', 'set-cookie2'])
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308])

/** One header's value as a browser's Headers gives it: repeated values joined with `, `. */
export function headerValue (response: WireResponse, name: string): string | undefined {
  const value = response.headers[name]
  return Array.isArray(value) ? value.join(', ') : value
}

function listOf (value: string | undefined): string[] {
  if (value === undefined) return []
  return value.split(',').map((item) => item.trim()).filter((item) => item !== '')
}

/** Fetch standard, "CORS check", for the request's serialized origin (`null` past a redirect to another origin). */
export function corsCheck (response: WireResponse, origin: string, credentials: boolean): CorsCheckFailure | null {
  const raw = response.headers['access-control-allow-origin']
  if (raw === undefined) return { kind: 'allow-origin-missing' }
  const value = headerValue(response, 'access-control-allow-origin')!
  if (Array.isArray(raw)) return { kind: 'allow-origin-multiple', value, repeated: true }
  if (value === '*') {
    if (credentials) return { kind: 'allow-origin-star' }
  } else if (value !== origin) {
    return /[ ,]/.test(value) ? { kind: 'allow-origin-multiple', value, repeated: false } : { kind: 'allow-origin-mismatch', value }
  }
  const allowCredentials = headerValue(response, 'access-control-allow-credentials')
  if (credentials && allowCredentials !== 'true') return { kind: 'allow-credentials', value: allowCredentials ?? null }
  return null
}

/** Fetch standard, "CORS-preflight fetch". Notes where browsers would pass a preflight the standard refuses. */
export function preflightCheck (
  answer: WireResponse,
  origin: string,
  credentials: boolean,
  method: string,
  unsafe: readonly string[],
  differences: string[]
): PreflightFailure | null {
  const { status } = answer
  // The preflight is not followed: a redirect is not an ok status.
  if (REDIRECT_STATUSES.has(status)) return { kind: 'preflight-redirect', status }
  const cors = corsCheck(answer, origin, credentials)
  if (status < 200 || status > 299) return { kind: 'preflight-status', status, cors }
  if (cors !== null) return cors
  const methods = listOf(headerValue(answer, 'access-control-allow-methods'))
  const methodAllowed = methods.includes(method) || SAFELISTED_METHODS.has(method) || (!credentials && methods.includes('*'))
  if (!methodAllowed) return { kind: 'method', method }
  const allowed = listOf(headerValue(answer, 'access-control-allow-headers')).map((h) => h.toLowerCase())
  // `*` stands for any name without credentials, but never for Authorization (a "CORS non-wildcard request-header name").
  const star = !credentials && allowed.includes('*')
  const missing = unsafe.filter((name) => !allowed.includes(name) && (!star || name === 'authorization'))
  if (missing.length === 0) return null
  if (star) note(differences, STAR_COVERS_AUTHORIZATION)
  return { kind: 'header', header: star ? 'authorization' : missing[0]!, star }
}

/** Fetch standard, "CORS filtered response": the names a script can read (safelisted and exposed, never Set-Cookie), sorted. */
export function exposedHeaders (response: WireResponse, credentials: boolean): string[] {
  const listed = listOf(headerValue(response, 'access-control-expose-headers')).map((h) => h.toLowerCase())
  const all = !credentials && listed.includes('*')
  return Object.keys(response.headers).filter((name) => !FORBIDDEN_RESPONSE_HEADERS.has(name) &&
    (SAFELISTED_RESPONSE_HEADERS.has(name) || all || listed.includes(name))).sort()
}
