// What page scripts in real browsers (Chromium and Firefox) can and cannot do against routes using
// the plugin: each case asserts what the page saw (a readable response or a TypeError, readable or
// hidden headers) and what reached the API (whether a preflight came, how it was answered, whether
// the request followed). Every case runs in both engines, with the engine in its name.
import { setTimeout as sleep } from 'node:timers/promises'
import type { Test } from 'tap'
import { BLOCKED, openPage, pageFetch, pageXhr, sandboxFetch, startApi, startPageServer, type Engine } from './harness.ts'

export async function conformance (t: Test, engine: Engine): Promise<void> {
  const { name: ENGINE } = engine
  const { origin: PAGE, otherOrigin: OTHER, at } = await startPageServer(t)
  const page = await openPage(engine, PAGE)
  const other = await openPage(engine, OTHER)
  const mine = { origins: [PAGE] }
  const PAGE_PORT = new URL(PAGE).port

  const api = await startApi(t, {
    policies: {
      mine,
      other: { origins: [OTHER] },
      public: { origins: '*' },
      credentialed: { origins: [PAGE], credentials: true },
    },
  }, (app) => {
    app.get('/c1/simple', { config: { cors: 'mine' } }, async () => 'simple')

    app.post('/c2/json-allowed', { config: { cors: { origins: [PAGE], allowHeaders: ['content-type'] } } }, async (request) => request.body)
    app.post('/c2/json-refused', { config: { cors: 'mine' } }, async (request) => request.body)

    app.put('/c3/items/:id', { config: { cors: 'mine' } }, async () => 'put')
    app.delete('/c3/items/:id', { config: { cors: 'other' } }, async () => 'deleted')

    app.post('/c4/login', { config: { cors: 'credentialed' } }, async (_request, reply) => {
      reply.header('set-cookie', 'c4=chocolate; Path=/; SameSite=Lax; HttpOnly')
      return 'logged in'
    })
    app.get('/c4/me', { config: { cors: 'credentialed' } }, async (request) => request.headers.cookie ?? 'no cookie')
    app.get('/c4/public', { config: { cors: 'public' } }, async (request) => request.headers.cookie ?? 'no cookie')

    app.get('/c5/headers', { config: { cors: { origins: [PAGE], exposeHeaders: ['x-request-id'] } } }, async (_request, reply) => {
      reply.header('x-request-id', 'r-1').header('x-secret', 's-1')
      return 'headers'
    })

    app.put('/c6/max-age-600', { config: { cors: { origins: [PAGE], maxAge: 600 } } }, async () => 'put')
    app.put('/c6/no-max-age', { config: { cors: 'mine' } }, async () => 'put')
    app.put('/c6/max-age-2', { config: { cors: { origins: [PAGE], maxAge: 2 } } }, async () => 'put')
    app.put('/c6/max-age-0', { config: { cors: { origins: [PAGE], maxAge: 0 } } }, async () => 'put')

    app.patch('/c7/upper', { config: { cors: 'mine' } }, async () => 'patched')
    app.patch('/c7/lower', { config: { cors: 'mine' } }, async () => 'patched')

    app.get('/c8/listed', { config: { cors: { origins: [PAGE], allowHeaders: ['authorization'] } } }, async (request) => request.headers.authorization)
    app.get('/c8/star', { config: { cors: { origins: [PAGE], allowHeaders: ['*'] } } }, async (request) => request.headers.authorization ?? String(request.headers['x-custom']))

    app.get('/c9/missing', { config: { cors: 'mine' } }, async (_request, reply) => reply.code(404).send({ error: 'no such order' }))
    app.get('/c9/broken', { config: { cors: 'mine' } }, async () => { throw new Error('database down') })
    app.get('/c9/validated', {
      config: { cors: 'mine' },
      schema: { querystring: { type: 'object', properties: { n: { type: 'integer' } } } },
    }, async () => 'valid')

    app.get('/c10/private', { config: { cors: false } }, async () => 'private')
    app.put('/c10/private', { config: { cors: false } }, async () => 'private')
    app.get('/c10/mixed', { config: { cors: 'mine' } }, async () => 'mixed')
    app.delete('/c10/mixed', { config: { cors: false } }, async () => 'deleted')

    app.get('/c11/null-listed', { config: { cors: { origins: ['null'] } } }, async () => 'for null')
    app.get('/c11/page-only', { config: { cors: 'mine' } }, async () => 'for the page')
    app.get('/c11/public', { config: { cors: 'public' } }, async () => 'for anyone')

    app.get('/c12/subdomains', { config: { cors: { origins: [`http://*.example.test:${PAGE_PORT}`] } } }, async () => 'for subdomains')

    app.get('/redirect/allowed', { config: { cors: 'mine' } }, async (_request, reply) => reply.redirect('/redirect/target'))
    app.get('/redirect/to-private', { config: { cors: 'mine' } }, async (_request, reply) => reply.redirect('/c10/private'))
    app.get('/redirect/target', { config: { cors: 'mine' } }, async () => 'target')
  })
  const API = api.origin
  const json = { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":1}' }

  t.test(`${ENGINE}: 1. a simple GET is readable from an allowed origin and hidden from another, with no preflight`, async (t) => {
    t.same(await pageFetch(page, `${API}/c1/simple`), { ok: true, status: 200, body: 'simple', headers: {} })
    t.same(await pageFetch(other, `${API}/c1/simple`), BLOCKED)
    // The refused request still ran: CORS hides responses, it does not stop simple requests.
    t.same(api.trace('/c1/simple'), ['GET 200', 'GET 200'])
    t.same(api.seen.filter((s) => s.path === '/c1/simple').map((s) => s.origin), [PAGE, OTHER])
  })

  t.test(`${ENGINE}: 2. a JSON POST is preflighted: it goes through when content-type is allowed, never otherwise`, async (t) => {
    t.same(await pageFetch(page, `${API}/c2/json-allowed`, json), { ok: true, status: 200, body: '{"n":1}', headers: {} })
    t.same(api.trace('/c2/json-allowed'), ['OPTIONS 204', 'POST 200'])
    const [preflight] = api.seen.filter((s) => s.path === '/c2/json-allowed')
    t.match(preflight, { acrm: 'POST', acrh: 'content-type', origin: PAGE })

    t.same(await pageFetch(page, `${API}/c2/json-refused`, json), BLOCKED)
    t.same(api.trace('/c2/json-refused'), ['OPTIONS 403'], 'the POST is never sent')
  })

  t.test(`${ENGINE}: 3. PUT and DELETE on one path: each preflight is judged by the policy of its own route`, async (t) => {
    const url = `${API}/c3/items/7`
    t.same(await pageFetch(page, url, { method: 'PUT' }), { ok: true, status: 200, body: 'put', headers: {} })
    t.same(await pageFetch(page, url, { method: 'DELETE' }), BLOCKED)
    t.same(await pageFetch(other, url, { method: 'DELETE' }), { ok: true, status: 200, body: 'deleted', headers: {} })
    t.same(await pageFetch(other, url, { method: 'PUT' }), BLOCKED)
    t.same(api.seen.filter((s) => s.path === '/c3/items/7').map((s) => `${s.method} ${s.acrm ?? ''} ${s.origin} ${s.status}`), [
      `OPTIONS PUT ${PAGE} 204`, `PUT  ${PAGE} 200`,
      `OPTIONS DELETE ${PAGE} 403`,
      `OPTIONS DELETE ${OTHER} 204`, `DELETE  ${OTHER} 200`,
      `OPTIONS PUT ${OTHER} 403`,
    ])
  })

  t.test(`${ENGINE}: 4. credentials: a cookie set by the API reaches it, and only a credentialed policy lets the page read the answer`, async (t) => {
    const include = { credentials: 'include' }
    t.same(await pageFetch(page, `${API}/c4/login`, { method: 'POST', ...include }), { ok: true, status: 200, body: 'logged in', headers: {} })
    t.same(await pageFetch(page, `${API}/c4/me`, include), { ok: true, status: 200, body: 'c4=chocolate', headers: {} })
    t.same(await pageXhr(page, `${API}/c4/me`), { ok: true, status: 200, body: 'c4=chocolate' }, 'XMLHttpRequest withCredentials')
    t.same(await pageFetch(page, `${API}/c4/me`), { ok: true, status: 200, body: 'no cookie', headers: {} }, 'without credentials: include, no cookie goes')
    // Access-Control-Allow-Origin: * never admits a credentialed request, though the cookie went.
    t.same(await pageFetch(page, `${API}/c4/public`, include), BLOCKED)
    t.same(await pageFetch(page, `${API}/c4/public`), { ok: true, status: 200, body: 'no cookie', headers: {} })
    t.same(api.seen.filter((s) => s.path.startsWith('/c4/')).map((s) => `${s.method} ${s.path} ${s.cookie ?? '-'}`), [
      'POST /c4/login -', 'GET /c4/me c4=chocolate', 'GET /c4/me c4=chocolate', 'GET /c4/me -',
      'GET /c4/public c4=chocolate', 'GET /c4/public -',
    ])
  })

  t.test(`${ENGINE}: 5. an exposed header is readable, an unexposed one is null`, async (t) => {
    const seen = await pageFetch(page, `${API}/c5/headers`, {}, ['x-request-id', 'x-secret', 'content-type'])
    t.same(seen, {
      ok: true,
      status: 200,
      body: 'headers',
      headers: { 'x-request-id': 'r-1', 'x-secret': null, 'content-type': 'text/plain; charset=utf-8' },
    })
  })

  t.test(`${ENGINE}: 6. Max-Age: a preflight is cached for Max-Age seconds, small values included; without it for 5 s; with 0 not at all`, async (t) => {
    const put = async (path: string) => t.same(await pageFetch(page, `${API}/c6/${path}`, { method: 'PUT' }), { ok: true, status: 200, body: 'put', headers: {} }, path)
    const paths = ['max-age-600', 'no-max-age', 'max-age-2', 'max-age-0']
    const start = Date.now()
    for (const path of paths) {
      await put(path)
      await put(path)
    }
    t.same(api.trace('/c6/max-age-600'), ['OPTIONS 204', 'PUT 200', 'PUT 200'])
    t.same(api.trace('/c6/no-max-age'), ['OPTIONS 204', 'PUT 200', 'PUT 200'], 'without Max-Age the preflight is cached')
    t.same(api.trace('/c6/max-age-2'), ['OPTIONS 204', 'PUT 200', 'PUT 200'])
    t.same(api.trace('/c6/max-age-0'), ['OPTIONS 204', 'PUT 200', 'OPTIONS 204', 'PUT 200'])

    // One wait serves every entry: at 3.5 s Max-Age: 2 has expired and the 5 s default has not;
    // past 5.5 s the default has expired too, and Max-Age: 600 still holds.
    await sleep(start + 3_500 - Date.now())
    await put('max-age-2')
    await put('no-max-age')
    t.same(api.trace('/c6/max-age-2'), ['OPTIONS 204', 'PUT 200', 'PUT 200', 'OPTIONS 204', 'PUT 200'], 'Max-Age: 2 expired')
    t.same(api.trace('/c6/no-max-age'), ['OPTIONS 204', 'PUT 200', 'PUT 200', 'PUT 200'], 'the 5 s default holds at 3.5 s')
    await sleep(start + 5_600 - Date.now())
    await put('max-age-600')
    await put('no-max-age')
    t.same(api.trace('/c6/max-age-600'), ['OPTIONS 204', 'PUT 200', 'PUT 200', 'PUT 200'])
    t.same(api.trace('/c6/no-max-age'), ['OPTIONS 204', 'PUT 200', 'PUT 200', 'PUT 200', 'OPTIONS 204', 'PUT 200'], 'the 5 s default expired')
  })

  t.test(`${ENGINE}: 7. fetch sends method 'patch' as written: its preflight is refused, 'PATCH' goes through`, async (t) => {
    t.same(await pageFetch(page, `${API}/c7/upper`, { method: 'PATCH' }), { ok: true, status: 200, body: 'patched', headers: {} })
    t.same(api.trace('/c7/upper'), ['OPTIONS 204', 'PATCH 200'])

    t.same(await pageFetch(page, `${API}/c7/lower`, { method: 'patch' }), BLOCKED)
    // Asserted server side: the page would fail the same way if the server had never seen a request.
    t.same(api.seen.filter((s) => s.path === '/c7/lower').map((s) => `${s.method} ${s.acrm} ${s.status}`), ['OPTIONS patch 403'])
  })

  t.test(`${ENGINE}: 8. authorization goes through when listed by name, and is refused under allowHeaders: ['*']`, async (t) => {
    const bearer = { headers: { authorization: 'Bearer t0k3n' } }
    t.same(await pageFetch(page, `${API}/c8/listed`, bearer), { ok: true, status: 200, body: 'Bearer t0k3n', headers: {} })
    t.same(api.trace('/c8/listed'), ['OPTIONS 204', 'GET 200'])

    t.same(await pageFetch(page, `${API}/c8/star`, bearer), BLOCKED)
    t.same(await pageFetch(page, `${API}/c8/star`, { headers: { 'x-custom': 'yes' } }), { ok: true, status: 200, body: 'yes', headers: {} })
    t.same(api.seen.filter((s) => s.path === '/c8/star').map((s) => `${s.method} ${s.acrh ?? ''} ${s.status}`), [
      'OPTIONS authorization 403', 'OPTIONS x-custom 204', 'GET  200',
    ])
  })

  t.test(`${ENGINE}: 9. error responses to an allowed origin are readable: status and body`, async (t) => {
    t.same(await pageFetch(page, `${API}/c9/missing`), { ok: true, status: 404, body: '{"error":"no such order"}', headers: {} })
    const broken = await pageFetch(page, `${API}/c9/broken`)
    t.match(broken, { ok: true, status: 500 })
    t.match(JSON.parse(broken.body ?? '{}'), { statusCode: 500, message: 'database down' })
    const invalid = await pageFetch(page, `${API}/c9/validated?n=abc`)
    t.match(invalid, { ok: true, status: 400 })
    t.match(JSON.parse(invalid.body ?? '{}'), { statusCode: 400, code: 'FST_ERR_VALIDATION' })
  })

  t.test(`${ENGINE}: 10. a route with cors: false is never readable cross-origin`, async (t) => {
    t.same(await pageFetch(page, `${API}/c10/private`), BLOCKED)
    t.same(await pageFetch(page, `${API}/c10/private`, { method: 'PUT' }), BLOCKED)
    // No CORS-enabled route on the path: the app answers the preflight as without the plugin (404).
    t.same(api.trace('/c10/private'), ['GET 200', 'OPTIONS 404'], 'the PUT is never sent')

    t.same(await pageFetch(page, `${API}/c10/mixed`, { method: 'DELETE' }), BLOCKED)
    t.same(await pageFetch(page, `${API}/c10/mixed`), { ok: true, status: 200, body: 'mixed', headers: {} })
    t.same(api.trace('/c10/mixed'), ['OPTIONS 403', 'GET 200'], 'the DELETE is never sent')
  })

  t.test(`${ENGINE}: 11. the null origin of a sandboxed iframe is refused unless the policy lists 'null'`, async (t) => {
    t.same(await sandboxFetch(page, `${API}/c11/null-listed`), { ok: true, status: 200, body: 'for null', headers: {}, frameOrigin: 'null' })
    t.same(await sandboxFetch(page, `${API}/c11/page-only`), { ...BLOCKED, frameOrigin: 'null' })
    t.same(await sandboxFetch(page, `${API}/c11/public`), { ok: true, status: 200, body: 'for anyone', headers: {}, frameOrigin: 'null' })
    t.same(api.seen.filter((s) => s.path.startsWith('/c11/')).map((s) => `${s.path} ${s.origin} ${s.status}`), [
      '/c11/null-listed null 200', '/c11/page-only null 200', '/c11/public null 200',
    ])
  })

  t.test(`${ENGINE}: 12. a subdomain pattern admits pages on real subdomain origins, and not the apex or a look-alike`, async (t) => {
    // The page's own origin is the subdomain (the browser resolved the test name to loopback), and so
    // is the Origin header that reached the API.
    const hosts = ['app.example.test', 'a.b.example.test', 'example.test', 'example.test.evil.test'] as const
    const subdomainPage = await openPage(engine, at(hosts[0]))
    const seen = []
    for (const host of hosts) {
      if (host !== hosts[0]) await subdomainPage.goto(at(host) + '/')
      seen.push([await subdomainPage.evaluate('location.origin'), await pageFetch(subdomainPage, `${API}/c12/subdomains`)])
    }
    await subdomainPage.close()
    const readable = { ok: true, status: 200, body: 'for subdomains', headers: {} }
    t.same(seen, [[at(hosts[0]), readable], [at(hosts[1]), readable], [at(hosts[2]), BLOCKED], [at(hosts[3]), BLOCKED]])
    t.same(api.seen.filter((s) => s.path === '/c12/subdomains').map((s) => s.origin), hosts.map(at))
  })

  t.test(`${ENGINE}: beyond the issue: a redirect is followed only when its 3xx carries CORS headers, and read only when the target does too`, async (t) => {
    t.same(await pageFetch(page, `${API}/redirect/allowed`), { ok: true, status: 200, body: 'target', headers: {} })
    t.same(await pageFetch(page, `${API}/redirect/to-private`), BLOCKED)
    t.same(await pageFetch(other, `${API}/redirect/allowed`), BLOCKED)
    // The 302 to another origin's page carries no Access-Control-Allow-Origin: the browser stops there.
    t.same(api.seen.slice(-5).map((s) => `${s.method} ${s.path} ${s.origin === PAGE ? 'page' : s.origin} ${s.status}`), [
      'GET /redirect/allowed page 302', 'GET /redirect/target page 200',
      'GET /redirect/to-private page 302', 'GET /c10/private page 200',
      `GET /redirect/allowed ${OTHER} 302`,
    ])
  })
}
