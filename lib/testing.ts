import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { judgePlayed, type CookieEngine, type CookieSource, type CookieVerdict, type SetCookieVerdict } from './tools/browser/cookies.ts'
import { play, type Transport } from './tools/browser/fetch.ts'
import type { WireResponse } from './tools/browser/check.ts'
import { sentence } from './tools/browser/messages.ts'
import { isForbiddenRequestHeader, normalizeHeaders, normalizeMethod } from './tools/browser/request.ts'
import { isHttp } from './tools/browser/redirect.ts'

export { unsafeHeaderNames } from './tools/browser/request.ts'
/** One Set-Cookie line judged in each engine, for a page and the URL that answered it (what setCookies holds for each cookie). */
export { judgeSetCookie } from './tools/browser/cookies.ts'
export type { CookieEngine, CookieSource, CookieVerdict, SetCookieVerdict }

// corsCheck: the browser model of lib/tools/browser/ played against an app with inject, so that an
// application's own tests can ask "would a browser on this origin be allowed to make this call?"
// It follows the Fetch standard; where a browser currently differs (Chromium, Firefox), the result
// says so instead of following that browser. The CLI (lib/cli.ts) plays the same model over the network.

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
  /**
   * Cookies the browser holds for the API, sent as given with every actual request when credentials
   * is true (never on a preflight, never without credentials). corsCheck does not judge them: it
   * cannot know their attributes. It judges the cookies the app sets, in `setCookies`.
   */
  cookies?: Record<string, string>
  body?: string
  /**
   * The app's own origin: relative URLs resolve against it, and redirects to it are followed (with
   * inject); the cookies the app sets are judged for it (its site, and whether it is secure).
   * Default: the origin of `url` when it is absolute, else `http://localhost` (inject's host).
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
  /**
   * Every Set-Cookie the browser received on the way (preflights, redirects and a refused answer
   * included, in order), judged in each engine: whether it is stored, whether it is sent back when
   * the page calls `url` again with credentials, whether it is kept for the page's site only, why,
   * and the fix. Names and attributes only, never values.
   */
  setCookies: SetCookieVerdict[]
  /** The origin the app was played as (apiOrigin, or its default). */
  apiOrigin: string
  /** When apiOrigin was left at its default, a sentence saying so (the cookies were judged for that origin); else null. */
  apiOriginNote: string | null
}

const DEFAULT_API_ORIGIN = 'http://localhost'

/**
 * Plays a browser's cross-origin `fetch()` against `app`: decides whether a preflight is needed,
 * sends it and checks its answer, sends the actual request, checks that, and follows redirects
 * the way fetch does (redirect mode "follow") while they stay on the app's own origin.
 */
export async function corsCheck (app: FastifyInstance, request: CorsCheckRequest): Promise<CorsCheckResult> {
  const headers = normalizeHeaders(request.headers ?? {})
  for (const name of Object.keys(headers)) {
    if (isForbiddenRequestHeader(name)) throw new TypeError(`corsCheck: ${name} is a forbidden request header; page scripts cannot set it`)
  }
  const { apiOrigin, url } = target(request)
  if (request.origin === apiOrigin) {
    throw new TypeError(`corsCheck: the page's origin ${request.origin} is the API's own origin (apiOrigin); ` +
      'a same-origin request is not a CORS request. Pass the API\'s origin as apiOrigin')
  }
  const credentials = request.credentials === true
  const transport: Transport<LightMyRequestResponse> = {
    send: async ({ method, url, headers, body }) => {
      const raw = await app.inject({ method: method as 'GET', url: url.href, headers, payload: body })
      return { response: wire(raw), raw }
    },
    reaches: (next) => next.origin === apiOrigin
      ? null
      : `another origin (${next.origin}), which corsCheck cannot follow: it plays only against this app (apiOrigin ${apiOrigin}). ` +
        'A browser would follow it sending Origin: null, so that server would have to allow null',
  }
  const played = await play(transport, {
    origin: request.origin,
    method: normalizeMethod(request.method ?? 'GET'),
    url,
    headers,
    credentials,
    cookie: credentials && request.cookies !== undefined
      ? Object.entries(request.cookies).map(([k, v]) => `${k}=${v}`).join('; ')
      : undefined,
    body: request.body,
  })
  const defaulted = request.apiOrigin === undefined && !URL.canParse(request.url)
  return {
    ok: played.ok,
    preflight: played.preflight,
    response: played.last?.raw ?? null,
    exposedHeaders: played.exposedHeaders,
    reason: played.blocked === null ? null : sentence(played.blocked),
    redirects: played.redirects,
    browserDifferences: played.browserDifferences,
    setCookies: judgePlayed(played, { origin: request.origin, url, credentials }),
    apiOrigin,
    apiOriginNote: defaulted
      ? `apiOrigin was not given, so the app was played as ${DEFAULT_API_ORIGIN} (inject's host): the cookies' site and Secure ` +
        'verdicts were judged for that origin. Pass apiOrigin (e.g. https://api.example.com) to judge them for the deployed API.'
      : null,
  }
}

/** inject's headers as a transport gives them: strings, a repeated header as an array. */
function wire (response: LightMyRequestResponse): WireResponse {
  const headers: WireResponse['headers'] = {}
  for (const [name, value] of Object.entries(response.headers) as Array<[string, string | string[] | number]>) {
    headers[name] = Array.isArray(value) ? value.map(String) : String(value)
  }
  return { status: response.statusCode, headers }
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
