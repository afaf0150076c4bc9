// A plain node:http API (no Fastify) whose routes answer with the CORS mistakes people make, and
// the cases that call it: shared by test/cli.test.ts (the command's verdict, reason and fix) and
// test/browser/cli.ts (the same cases in Chromium and Firefox, which must agree with it).
import { createServer, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

interface Answer { status?: number, headers?: OutgoingHttpHeaders, body?: string }
type Handler = (request: IncomingMessage, api: MistakesApi) => Answer

interface Route {
  /** The answer to a preflight (OPTIONS with Access-Control-Request-Method); without it, a 404. */
  preflight?: Handler
  /** The answer to any other request. */
  actual: Handler
}

const allow = (page: string, extra: OutgoingHttpHeaders = {}): OutgoingHttpHeaders => ({ 'access-control-allow-origin': page, ...extra })

/** Each path is one mistake (or its correct twin). `page` is the origin of the page that calls the API. */
const ROUTES: Record<string, Route> = {
  '/ok': { actual: (_r, { page }) => ({ headers: allow(page), body: 'ok' }) },
  '/no-acao': { actual: () => ({ body: 'no cors' }) },
  '/wrong-acao': { actual: () => ({ headers: allow('https://app.example.com'), body: 'wrong' }) },
  '/trailing-slash': { actual: (_r, { page }) => ({ headers: allow(page + '/'), body: 'slash' }) },
  '/two-origins': { actual: (_r, { page }) => ({ headers: allow(`${page}, https://app.example.com`), body: 'two' }) },
  '/star': { actual: () => ({ headers: { 'access-control-allow-origin': '*', 'access-control-allow-credentials': 'true' }, body: 'star' }) },
  '/no-acac': { actual: (_r, { page }) => ({ headers: allow(page), body: 'no acac' }) },
  '/no-acam': {
    preflight: (_r, { page }) => ({ status: 204, headers: allow(page) }),
    actual: (_r, { page }) => ({ headers: allow(page), body: 'put' }),
  },
  '/preflight-404': { actual: (_r, { page }) => ({ headers: allow(page), body: 'never' }) },
  '/preflight-redirect': {
    preflight: (_r, { page }) => ({ status: 301, headers: allow(page, { location: '/ok' }) }),
    actual: (_r, { page }) => ({ headers: allow(page), body: 'never' }),
  },
  '/any-header': {
    preflight: (_r, { page }) => ({ status: 204, headers: allow(page, { 'access-control-allow-headers': '*' }) }),
    actual: (request, { page }) => ({ headers: allow(page), body: `authorization: ${request.headers.authorization ?? '-'}` }),
  },
  '/patch': {
    preflight: (_r, { page }) => ({ status: 204, headers: allow(page, { 'access-control-allow-methods': 'GET, PATCH' }) }),
    actual: (request, { page }) => ({ headers: allow(page), body: `${request.method}` }),
  },
  '/json': {
    preflight: (_r, { page }) => ({ status: 204, headers: allow(page, { 'access-control-allow-methods': 'POST', 'access-control-allow-headers': 'content-type' }) }),
    actual: (_r, { page }) => ({ status: 201, headers: allow(page), body: 'created' }),
  },
  '/exposed': {
    actual: (_r, { page }) => ({
      headers: allow(page, { 'access-control-expose-headers': 'x-request-id', 'x-request-id': 'r-1', 'x-trace-id': 't-1', 'content-type': 'text/plain' }),
      body: 'exposed',
    }),
  },
  '/redirect-ok': { actual: (_r, { page }) => ({ status: 302, headers: allow(page, { location: '/ok' }) }) },
  '/redirect-no-acao': { actual: (_r, { page }) => ({ status: 302, headers: allow(page, { location: '/no-acao' }) }) },
  '/redirect-bare': { actual: () => ({ status: 302, headers: { location: '/ok' } }) },
  // To the same server on its other name: another origin, where the request's Origin becomes null.
  '/redirect-elsewhere': { actual: (_r, { page, elsewhere }) => ({ status: 302, headers: allow(page, { location: `${elsewhere}/null-ok` }) }) },
  '/redirect-elsewhere-page': { actual: (_r, { page, elsewhere }) => ({ status: 302, headers: allow(page, { location: `${elsewhere}/ok` }) }) },
  '/null-ok': { actual: () => ({ headers: allow('null'), body: 'null is allowed' }) },
}

export interface MistakesApi {
  /** `http://localhost:PORT` */
  origin: string
  /** `http://127.0.0.1:PORT`: the same server, another origin. */
  elsewhere: string
  /** The page's origin, which the routes that answer correctly name. */
  page: string
  /** Every request that reached the API, as `METHOD /path origin=… acrm=… acrh=…`. */
  seen: string[]
  close: () => Promise<void>
}

/** Starts the API on loopback; the routes name `page` as the page's origin. */
export async function startMistakesApi (page: string): Promise<MistakesApi> {
  const seen: string[] = []
  const api: MistakesApi = { origin: '', elsewhere: '', page, seen, close: async () => {} }
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]!
    const acrm = request.headers['access-control-request-method']
    const acrh = request.headers['access-control-request-headers']
    seen.push(`${request.method} ${path} origin=${request.headers.origin ?? '-'}` + (acrm === undefined ? '' : ` acrm=${acrm} acrh=${acrh ?? '-'}`))
    const route = ROUTES[path]
    const preflight = request.method === 'OPTIONS' && acrm !== undefined
    const handler = route === undefined ? undefined : preflight ? route.preflight : route.actual
    const answer = handler === undefined ? { status: 404, body: 'not found' } : handler(request, api)
    response.writeHead(answer.status ?? 200, answer.headers ?? {})
    response.end(answer.body ?? '')
  })
  server.keepAliveTimeout = 100
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  api.origin = `http://localhost:${port}`
  api.elsewhere = `http://127.0.0.1:${port}`
  api.close = () => new Promise((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })
  return api
}

