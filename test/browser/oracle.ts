// corsCheck (fastify-cors-policy/testing) plays the browser's part with inject. This file holds it to
// the real thing: each case runs as a fetch() in each engine (Chromium, Firefox) and through corsCheck
// against the same app. Where the engine follows the Fetch standard they must agree on whether the
// page could read the response, which headers it could read, what it read, and (for redirects) which
// requests reached the API. Where an engine departs from the standard, corsCheck follows the standard
// and says so: those cases assert all three (the standard's answer, the note, and what each engine
// measurably does). docs/browser-differences.md is this file's summary.
import Fastify from 'fastify'
import type { AddressInfo } from 'node:net'
import cors from '../../lib/index.ts'
import { corsCheck, type CorsCheckRequest } from '../../lib/testing.ts'
import type { Test } from 'tap'
import { BLOCKED, openPage, pageFetch, startPageServer, type EngineName, type Engine } from './harness.ts'

/**
 * What each engine measurably does where the engines, or an engine and the Fetch standard, part
 * ways: asserted below (the Max-Age cases are in conformance.ts). The table of
 * docs/browser-differences.md is this one.
 */
const MEASURED: Record<EngineName, { starCoversAuthorization: boolean, safelistsClientHints: boolean, preflightsGetAfter303: boolean }> = {
  // The standard: false, false, false.
  Chromium: { starCoversAuthorization: true, safelistsClientHints: true, preflightsGetAfter303: false },
  // Firefox's `*` covers Authorization while its pref network.cors_preflight.authorization_covered_by_wildcard is true (the default).
  Firefox: { starCoversAuthorization: true, safelistsClientHints: false, preflightsGetAfter303: true },
}

