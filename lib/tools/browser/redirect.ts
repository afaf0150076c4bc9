// Fetch standard, "HTTP-redirect fetch" (redirect mode "follow"), for a CORS request.

/** Why the browser stops at a redirect (a network error), or why the transport cannot follow it. */
export type RedirectFailure =
  | { kind: 'redirect-locations', status: number }
  | { kind: 'redirect-location', status: number, location: string }
  | { kind: 'redirect-scheme', status: number, location: string, scheme: string }
  | { kind: 'redirect-limit', status: number, limit: number }
  | { kind: 'redirect-credentials', status: number, location: string }
  /** The transport cannot reach that URL (corsCheck plays against one app); `why` says so. */
  | { kind: 'redirect-unreachable', status: number, location: string, why: string }

/** One redirect the browser received, in order. */
export interface Redirect {
  /** The request that was answered with a redirect. */
  method: string
  url: string
  status: number
  /** Where it points: the Location resolved against `url`, or the raw value when it is not a URL. */
  location: string
}

export interface Hop {
  method: string
  url: URL
  headers: Record<string, string>
  body: string | undefined
}

export const MAX_REDIRECTS = 20
const REQUEST_BODY_HEADERS = ['content-encoding', 'content-language', 'content-location', 'content-type']

export function isHttp (url: URL): boolean {
  return url.protocol === 'http:' || url.protocol === 'https:'
}

/** The next request, or why the browser stops here. Records the redirect. */
export function redirect (
  hop: Hop,
  status: number,
  location: string | string[],
  redirects: Redirect[],
  reaches: (url: URL) => string | null
): Hop | RedirectFailure {
  const entry: Redirect = { method: hop.method, url: hop.url.href, status, location: String(location) }
  redirects.push(entry)
  // "location URL": Location is a single URL, parsed against the response's URL.
  if (Array.isArray(location)) return { kind: 'redirect-locations', status }
  let next: URL
  try {
    next = new URL(location, hop.url)
  } catch {
    return { kind: 'redirect-location', status, location }
  }
  next.hash = ''
  entry.location = next.href
  if (!isHttp(next)) return { kind: 'redirect-scheme', status, location: next.href, scheme: next.protocol }
  if (redirects.length > MAX_REDIRECTS) return { kind: 'redirect-limit', status, limit: MAX_REDIRECTS }
  // A CORS request never follows a redirect to a URL with credentials (tainting "cors").
  if (next.username !== '' || next.password !== '') return { kind: 'redirect-credentials', status, location: next.href }
  const why = reaches(next)
  if (why !== null) return { kind: 'redirect-unreachable', status, location: next.href, why }
  let { method, body } = hop
  const headers = { ...hop.headers }
  // 301/302 turn POST into GET, 303 turns everything but GET and HEAD into GET: without the body.
  if (((status === 301 || status === 302) && method === 'POST') || (status === 303 && method !== 'GET' && method !== 'HEAD')) {
    method = 'GET'
    body = undefined
    for (const name of REQUEST_BODY_HEADERS) delete headers[name]
  }
  // To another origin, Authorization (the "CORS non-wildcard request-header name") is dropped.
  if (next.origin !== hop.url.origin) delete headers.authorization
  return { method, url: next, headers, body }
}