/** One call a page could make, and what the Fetch standard says of it. */
export interface MistakeCase {
  name: string
  path: string
  method?: string
  headers?: Record<string, string>
  credentials?: boolean
  /** Whether a page could read the response, per the Fetch standard. */
  ok: boolean
  /** Whether a preflight is sent first. */
  preflight: boolean
  /** Where a browser decides otherwise: its verdict. */
  browsers?: { Chromium: boolean, Firefox: boolean }
}

export const MISTAKES: MistakeCase[] = [
  { name: 'a correct simple GET', path: '/ok', ok: true, preflight: false },
  { name: 'no Access-Control-Allow-Origin', path: '/no-acao', ok: false, preflight: false },
  { name: 'Access-Control-Allow-Origin names another origin', path: '/wrong-acao', ok: false, preflight: false },
  { name: 'Access-Control-Allow-Origin with a trailing slash', path: '/trailing-slash', ok: false, preflight: false },
  { name: 'Access-Control-Allow-Origin with two origins', path: '/two-origins', ok: false, preflight: false },
  { name: '* with credentials', path: '/star', credentials: true, ok: false, preflight: false },
  { name: '* without credentials', path: '/star', ok: true, preflight: false },
  { name: 'credentials without Access-Control-Allow-Credentials', path: '/no-acac', credentials: true, ok: false, preflight: false },
  { name: 'a preflight without Access-Control-Allow-Methods', path: '/no-acam', method: 'PUT', ok: false, preflight: true },
  { name: 'a preflight answered 404', path: '/preflight-404', method: 'DELETE', ok: false, preflight: true },
  { name: 'a preflight answered with a redirect', path: '/preflight-redirect', method: 'PUT', ok: false, preflight: true },
  { name: 'Access-Control-Allow-Headers: * and a custom header', path: '/any-header', headers: { 'x-debug': '1' }, ok: true, preflight: true },
  {
    name: 'Access-Control-Allow-Headers: * and Authorization',
    path: '/any-header',
    headers: { authorization: 'Bearer t' },
    ok: false,
    preflight: true,
    browsers: { Chromium: true, Firefox: true },
  },
  { name: 'lower-case patch against PATCH', path: '/patch', method: 'patch', ok: false, preflight: true },
  { name: 'upper-case PATCH', path: '/patch', method: 'PATCH', ok: true, preflight: true },
  { name: 'a JSON POST whose content-type is allowed', path: '/json', method: 'POST', headers: { 'content-type': 'application/json' }, ok: true, preflight: true },
  { name: 'a header the preflight does not allow', path: '/json', method: 'POST', headers: { 'content-type': 'application/json', 'x-debug': '1' }, ok: false, preflight: true },
  { name: 'a text/plain POST needs no preflight', path: '/json', method: 'POST', headers: { 'content-type': 'text/plain' }, ok: true, preflight: false },
  { name: 'exposed and hidden response headers', path: '/exposed', ok: true, preflight: false },
  { name: 'a redirect to a correct response', path: '/redirect-ok', ok: true, preflight: false },
  { name: 'a redirect to a response without Access-Control-Allow-Origin', path: '/redirect-no-acao', ok: false, preflight: false },
  { name: 'a redirect without Access-Control-Allow-Origin', path: '/redirect-bare', ok: false, preflight: false },
  { name: 'a redirect to another origin that allows null', path: '/redirect-elsewhere', ok: true, preflight: false },
  { name: 'a redirect to another origin that allows only the page', path: '/redirect-elsewhere-page', ok: false, preflight: false },
]
