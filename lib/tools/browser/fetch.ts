// A browser's cross-origin fetch(), played over any transport: decides whether a preflight is
// needed, sends it and checks its answer, sends the actual request, checks that, and follows
// redirects as fetch does (redirect mode "follow"). corsCheck plays it with inject, the CLI over
// the network. Grounding: Fetch standard, "main fetch", "HTTP fetch", "CORS-preflight fetch",
// "HTTP-redirect fetch", "serializing a request origin".
import { chromiumSafelist, FIREFOX_PREFLIGHTS_AFTER_303, note } from './differences.ts'
import { corsCheck, exposedHeaders, headerValue, preflightCheck, REDIRECT_STATUSES, type PreflightFailure, type WireResponse } from './check.ts'
import { redirect, type Hop, type Redirect, type RedirectFailure } from './redirect.ts'
import { redactCookieHeader, redactSetCookie } from './redact.ts'
import { needsPreflight, unsafeHeaderNames } from './request.ts'

export type { Redirect } from './redirect.ts'

/** What a transport sends: the method as the browser sends it, the full URL, the header list. */
export interface TransportRequest {
  method: string
  url: URL
  headers: Record<string, string>
  body: string | undefined
}

/** Sends requests, one at a time, and never follows redirects itself. `R` is its own response object. */
export interface Transport<R> {
  send: (request: TransportRequest) => Promise<{ response: WireResponse, raw: R }>
  /** Null when it can send to this URL (a redirect's target); else why not, in a sentence. */
  reaches: (url: URL) => string | null
}

/** A page's fetch(): headers already normalized (lower-case names), method as the page wrote it. */
export interface PageRequest {
  /** The page's origin (serialized), or `null`. */
  origin: string
  method: string
  url: URL
  headers: Record<string, string>
  credentials: boolean
  /** The Cookie header the browser holds for the API, sent on actual requests with credentials. */
  cookie?: string
  body?: string
}

/** One request sent, with the response it got; cookie values are left out (`sid=…`). */
export interface Step {
  kind: 'preflight' | 'request'
  method: string
  url: string
  headers: Record<string, string>
  status: number
  responseHeaders: Record<string, string>
}

export type Failure = PreflightFailure | RedirectFailure

/** Where and why the browser refused. */
export interface Blocked {
  failure: Failure
  /** The request that failed (its preflight, when `preflight`). */
  method: string
  url: string
  /** The first request's URL. */
  firstUrl: string
  /** Whether the preflight failed. */
  preflight: boolean
  /** Redirects followed before. */
  hops: number
  /** The status of the answer that failed the check; null for a redirect that is a network error. */
  status: number | null
  /** The request's CORS-unsafe header names (what its preflight asks for). */
  requestHeaders: string[]
  /** The page's origin, and the origin the failing request carried (`null` past a redirect to another origin). */
  pageOrigin: string
  requestOrigin: string
  credentials: boolean
}

export interface PlayResult<R> {
  ok: boolean
  blocked: Blocked | null
  steps: Step[]
  /** The first request's preflight. */
  preflight: { sent: boolean, status: number | null, headers: Record<string, string> }
  /** The last actual response, or null when the first preflight failed. */
  last: { response: WireResponse, raw: R } | null
  exposedHeaders: string[]
  redirects: Redirect[]
  browserDifferences: string[]
  /** The Set-Cookie lines of each answer that had any, by the index of its step (cookies.ts judges them). */
  setCookies: Array<{ step: number, lines: string[] }>
}

/** Repeated headers joined with `, `, as a browser's Headers shows them. */
function joinedHeaders (response: WireResponse): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of Object.keys(response.headers)) out[name] = headerValue(response, name)!
  return out
}

/** The Set-Cookie lines of an answer. */
function setCookieLines (response: WireResponse): string[] {
  const value = response.headers['set-cookie']
  return value === undefined ? [] : Array.isArray(value) ? value : [value]
}

