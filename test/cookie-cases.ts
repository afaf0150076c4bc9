// The cookie cases: what a page's credentialed fetch() meets, measured in Chromium and Firefox by
// test/browser/cookies.ts, judged by the cookie model (lib/tools/browser/cookies.ts), and summed up in
// docs/cookies.md (its tables are rendered here; test/unit/cookie-docs.test.ts keeps them in step).
// Each batch is one fetch() from a page to an API that answers with several Set-Cookie lines, one
// per case; `NAME` in a line is replaced by a name unique to the case.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { judgeSetCookie, type CookieEngine, type CookieSource, type CookieVerdict } from '../lib/tools/browser/cookies.ts'

/** How the cookie reaches the page. */
export type Via =
  /** On the answer to the fetch, which the CORS check allows. */
  | 'response'
  /** On an answer the CORS check refuses (no Access-Control-Allow-Origin). */
  | 'refused'
  /** On a preflight's answer (the fetch is a PUT). */
  | 'preflight'
  /** On a 302 the fetch follows (to an answer without cookies). */
  | 'redirect'
  /** On a 302 the CORS check refuses. */
  | 'refused-redirect'

export interface CookieBatch {
  /** What the batch shows, e.g. `https, cross-site`. */
  title: string
  /** The page's scheme and host; the page server's port is added. */
  page: string
  /** The API's scheme and host; the API server's port is added. */
  api: string
  via: Via
  /** The fetch's credentials mode. */
  credentials: 'include' | 'same-origin' | 'omit'
  /** The path of the first URL (the query holds the cookies). */
  path: string
  cases: Array<{ label: string, line: string }>
  /** Also checked through `fastify-cors-policy check` (localhost and 127.0.0.1 only: the command resolves names itself). */
  cli: boolean
}

const SAME_SITE = ['', '; SameSite=Strict', '; SameSite=Lax', '; SameSite=None']
const NAME_LENGTH = 7

function batch (title: string, page: string, api: string, lines: Array<[label: string, line: string]>, options: Partial<Pick<CookieBatch, 'via' | 'credentials' | 'path' | 'cli'>> = {}): CookieBatch {
  return {
    title,
    page,
    api,
    via: options.via ?? 'response',
    credentials: options.credentials ?? 'include',
    path: options.path ?? '/set',
    cases: lines.map(([label, line]) => ({ label, line })),
    cli: options.cli ?? false,
  }
}

/** SameSite (absent, Strict, Lax, None) × Secure (no, yes), and SameSite=None; Secure; Partitioned. */
function matrix (title: string, page: string, api: string, cli = false): CookieBatch[] {
  const lines = (sameSite: string): Array<[string, string]> => [
    [`${sameSite.slice(2) || 'no SameSite'}`, `NAME=1${sameSite}`],
    [`${sameSite.slice(2) || 'no SameSite'}; Secure`, `NAME=1${sameSite}; Secure`],
    ...(sameSite === '; SameSite=None' ? [['SameSite=None; Secure; Partitioned', 'NAME=1; SameSite=None; Secure; Partitioned'] as [string, string]] : []),
  ]
  // Through the command, one batch (one call) per SameSite value.
  return cli
    ? SAME_SITE.map((sameSite) => batch(title, page, api, lines(sameSite), { cli }))
    : [batch(title, page, api, SAME_SITE.flatMap(lines))]
}

const HTTP_PAGE = 'http://app.example.test'
const HTTPS_PAGE = 'https://app.example.test'
const SAME = 'https://api.example.test'
const CROSS = 'https://api.other.test'