export async function oracle (t: Test, engine: Engine): Promise<void> {
  const { name: ENGINE } = engine
  const measured = MEASURED[ENGINE]
  const { origin: PAGE, otherOrigin: OTHER } = await startPageServer(t)
  const pages = { [PAGE]: await openPage(engine, PAGE), [OTHER]: await openPage(engine, OTHER) }

  const app = Fastify()
  // What reached the API, preflights included (this hook is added before the plugin).
  const seen: string[] = []
  app.addHook('onRequest', async (request) => {
    const acrm = request.headers['access-control-request-method']
    const acrh = request.headers['access-control-request-headers']
    seen.push(`${request.method} ${request.url.split('?')[0]} origin=${request.headers.origin ?? '-'}` +
      (acrm === undefined ? '' : ` acrm=${String(acrm)} acrh=${acrh ?? '-'}`))
  })
  await app.register(cors, {
    policies: {
      mine: { origins: [PAGE] },
      credentialed: { origins: [PAGE], credentials: true, allowHeaders: ['content-type', 'authorization'], exposeHeaders: ['x-id'] },
      public: { origins: '*', exposeHeaders: ['x-id'] },
      anyHeader: { origins: [PAGE], allowHeaders: ['*'] },
    },
  })
  const withHeaders = async (_request: unknown, reply: { header: (n: string, v: string) => unknown, send: (b: string) => unknown }) => {
    reply.header('x-id', 'id-1')
    reply.header('x-hidden', 'h-1')
    return reply.send('ok')
  }
  let API = ''
  let API_ELSEWHERE = ''
  app.get('/o/simple', { config: { cors: 'mine' } }, async () => 'simple')
  app.get('/o/public', { config: { cors: 'public' } }, withHeaders)
  app.post('/o/json', { config: { cors: 'credentialed' } }, withHeaders)
  app.put('/o/put', { config: { cors: 'mine' } }, async () => 'put')
  app.patch('/o/patch', { config: { cors: 'mine' } }, async () => 'patch')
  app.delete('/o/any', { config: { cors: 'anyHeader' } }, async () => 'deleted')
  app.get('/o/off', { config: { cors: false } }, async () => 'off')
  app.get('/o/exposed', { config: { cors: 'credentialed' } }, withHeaders)
  app.get('/o/error', { config: { cors: 'mine' } }, async () => { throw new Error('boom') })
  app.get('/o/hints', { config: { cors: 'mine' } }, async () => 'hints')
  app.put('/o/put-hint', { config: { cors: 'mine' } }, async () => 'put')
  // Responses the plugin never sends, written by hand on routes it leaves alone.
  app.get('/o/cookie', { config: { cors: false } }, async (_request, reply) => reply.headers({
    'access-control-allow-origin': PAGE,
    'access-control-allow-credentials': 'true',
    'access-control-expose-headers': 'set-cookie, x-id',
    'set-cookie': 'oracle=1; Path=/o/cookie',
    'x-id': 'id-1',
  }).send('cookie'))
  app.route({
    method: ['OPTIONS', 'GET'],
    url: '/o/star',
    config: { cors: false },
    handler: async (request, reply) => {
      const credentialed = (request.query as Record<string, string>).credentials === '1'
      return reply.code(request.method === 'OPTIONS' ? 204 : 200).headers({
        'access-control-allow-origin': PAGE,
        'access-control-allow-headers': '*',
        ...(credentialed ? { 'access-control-allow-credentials': 'true' } : {}),
      }).send(request.method === 'OPTIONS' ? undefined : String(request.headers.authorization))
    },
  })
  app.route({
    method: ['OPTIONS', 'PUT'],
    url: '/o/preflight-redirect',
    config: { cors: false },
    handler: async (_request, reply) => reply.code(307).headers({ 'access-control-allow-origin': PAGE, location: '/o/put' }).send(),
  })
  // Redirects: the plugin puts its CORS headers on them like on any response.
  app.get('/o/to-simple', { config: { cors: 'mine' } }, async (_request, reply) => reply.redirect('/o/simple'))
  app.get('/o/to-simple-absolute', { config: { cors: 'mine' } }, async (_request, reply) => reply.redirect(`${API}/o/simple`))
  app.get('/o/to-off', { config: { cors: 'mine' } }, async (_request, reply) => reply.redirect('/o/off'))
  app.get('/o/off-to-simple', { config: { cors: false } }, async (_request, reply) => reply.redirect('/o/simple'))
  app.post('/o/see-other', { config: { cors: 'credentialed' } }, async (_request, reply) => reply.redirect('/o/exposed', 303))
  app.put('/o/put-again', { config: { cors: 'mine' } }, async (_request, reply) => reply.redirect('/o/put-target', 307))
  app.put('/o/put-target', { config: { cors: 'mine' } }, async (request) => `put ${String(request.body)}`)
  app.get('/o/loop/:n', { config: { cors: 'mine' } }, async (request, reply) => reply.redirect(`/o/loop/${Number((request.params as { n: string }).n) + 1}`))
  app.get('/o/to-elsewhere', { config: { cors: 'mine' } }, async (_request, reply) => reply.redirect(`${API_ELSEWHERE}/o/public`))
  app.get('/o/to-data', { config: { cors: 'mine' } }, async (_request, reply) => reply.redirect('data:text/plain,hi'))
  app.get('/o/to-credentials', { config: { cors: 'mine' } }, async (_request, reply) => reply.redirect(API.replace('//', '//user:pw@') + '/o/simple'))
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const port = (app.server.address() as AddressInfo).port
  API = `http://localhost:${port}`
  API_ELSEWHERE = `http://127.0.0.1:${port}`

  type Request = Omit<CorsCheckRequest, 'origin' | 'apiOrigin'>
  /** One case both ways: what the engine's page saw (and which requests it made), and what corsCheck says (and which requests it made). */
  const both = async (origin: string, request: Request) => {
    const init: Record<string, unknown> = { method: request.method ?? 'GET', headers: request.headers ?? {} }
    if (request.body !== undefined) init.body = request.body
    if (request.credentials === true) init.credentials = 'include'
    let start = seen.length
    const browser = await pageFetch(pages[origin]!, API + request.url, init, read)
    const browserTrace = seen.slice(start)
    start = seen.length
    const oracle = await corsCheck(app, { ...request, origin, apiOrigin: API })
    return { browser, browserTrace, oracle, oracleTrace: seen.slice(start) }
  }

  type Case = [name: string, page: string, request: Request, sameRequests?: 'same requests']
  const json = { 'content-type': 'application/json' }
  const cases: Case[] = [
    ['simple GET from the listed origin', PAGE, { url: '/o/simple' }],
    ['simple GET from another origin', OTHER, { url: '/o/simple' }],
    ['public GET', OTHER, { url: '/o/public' }],
    ['public GET with credentials', PAGE, { url: '/o/public', credentials: true }],
    ['JSON POST, no credentials', PAGE, { method: 'POST', url: '/o/json', headers: json, body: '{}' }],
    ['JSON POST with credentials', PAGE, { method: 'POST', url: '/o/json', headers: json, body: '{}', credentials: true }],
    ['text/plain POST is simple', OTHER, { method: 'POST', url: '/o/json', headers: { 'content-type': 'text/plain' }, body: 'x' }],
    ['POST with authorization, listed', PAGE, { method: 'POST', url: '/o/json', headers: { authorization: 'Bearer t' }, credentials: true }],
    ['PUT from the listed origin', PAGE, { method: 'PUT', url: '/o/put' }],
    ['PUT from another origin', OTHER, { method: 'PUT', url: '/o/put' }],
    ['PATCH in upper case', PAGE, { method: 'PATCH', url: '/o/patch' }],
    ['patch in lower case is sent as written', PAGE, { method: 'patch', url: '/o/patch' }],
    ['DELETE with a custom header under *', PAGE, { method: 'DELETE', url: '/o/any', headers: { 'x-custom': '1' } }],
    ['DELETE with authorization under the plugin\'s *', PAGE, { method: 'DELETE', url: '/o/any', headers: { authorization: 'Bearer t' } }],
    ['a route with CORS off', PAGE, { url: '/o/off' }],
    ['exposed and hidden headers', PAGE, { url: '/o/exposed', credentials: true }],
    ['a safelisted request header', PAGE, { url: '/o/simple', headers: { 'accept-language': 'en-US' } }],
    ['a custom request header on a simple route', PAGE, { url: '/o/simple', headers: { 'x-custom': '1' } }],
    ['a 500 from an allowed origin', PAGE, { url: '/o/error' }],
    ['a 404 from an allowed origin on a path without a default', PAGE, { url: '/o/nowhere' }],
    ['set-cookie, even listed in Access-Control-Expose-Headers, is never readable', PAGE, { url: '/o/cookie', credentials: true }],
    ['authorization under a literal * with credentials', PAGE, { url: '/o/star?credentials=1', headers: { authorization: 'Bearer t' }, credentials: true }],
    ['a redirect to an allowed route', PAGE, { url: '/o/to-simple' }, 'same requests'],
    ['a redirect to an absolute URL on the same origin', PAGE, { url: '/o/to-simple-absolute' }, 'same requests'],
    ['a redirect to a route with CORS off', PAGE, { url: '/o/to-off' }, 'same requests'],
    ['a redirect without CORS headers is not followed', PAGE, { url: '/o/off-to-simple' }, 'same requests'],
    ['a redirect from another origin', OTHER, { url: '/o/to-simple' }, 'same requests'],
    ['303 after a JSON POST: a GET without body or preflight', PAGE, { method: 'POST', url: '/o/see-other', headers: json, body: '{}', credentials: true }, 'same requests'],
    ['307 after a PUT: the same PUT, preflighted again', PAGE, { method: 'PUT', url: '/o/put-again', headers: { 'content-type': 'text/plain' }, body: 'b' }, 'same requests'],
    ['a redirect loop: 20 redirects followed, the 21st fails', PAGE, { url: '/o/loop/0' }, 'same requests'],
    ['a redirect answered to a preflight', PAGE, { method: 'PUT', url: '/o/preflight-redirect' }, 'same requests'],
    ['a redirect to a data: URL', PAGE, { url: '/o/to-data' }, 'same requests'],
    ['a redirect to a URL with credentials', PAGE, { url: '/o/to-credentials' }, 'same requests'],
  ]
  const read = ['x-id', 'x-hidden', 'content-type', 'set-cookie']

  const results = new Map<string, Awaited<ReturnType<typeof both>>>()
  // Firefox preflights the GET that follows a 303 after a preflighted request; the standard, Chromium and corsCheck do not.
  const see303Preflight = `OPTIONS /o/exposed origin=${PAGE} acrm=GET acrh=-`
  const FIREFOX_303 = 'Firefox preflights the GET that follows a 303 answering a preflighted request, which the Fetch standard does not: ' +
    'the server must also answer that preflight (OPTIONS with Access-Control-Request-Method: GET).'

  t.test(`${ENGINE}: ${ENGINE} and corsCheck agree on every case`, async (t) => {
    for (const [name, origin, request, sameRequests] of cases) {
      const result = await both(origin, request)
      results.set(request.url, result)
      const { browser, browserTrace, oracle, oracleTrace } = result
      t.equal(oracle.ok, browser.ok, `${name}: corsCheck says ${oracle.ok ? 'readable' : `refused (${oracle.reason})`}, ${ENGINE} ${browser.ok ? 'read it' : 'refused it'}`)
      t.same(oracle.browserDifferences, request.url === '/o/see-other' ? [FIREFOX_303] : [], `${name}: ${request.url === '/o/see-other' ? 'Firefox\'s extra preflight noted' : 'no browser difference noted'}`)
      if (browser.ok && oracle.ok) {
        t.same([oracle.response?.statusCode, oracle.response?.body], [browser.status, browser.body], `${name}: the same final response`)
        for (const header of read) {
          t.equal(oracle.exposedHeaders.includes(header) && oracle.response?.headers[header] !== undefined, browser.headers?.[header] != null, `${name}: ${header} readable by both or by neither`)
        }
      }
      if (sameRequests !== undefined) {
        const extra = request.url === '/o/see-other' && measured.preflightsGetAfter303 ? [see303Preflight] : []
        t.same(browserTrace, [...oracleTrace.slice(0, 2), ...extra, ...oracleTrace.slice(2)], `${name}: the same requests reached the API${extra.length > 0 ? ', and one preflight more' : ''}`)
      }
    }
  })

  t.test(`${ENGINE}: the redirects corsCheck reports are the ones ${ENGINE} followed`, async (t) => {
    // From the cases above: a second run could meet the preflight cache.
    const loop = results.get('/o/loop/0')!
    t.equal(loop.browserTrace.length, 21, `${ENGINE} made 21 requests`)
    t.equal(loop.oracle.redirects.length, 21)
    t.match(loop.oracle.reason, /one more than the 20 that fetch follows/)
    const seeOther = results.get('/o/see-other')!
    t.same(seeOther.oracle.redirects, [{ method: 'POST', url: `${API}/o/see-other`, status: 303, location: `${API}/o/exposed` }])
    t.same(seeOther.browserTrace, [
      `OPTIONS /o/see-other origin=${PAGE} acrm=POST acrh=content-type`,
      `POST /o/see-other origin=${PAGE}`,
      ...(measured.preflightsGetAfter303 ? [see303Preflight] : []),
      `GET /o/exposed origin=${PAGE}`,
    ], measured.preflightsGetAfter303
      ? `${ENGINE} preflights the GET after the 303, with no header to ask for`
      : `${ENGINE} sends the GET after the 303 without a preflight, as the standard does`)
  })

  t.test(`${ENGINE}: a redirect to another origin: corsCheck cannot follow it and says so; ${ENGINE} follows it with Origin: null`, async (t) => {
    const { browser, browserTrace, oracle } = await both(PAGE, { url: '/o/to-elsewhere' })
    t.equal(oracle.ok, false, 'never ok on a response corsCheck did not see')
    t.match(oracle.reason, /another origin \(http:\/\/127\.0\.0\.1:\d+\), which corsCheck cannot follow/)
    t.match(oracle.reason, /A browser would follow it sending Origin: null/)
    t.same(browserTrace, [`GET /o/to-elsewhere origin=${PAGE}`, 'GET /o/public origin=null'], `${ENGINE} sends Origin: null past the cross-origin redirect`)
    t.same([browser.ok, browser.body], [true, 'ok'], 'and reads the public answer (Access-Control-Allow-Origin: *)')
  })

  t.test(`${ENGINE}: Access-Control-Allow-Headers: * and Authorization: corsCheck follows the standard and notes the difference; ${ENGINE} ${measured.starCoversAuthorization ? 'differs' : 'follows the standard'}`, async (t) => {
    const { browser, browserTrace, oracle } = await both(PAGE, { url: '/o/star', headers: { authorization: 'Bearer t', 'x-custom': '1' } })
    t.equal(oracle.ok, false, 'the Fetch standard: * never covers Authorization')
    t.match(oracle.reason, /authorization is not in the preflight's Access-Control-Allow-Headers \('\*' does not cover it\)/)
    t.same(oracle.browserDifferences, ['Chromium and Firefox let Access-Control-Allow-Headers: * cover Authorization, which the Fetch standard does not: both accept this preflight.'])
    if (measured.starCoversAuthorization) {
      t.same([browser.ok, browser.body], [true, 'Bearer t'], `${ENGINE} accepts the preflight and sends Authorization`)
      t.same(browserTrace.map((line) => line.split(' ')[0]), ['OPTIONS', 'GET'])
    } else {
      t.same(browser, BLOCKED, `${ENGINE} refuses the preflight`)
      t.same(browserTrace.map((line) => line.split(' ')[0]), ['OPTIONS'])
    }
    // With credentials, `*` is a header name like any other, in every engine and in the standard.
    const credentialed = await both(PAGE, { url: '/o/star?credentials=1', headers: { authorization: 'Bearer t' }, credentials: true })
    t.same([credentialed.oracle.ok, credentialed.oracle.browserDifferences, credentialed.browser], [false, [], BLOCKED], 'with credentials: refused by both')
  })

  t.test(`${ENGINE}: client-hint request headers: corsCheck preflights them as the standard says, and notes exactly those Chromium safelists; ${ENGINE} ${measured.safelistsClientHints ? 'safelists the same' : 'preflights them all'}`, async (t) => {
    const hints: Array<[string, string]> = [
      ['dpr', '2'], ['dpr', '1.5'], ['dpr', '1.'], ['dpr', 'abc'], ['dpr', '1'.repeat(129)], ['device-memory', '8'], ['device-memory', '0.25'],
      ['downlink', '1.5'], ['downlink', '-1'], ['rtt', '50'], ['rtt', '1.5'], ['viewport-width', '1024'], ['viewport-width', '1.5'],
      ['width', '100'], ['width', 'x'], ['ect', '4g'], ['ect', 'slow-2g'], ['ect', '4G'], ['ect', '5g'], ['save-data', 'on'], ['save-data', 'ON'], ['save-data', 'off'],
    ]
    let noted = 0
    for (const [name, value] of hints) {
      const label = `${name}: ${value.slice(0, 12)}`
      const { browser, browserTrace, oracle } = await both(PAGE, { url: '/o/hints', headers: { [name]: value } })
      t.same([oracle.ok, oracle.preflight.sent, oracle.preflight.status], [false, true, 403], `${label}: the standard preflights it, and the policy does not allow it`)
      const preflighted = browserTrace[0]!.startsWith('OPTIONS')
      const safelisted = oracle.browserDifferences.length === 1
      if (safelisted) {
        noted++
        t.match(oracle.browserDifferences[0], new RegExp(`^Chromium treats the request header ${name} as CORS-safelisted.*without a preflight`), `${label}: the note names Chromium`)
      }
      t.equal(!preflighted, measured.safelistsClientHints && safelisted, `${label}: ${ENGINE} ${measured.safelistsClientHints ? 'skips the preflight exactly when a difference is noted' : 'sends a preflight'}`)
      t.equal(browser.ok, !preflighted, `${label}: ${ENGINE} reads the response exactly when it skipped the preflight`)
    }
    t.equal(noted, 12, 'every well-formed value is noted')
    const put = await both(PAGE, { method: 'PUT', url: '/o/put-hint', headers: { dpr: '2' } })
    t.same(put.oracle.browserDifferences, [
      'Chromium treats the request header dpr as CORS-safelisted, which the Fetch standard does not: Chromium leaves it out of the preflight\'s Access-Control-Request-Headers.',
    ])
    t.equal(put.oracle.ok, false)
    if (measured.safelistsClientHints) {
      t.same(put.browserTrace, [`OPTIONS /o/put-hint origin=${PAGE} acrm=PUT acrh=-`, `PUT /o/put-hint origin=${PAGE}`], `${ENGINE} asks for PUT alone`)
      t.equal(put.browser.ok, true)
    } else {
      t.same(put.browserTrace, [`OPTIONS /o/put-hint origin=${PAGE} acrm=PUT acrh=dpr`], `${ENGINE} asks for dpr, which the policy refuses`)
      t.same(put.browser, BLOCKED)
    }
  })
}