/** A request and its answer as reported: every header, with cookie values left out. */
export function recordStep (kind: Step['kind'], request: TransportRequest, response: WireResponse): Step {
  const headers = request.headers.cookie === undefined ? request.headers : { ...request.headers, cookie: redactCookieHeader(request.headers.cookie) }
  const responseHeaders = joinedHeaders(response)
  const lines = setCookieLines(response)
  if (lines.length > 0) responseHeaders['set-cookie'] = lines.map(redactSetCookie).join(', ')
  return { kind, method: request.method, url: request.url.href, headers, status: response.status, responseHeaders }
}

export async function play<R> (transport: Transport<R>, request: PageRequest): Promise<PlayResult<R>> {
  const result: PlayResult<R> = {
    ok: false,
    blocked: null,
    steps: [],
    preflight: { sent: false, status: null, headers: {} },
    last: null,
    exposedHeaders: [],
    redirects: [],
    browserDifferences: [],
    setCookies: [],
  }
  let hop: Hop = { method: request.method, url: request.url, headers: request.headers, body: request.body }
  let followed = 0
  // "serializing a request origin": null once the request went from one origin to another (redirect-taint).
  let origin = request.origin
  let unsafe: string[] = []
  const refuse = (failure: Failure, preflight: boolean, status: number | null): PlayResult<R> => {
    result.blocked = {
      failure,
      method: hop.method,
      url: hop.url.href,
      firstUrl: request.url.href,
      preflight,
      hops: followed,
      status,
      requestHeaders: unsafe,
      pageOrigin: request.origin,
      requestOrigin: origin,
      credentials: request.credentials,
    }
    return result
  }
  const send = async (kind: Step['kind'], sent: TransportRequest): Promise<{ response: WireResponse, raw: R }> => {
    const answer = await transport.send(sent)
    result.steps.push(recordStep(kind, sent, answer.response))
    const lines = setCookieLines(answer.response)
    if (lines.length > 0) result.setCookies.push({ step: result.steps.length - 1, lines })
    return answer
  }

  let response: WireResponse
  // Whether the request before this one was preflighted and answered with a 303.
  let seeOtherAfterPreflight = false
  for (;;) {
    unsafe = unsafeHeaderNames(hop.headers)
    note(result.browserDifferences, chromiumSafelist(hop.method, hop.headers, unsafe))
    const preflighted = needsPreflight(hop.method, unsafe)
    if (seeOtherAfterPreflight && !preflighted) note(result.browserDifferences, FIREFOX_PREFLIGHTS_AFTER_303)
    if (preflighted) {
      const headers: Record<string, string> = { origin, 'access-control-request-method': hop.method }
      if (unsafe.length > 0) headers['access-control-request-headers'] = unsafe.join(',')
      const { response: answer } = await send('preflight', { method: 'OPTIONS', url: hop.url, headers, body: undefined })
      if (followed === 0) result.preflight = { sent: true, status: answer.status, headers: joinedHeaders(answer) }
      const failure = preflightCheck(answer, origin, request.credentials, hop.method, unsafe, result.browserDifferences)
      if (failure !== null) return refuse(failure, true, answer.status)
    }

    const headers: Record<string, string> = { ...hop.headers, origin }
    if (request.cookie !== undefined && request.credentials) headers.cookie = request.cookie
    result.last = await send('request', { method: hop.method, url: hop.url, headers, body: hop.body })
    response = result.last.response
    // "HTTP fetch": the CORS check applies to every response, a redirect included, before it is followed.
    const failure = corsCheck(response, origin, request.credentials)
    if (failure !== null) return refuse(failure, false, response.status)
    // "location URL": a redirect status without Location is the response itself.
    const location = response.headers.location
    if (!REDIRECT_STATUSES.has(response.status) || location === undefined) break
    const next = redirect(hop, response.status, location, result.redirects, transport.reaches)
    if (!('url' in next)) return refuse(next, false, null)
    // "redirect-taint": from one origin to another, unless the hop starts on the page's own origin.
    if (next.url.origin !== hop.url.origin && request.origin !== hop.url.origin) origin = 'null'
    seeOtherAfterPreflight = preflighted && response.status === 303
    hop = next
    followed++
  }

  result.ok = true
  result.exposedHeaders = exposedHeaders(response, request.credentials)
  return result
}