export const COOKIE_BATCHES: CookieBatch[] = [
  ...matrix('http, same-site', HTTP_PAGE, 'http://api.example.test'),
  ...matrix('http, cross-site', HTTP_PAGE, 'http://api.other.test'),
  ...matrix('https, same-site', HTTPS_PAGE, SAME),
  ...matrix('https, cross-site', HTTPS_PAGE, CROSS),
  ...matrix('http page, https API on its registrable domain', HTTP_PAGE, SAME),
  ...matrix('two names under a private public suffix (github.io)', 'https://alice.github.io', 'https://bob.github.io'),
  ...matrix('http, localhost → 127.0.0.1', 'http://localhost', 'http://127.0.0.1', true),
  ...matrix('http, localhost → localhost (another port)', 'http://localhost', 'http://localhost', true),
  ...matrix('http, 127.0.0.1 → 127.0.0.1 (another port)', 'http://127.0.0.1', 'http://127.0.0.1'),
  ...matrix('https, localhost → 127.0.0.1', 'https://localhost', 'https://127.0.0.1', true),
  ...matrix('https, localhost → localhost (another port)', 'https://localhost', 'https://localhost', true),
  ...matrix('http://localhost page, https://localhost API', 'http://localhost', 'https://localhost', true),
  batch('a response the CORS check refuses, same-site', HTTPS_PAGE, SAME, [['SameSite=Lax; Secure', 'NAME=1; SameSite=Lax; Secure']], { via: 'refused' }),
  batch('a response the CORS check refuses, cross-site', HTTPS_PAGE, CROSS, [
    ['SameSite=None; Secure', 'NAME=1; SameSite=None; Secure'],
    ['SameSite=None; Secure; Partitioned', 'NAME=1; SameSite=None; Secure; Partitioned'],
  ], { via: 'refused' }),
  batch('a response the CORS check refuses, localhost → 127.0.0.1', 'http://localhost', 'http://127.0.0.1', [['SameSite=None; Secure', 'NAME=1; SameSite=None; Secure']], { via: 'refused', cli: true }),
  batch('a preflight\'s answer', HTTPS_PAGE, SAME, [
    ['SameSite=None; Secure', 'NAME=1; SameSite=None; Secure'],
    ['SameSite=Lax', 'NAME=1; SameSite=Lax'],
  ], { via: 'preflight' }),
  batch('a preflight\'s answer, localhost → localhost', 'http://localhost', 'http://localhost', [['SameSite=Lax', 'NAME=1; SameSite=Lax']], { via: 'preflight', cli: true }),
  batch('a redirect followed, same-site', HTTPS_PAGE, SAME, [['SameSite=Lax; Secure', 'NAME=1; SameSite=Lax; Secure']], { via: 'redirect', path: '/hop' }),
  batch('a redirect followed, cross-site', HTTPS_PAGE, CROSS, [
    ['SameSite=None; Secure', 'NAME=1; SameSite=None; Secure'],
    ['SameSite=None; Secure; Partitioned', 'NAME=1; SameSite=None; Secure; Partitioned'],
  ], { via: 'redirect', path: '/hop' }),
  batch('a redirect followed, localhost → localhost', 'http://localhost', 'http://localhost', [['SameSite=Lax', 'NAME=1; SameSite=Lax']], { via: 'redirect', path: '/hop', cli: true }),
  batch('a redirect the CORS check refuses', HTTPS_PAGE, SAME, [['SameSite=Lax; Secure', 'NAME=1; SameSite=Lax; Secure']], { via: 'refused-redirect', path: '/hop' }),
  batch('Domain', HTTPS_PAGE, SAME, [
    ['Domain=example.test (the API\'s registrable domain)', 'NAME=1; SameSite=Lax; Domain=example.test'],
    ['Domain=.example.test (a leading dot is ignored)', 'NAME=1; SameSite=Lax; Domain=.example.test'],
    ['Domain=API.example.test (the host, in capitals)', 'NAME=1; SameSite=Lax; Domain=API.example.test'],
    ['Domain=app.example.test (a sibling, the page\'s host)', 'NAME=1; SameSite=Lax; Domain=app.example.test'],
    ['Domain=other.test (another site)', 'NAME=1; SameSite=Lax; Domain=other.test'],
    ['Domain=test (a public suffix)', 'NAME=1; SameSite=Lax; Domain=test'],
  ]),
  batch('Domain on a private public suffix', 'https://alice.github.io', 'https://bob.github.io', [['Domain=github.io', 'NAME=1; SameSite=None; Secure; Domain=github.io']]),
  batch('Domain on an IP address', 'http://127.0.0.1', 'http://127.0.0.1', [
    ['Domain=127.0.0.1 (the host)', 'NAME=1; SameSite=Lax; Domain=127.0.0.1'],
    ['Domain=0.0.1', 'NAME=1; SameSite=Lax; Domain=0.0.1'],
  ]),
  batch('Domain=localhost', 'http://localhost', 'http://localhost', [['Domain=localhost', 'NAME=1; SameSite=Lax; Domain=localhost']], { cli: true }),
  batch('prefixes', HTTPS_PAGE, SAME, [
    ['__Host-: Secure; Path=/', '__Host-NAME=1; Secure; Path=/; SameSite=Lax'],
    ['__Host- with Domain', '__Host-NAME=1; Secure; Path=/; Domain=api.example.test; SameSite=Lax'],
    ['__Host- without Path (default path /)', '__Host-NAME=1; Secure; SameSite=Lax'],
    ['__Host- with Path=/a', '__Host-NAME=1; Secure; Path=/a; SameSite=Lax'],
    ['__Host- without Secure', '__Host-NAME=1; Path=/; SameSite=Lax'],
    ['__host- (lower case) without Secure', '__host-NAME=1; Path=/; SameSite=Lax'],
    ['__Secure-: Secure', '__Secure-NAME=1; Secure; SameSite=Lax'],
    ['__Secure- without Secure', '__Secure-NAME=1; SameSite=Lax'],
    ['__SECURE- (upper case) without Secure', '__SECURE-NAME=1; SameSite=Lax'],
  ]),
  batch('__Host- without Path, default path /deep', HTTPS_PAGE, SAME, [['__Host- without Path (default path /deep)', '__Host-NAME=1; Secure; SameSite=Lax']], { path: '/deep/set' }),
  batch('prefixes over http', HTTP_PAGE, 'http://api.example.test', [['__Secure-: Secure over http', '__Secure-NAME=1; Secure; SameSite=Lax']]),
  batch('prefixes on localhost', 'http://localhost', 'http://localhost', [['__Host-: Secure; Path=/ over http://localhost', '__Host-NAME=1; Secure; Path=/; SameSite=Lax']], { cli: true }),
  batch('prefixes, cross-site', HTTPS_PAGE, CROSS, [['__Host-: Secure; Path=/; SameSite=None', '__Host-NAME=1; Secure; Path=/; SameSite=None']]),
  batch('Partitioned, same-site', HTTPS_PAGE, SAME, [
    ['Partitioned; SameSite=Lax; Secure', 'NAME=1; Path=/; SameSite=Lax; Secure; Partitioned'],
    ['Partitioned without Secure', 'NAME=1; Path=/; SameSite=Lax; Partitioned'],
  ]),
  batch('Partitioned, cross-site', HTTPS_PAGE, CROSS, [
    ['Partitioned; SameSite=Lax; Secure', 'NAME=1; Path=/; SameSite=Lax; Secure; Partitioned'],
    ['Partitioned; Secure (no SameSite)', 'NAME=1; Path=/; Secure; Partitioned'],
    ['Partitioned; SameSite=None (no Secure)', 'NAME=1; Path=/; SameSite=None; Partitioned'],
  ]),
  batch('Partitioned, cross-site over http', HTTP_PAGE, 'http://api.other.test', [['Partitioned (no Secure, no SameSite)', 'NAME=1; Path=/; Partitioned']]),
  batch('without credentials: \'include\' (same-origin, the default)', HTTPS_PAGE, SAME, [
    ['SameSite=None; Secure', 'NAME=1; SameSite=None; Secure'],
    ['SameSite=Lax', 'NAME=1; SameSite=Lax'],
  ], { credentials: 'same-origin' }),
  batch('with credentials: \'omit\'', HTTPS_PAGE, SAME, [['SameSite=Lax', 'NAME=1; SameSite=Lax']], { credentials: 'omit' }),
  batch('without credentials, localhost → localhost', 'http://localhost', 'http://localhost', [['SameSite=Lax', 'NAME=1; SameSite=Lax']], { credentials: 'same-origin', cli: true }),
  batch('Path, expiry, size, unknown SameSite', HTTPS_PAGE, SAME, [
    ['Path=/other (not the path called)', 'NAME=1; SameSite=Lax; Path=/other'],
    ['Max-Age=0', 'NAME=1; SameSite=Lax; Max-Age=0'],
    ['Max-Age=-1', 'NAME=1; SameSite=Lax; Max-Age=-1'],
    ['Expires in the past', 'NAME=1; SameSite=Lax; Expires=Thu, 01 Jan 1970 00:00:00 GMT'],
    ['Max-Age=60 and an Expires in the past (Max-Age wins)', 'NAME=1; SameSite=Lax; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=60'],
    ['name and value of 4096 bytes', `NAME=${'v'.repeat(4096 - NAME_LENGTH)}; SameSite=Lax`],
    ['name and value of 4097 bytes', `NAME=${'v'.repeat(4097 - NAME_LENGTH)}; SameSite=Lax`],
    ['SameSite=Bogus (an unknown value)', 'NAME=1; SameSite=Bogus; Secure'],
  ]),
  batch('an unknown SameSite value, cross-site', HTTPS_PAGE, CROSS, [['SameSite=Bogus; Secure', 'NAME=1; SameSite=Bogus; Secure']]),
]

/** A case's cookie name: `c`, the batch, `x`, the case; NAME_LENGTH characters (the size cases count on it). */
export function cookieName (batchIndex: number, caseIndex: number): string {
  return `c${String(batchIndex).padStart(3, '0')}x${String(caseIndex).padStart(2, '0')}`
}

/** The name of a case's cookie as its Set-Cookie line has it (a prefix included). */
export function caseCookieName (batchIndex: number, caseIndex: number): string {
  return cookieLine(batchIndex, caseIndex).split('=')[0]!
}

/** The Set-Cookie line of a case, its name filled in. */
export function cookieLine (batchIndex: number, caseIndex: number): string {
  return COOKIE_BATCHES[batchIndex]!.cases[caseIndex]!.line.replace('NAME', cookieName(batchIndex, caseIndex))
}

/** The page and API origins of a batch, with the servers' ports. */
export interface Ports { pageHttp: number, pageHttps: number, apiHttp: number, apiHttps: number }

export function withPort (base: string, role: 'page' | 'api', ports: Ports): string {
  const https = base.startsWith('https:')
  const port = role === 'page' ? (https ? ports.pageHttps : ports.pageHttp) : (https ? ports.apiHttps : ports.apiHttp)
  return `${base}:${port}`
}

/** The first URL a batch fetches: its path, and the cookies in the query. */
export function batchUrl (batchIndex: number, ports: Ports): string {
  const b = COOKIE_BATCHES[batchIndex]!
  const lines = b.cases.map((_c, i) => cookieLine(batchIndex, i))
  const query = new URLSearchParams({ c: JSON.stringify(lines), via: b.via })
  return `${withPort(b.api, 'api', ports)}${b.path}?${query}`
}

/** What the model says of one case: the source as the browser met it. */
export function modelVerdicts (batchIndex: number, caseIndex: number, ports: Ports): Record<CookieEngine, CookieVerdict> {
  const b = COOKIE_BATCHES[batchIndex]!
  const first = new URL(batchUrl(batchIndex, ports))
  const source: CookieSource = {
    page: withPort(b.page, 'page', ports),
    url: first,
    from: b.via === 'preflight' ? 'preflight' : b.via === 'redirect' || b.via === 'refused-redirect' ? 'redirect' : 'response',
    credentials: b.credentials === 'include',
    refused: b.via === 'refused' || b.via === 'refused-redirect',
    later: first,
  }
  return judgeSetCookie(cookieLine(batchIndex, caseIndex), source)!.engines
}

/**
 * The API of the cookie cases, a plain node:http(s) server: answers any path with the Set-Cookie
 * lines of its query (`c`), in the way its `via` says; with `echo=1`, and on a path ending in
 * /visit, with the Cookie header it received instead. Every answer the CORS check is meant to
 * allow echoes the request's Origin, with Access-Control-Allow-Credentials: true.
 */
export function cookieApiHandler (request: IncomingMessage, response: ServerResponse): void {
  const url = new URL(request.url ?? '/', 'http://api')
  const origin = request.headers.origin
  const cors: Record<string, string> = origin === undefined ? {} : { 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true' }
  const cookies = JSON.parse(url.searchParams.get('c') ?? '[]') as string[]
  const via = url.searchParams.get('via')
  if (url.searchParams.get('echo') === '1' || url.pathname.endsWith('/visit')) {
    response.writeHead(200, { ...cors, 'content-type': 'text/plain' })
    response.end(request.headers.cookie ?? '')
    return
  }
  if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) {
    response.writeHead(204, { ...cors, 'access-control-allow-methods': 'PUT', 'set-cookie': via === 'preflight' ? cookies : [] })
    response.end()
    return
  }
  if (via === 'redirect' || via === 'refused-redirect') {
    const next = new URL(url)
    next.searchParams.set('c', '[]')
    next.searchParams.set('via', 'response')
    response.writeHead(302, { ...(via === 'redirect' ? cors : {}), location: next.pathname + next.search, 'set-cookie': cookies })
    response.end()
    return
  }
  response.writeHead(200, { ...(via === 'refused' ? {} : cors), 'content-type': 'text/plain', 'set-cookie': via === 'preflight' ? [] : cookies })
  response.end('set')
}

const PAGE = '<!doctype html><meta charset="utf-8"><title>cookies</title>'

/** The page server: a blank page on every name. */
function pageHandler (_request: IncomingMessage, response: ServerResponse): void {
  response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
  response.end(PAGE)
}

/** The page and API servers, over http and https (the certificate given), on 127.0.0.1. */
export async function startCookieServers (tls: { cert: string, key: string }): Promise<{ ports: Ports, close: () => Promise<void> }> {
  const servers = [
    createHttpServer(pageHandler), createHttpsServer(tls, pageHandler),
    createHttpServer(cookieApiHandler), createHttpsServer(tls, cookieApiHandler),
  ]
  const ports = await Promise.all(servers.map((server) => new Promise<number>((resolve) => {
    server.keepAliveTimeout = 100
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port))
  })))
  return {
    ports: { pageHttp: ports[0]!, pageHttps: ports[1]!, apiHttp: ports[2]!, apiHttps: ports[3]! },
    close: async () => {
      await Promise.all(servers.map((server) => new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })))
    },
  }
}

/** Ports for judging the cases outside the browser suite (the verdicts do not depend on them). */
export const DOC_PORTS: Ports = { pageHttp: 3000, pageHttps: 3443, apiHttp: 3001, apiHttps: 3444 }

function verdictCell (verdict: CookieVerdict): string {
  if (!verdict.stored) return 'not stored'
  return `stored, ${verdict.sentBack ? 'sent back' : 'not sent back'}${verdict.partitioned ? ', partitioned' : ''}`
}

function pair (b: CookieBatch): string {
  const [page, api] = [new URL(b.page), new URL(b.api)]
  const same = page.protocol === api.protocol && page.hostname === api.hostname
  return `${b.page} → ${same ? 'another port' : b.api}`
}

/**
 * The "where browsers differ" table of docs/cookies.md: every case where the model's verdict for
 * Chromium is not the one for Firefox (each verdict held to its engine by test/browser/cookies.ts).
 */
export function differencesTable (): string {
  const rows = ['| case | page → API | Chromium 156 | Firefox 153 ESR |', '|---|---|---|---|']
  COOKIE_BATCHES.forEach((b, batchIndex) => b.cases.forEach((c, caseIndex) => {
    const { chromium, firefox } = modelVerdicts(batchIndex, caseIndex, DOC_PORTS)
    const [left, right] = [verdictCell(chromium), verdictCell(firefox)]
    if (left !== right) rows.push(`| ${b.title}: \`${c.label}\`${b.via === 'response' ? '' : ` (${b.via})`} | ${pair(b)} | ${left} | ${right} |`)
  }))
  return rows.join('\n')
}

/** How many cases the suite measures, and how many of them differ between the engines. */
export function caseCounts (): { cases: number, differ: number } {
  let cases = 0
  let differ = 0
  COOKIE_BATCHES.forEach((b, batchIndex) => b.cases.forEach((_c, caseIndex) => {
    const { chromium, firefox } = modelVerdicts(batchIndex, caseIndex, DOC_PORTS)
    cases++
    if (verdictCell(chromium) !== verdictCell(firefox)) differ++
  }))
  return { cases, differ }
}
