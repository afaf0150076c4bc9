import t from 'tap'
import { corsCheck, unsafeHeaderNames } from '../../lib/testing.ts'
import { APP, EVIL, build } from '../helpers.ts'

const policies = {
  public: { origins: '*' as const, exposeHeaders: ['x-total'] },
  web: { origins: [APP], credentials: true, allowHeaders: ['content-type', 'authorization'], exposeHeaders: ['x-request-id'] },
  open: { origins: [APP], allowHeaders: ['*'] },
}

async function app () {
  return build({ policies }, (app) => {
    app.get('/status', { config: { cors: 'public' } }, async (_req, reply) => reply.header('x-total', '3').header('x-hidden', '1').send({ ok: true }))
    app.put('/me', { config: { cors: 'web' } }, async (req, reply) => reply.header('x-request-id', 'r1').send({ cookie: req.headers.cookie ?? null }))
    app.post('/open', { config: { cors: 'open' } }, async () => ({ ok: true }))
    app.patch('/items', { config: { cors: 'web' } }, async () => ({ ok: true }))
    app.get('/admin', { config: { cors: false } }, async () => 'admin')
  })
}

t.test('a simple GET needs no preflight; the exposed and safelisted headers are readable', async (t) => {
  const server = await app()
  t.teardown(() => server.close())
  const result = await corsCheck(server, { origin: EVIL, url: '/status' })
  t.equal(result.ok, true)
  t.equal(result.preflight.sent, false)
  t.equal(result.reason, null)
  t.same(result.exposedHeaders, ['content-length', 'content-type', 'x-total'])
  t.same(result.preflight.headers, {})
  t.same(result.response?.json(), { ok: true })
})

t.test('a credentialed PUT with JSON is preflighted, then sends the cookies', async (t) => {
  const server = await app()
  t.teardown(() => server.close())
  const result = await corsCheck(server, {
    origin: APP,
    method: 'put',
    url: '/me',
    headers: { 'Content-Type': 'application/json' },
    credentials: true,
    cookies: { session: 'abc' },
    body: '{}',
  })
  t.equal(result.ok, true, result.reason ?? '')
  t.equal(result.preflight.sent, true)
  t.equal(result.preflight.status, 204)
  t.equal(result.preflight.headers['access-control-allow-headers'], 'content-type')
  t.same(result.response?.json(), { cookie: 'session=abc' })
  t.ok(result.exposedHeaders.includes('x-request-id'))
})

t.test('refusals carry the reason a browser would give', async (t) => {
  const server = await app()
  t.teardown(() => server.close())
  const cases: Array<[string, Parameters<typeof corsCheck>[1], RegExp]> = [
    ['origin not allowed by the preflight', { origin: EVIL, method: 'PUT', url: '/me' }, /answered with 403/],
    ['header not allowed', { origin: APP, method: 'PUT', url: '/me', headers: { 'x-custom': '1' } }, /answered with 403/],
    ['credentials with a public policy', { origin: APP, url: '/status', credentials: true }, /'\*', which is refused with credentials/],
    ['no CORS on the route', { origin: APP, url: '/admin' }, /no Access-Control-Allow-Origin/],
    ['lower-case patch is sent as written', { origin: APP, method: 'patch', url: '/items' }, /answered with 403/],
    ['authorization is not covered by *', { origin: APP, method: 'POST', url: '/open', headers: { authorization: 'Bearer x' } }, /answered with 403/],
  ]
  for (const [name, request, reason] of cases) {
    const result = await corsCheck(server, request)
    t.equal(result.ok, false, name)
    t.match(result.reason, reason, name)
  }
  const patch = await corsCheck(server, { origin: APP, method: 'PATCH', url: '/items' })
  t.equal(patch.ok, true, 'upper-case PATCH passes')
})

t.test('the CORS check on responses that a plugin would never send', async (t) => {
  const Fastify = (await import('fastify')).default
  const server = Fastify()
  server.options('/x', async (req, reply) => {
    return reply.code(204).headers(JSON.parse(String((req.query as Record<string, string>).h))).send()
  })
  server.get('/twice', async (_req, reply) => reply.header('access-control-allow-origin', [APP, APP]).send('ok'))
  server.put('/x', async (req, reply) => reply.headers(JSON.parse(String((req.query as Record<string, string>).h))).send('ok'))
  t.teardown(() => server.close())
  const check = (h: Record<string, string>, credentials = false, headers: Record<string, string> = {}) =>
    corsCheck(server, { origin: APP, method: 'PUT', url: '/x?h=' + encodeURIComponent(JSON.stringify(h)), credentials, headers })
  t.match((await check({ 'access-control-allow-origin': 'https://other.example' })).reason, /is not the page's origin/)
  t.match((await check({ 'access-control-allow-origin': APP }, true)).reason, /Access-Control-Allow-Credentials is not exactly "true"/)
  t.match((await check({ 'access-control-allow-origin': APP })).reason, /method PUT is not in the preflight's Access-Control-Allow-Methods/)
  const star = { 'access-control-allow-origin': APP, 'access-control-allow-methods': '*', 'access-control-allow-headers': '*', 'access-control-expose-headers': '*' }
  const wildcard = await check(star, false, { 'x-a': '1' })
  t.equal(wildcard.ok, true, 'wildcards count without credentials')
  t.ok(wildcard.exposedHeaders.includes('access-control-allow-methods'), "'*' exposes every header without credentials")
  const credentialed = await check({ ...star, 'access-control-allow-credentials': 'true' }, true, { 'x-a': '1' })
  t.match(credentialed.reason, /method PUT is not in/, "'*' is a literal method name with credentials")
  const headersStar = await check({ ...star, 'access-control-allow-methods': 'PUT', 'access-control-allow-credentials': 'true' }, true, { 'x-a': '1' })
  t.match(headersStar.reason, /request header x-a is not in/, "'*' is a literal header name with credentials")
  const twice = await corsCheck(server, { origin: APP, url: '/twice' })
  t.match(twice.reason, /several Access-Control-Allow-Origin values/)
  const cookies = await check({ ...star, 'set-cookie': ['a=1', 'b=2'] } as unknown as Record<string, string>)
  t.equal(cookies.preflight.headers['set-cookie'], 'a=1, b=2', 'repeated preflight headers are joined')
  const authorization = await check(star, false, { authorization: 'Bearer x' })
  t.match(authorization.reason, /authorization is not in the preflight's Access-Control-Allow-Headers \('\*' does not cover it\)/)
  const listed = await check({ ...star, 'access-control-allow-headers': 'Authorization' }, false, { authorization: 'Bearer x' })
  t.equal(listed.ok, true, 'authorization listed by name, compared case-insensitively')
})

t.test('forbidden request headers cannot be set by a page', async (t) => {
  const server = await app()
  t.teardown(() => server.close())
  await t.rejects(corsCheck(server, { origin: APP, url: '/status', headers: { cookie: 'a=b' } }), /forbidden request header/)
  await t.rejects(corsCheck(server, { origin: APP, url: '/status', headers: { 'sec-fetch-mode': 'cors' } }), /forbidden request header/)
})

t.test('CORS-unsafe request-header names follow the Fetch standard', async (t) => {
  t.same(unsafeHeaderNames({ accept: 'application/json', 'content-type': 'text/plain;charset=utf-8', 'accept-language': 'en-US,en;q=0.9' }), [])
  t.same(unsafeHeaderNames({ 'content-type': 'application/json' }), ['content-type'])
  t.same(unsafeHeaderNames({ accept: 'a"b' }), ['accept'])
  t.same(unsafeHeaderNames({ accept: 'a\u0001b', 'content-type': 'text/plain\u007f' }), ['accept', 'content-type'])
  t.same(unsafeHeaderNames({ 'content-type': 'text/plain; charset="utf-8"' }), ['content-type'], 'a quote is an unsafe byte')
  t.same(unsafeHeaderNames({ 'content-language': 'en_GB' }), ['content-language'])
  t.same(unsafeHeaderNames({ range: 'bytes=0-' }), [])
  t.same(unsafeHeaderNames({ range: 'bytes=0-1,2-3' }), ['range'])
  t.same(unsafeHeaderNames({ accept: 'x'.repeat(129) }), ['accept'])
  t.same(unsafeHeaderNames({ 'x-b': '1', 'x-a': '1' }), ['x-a', 'x-b'])
})

t.test('set-cookie is never readable, even when the response exposes it by name or with a wildcard', async (t) => {
  const Fastify = (await import('fastify')).default
  const server = Fastify()
  server.get('/x', async (req, reply) => reply.headers({
    'access-control-allow-origin': '*',
    'access-control-expose-headers': String((req.query as Record<string, string>).expose),
    'set-cookie': 'a=b',
    'set-cookie2': 'c=d',
    'x-a': '1',
  }).send('ok'))
  t.teardown(() => server.close())
  const listed = await corsCheck(server, { origin: APP, url: '/x?expose=' + encodeURIComponent('Set-Cookie, set-cookie2, x-a') })
  t.equal(listed.ok, true)
  t.same(listed.exposedHeaders, ['content-length', 'content-type', 'x-a'])
  const wildcard = await corsCheck(server, { origin: APP, url: '/x?expose=*' })
  t.same(wildcard.exposedHeaders.filter((name) => name.includes('cookie')), [])
  t.ok(wildcard.exposedHeaders.includes('x-a') && wildcard.exposedHeaders.includes('date'), "'*' exposes every other header")
})

t.test('a route of the plugin with CORS off cannot expose set-cookie either', async (t) => {
  const server = await build({}, (app) => {
    app.get('/login', { config: { cors: false } }, async (_req, reply) => reply.headers({
      'access-control-allow-origin': APP,
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'set-cookie, x-session',
      'set-cookie': 'session=1; HttpOnly',
      'x-session': 's1',
    }).send('ok'))
  })
  t.teardown(() => server.close())
  const result = await corsCheck(server, { origin: APP, url: '/login', credentials: true })
  t.equal(result.ok, true, result.reason ?? '')
  t.same(result.exposedHeaders, ['content-length', 'content-type', 'x-session'])
})

t.test('header values are stripped of surrounding whitespace, as fetch does', async (t) => {
  const server = await app()
  t.teardown(() => server.close())
  const result = await corsCheck(server, { origin: APP, method: 'POST', url: '/open', headers: { 'content-type': ' text/plain\t' }, body: 'x' })
  t.equal(result.preflight.sent, false)
  t.equal(result.ok, true)
})

/** An app with the plugin whose request log records every request that reached it, preflights included. */
async function redirecting () {
  const seen: string[] = []
  const Fastify = (await import('fastify')).default
  const server = Fastify()
  server.addHook('onRequest', async (req) => {
    const acrm = req.headers['access-control-request-method']
    seen.push(`${req.method} ${req.url}${acrm === undefined ? '' : ` (preflight for ${String(acrm)})`} ct=${req.headers['content-type'] ?? '-'} origin=${req.headers.origin ?? '-'}`)
  })
  const cors = (await import('../../lib/index.ts')).default
  await server.register(cors, {
    default: { origins: [APP], credentials: true, allowHeaders: ['content-type', 'x-token'] },
  })
  const echo = async (req: { method: string, body: unknown, headers: Record<string, unknown> }) =>
    ({ method: req.method, body: req.body ?? null, cookie: req.headers.cookie ?? null })
  server.route({ method: ['GET', 'POST', 'PUT', 'HEAD'], url: '/final', handler: echo })
  server.get('/off', { config: { cors: false } }, async () => 'private')
  for (const code of [301, 302, 303, 307, 308]) {
    server.route({ method: ['GET', 'POST', 'PUT', 'HEAD'], url: `/to-final/${code}`, handler: async (_req, reply) => reply.redirect('/final', code) })
  }
  server.get('/to-off', async (_req, reply) => reply.redirect('/off'))
  server.get('/twice', async (_req, reply) => reply.redirect('/to-final/302'))
  server.get('/loop/:n', async (req, reply) => reply.redirect(`/loop/${Number((req.params as { n: string }).n) + 1}`))
  server.get('/abs', async (req, reply) => reply.redirect(String((req.query as Record<string, string>).to)))
  server.get('/to-put-only', async (_req, reply) => reply.redirect('/put-only', 307))
  server.put('/put-only', async () => 'put')
  server.get('/cookie-then-final', async (_req, reply) => reply.redirect('/final'))
  server.get('/no-location', async (_req, reply) => reply.code(302).send('stay'))
  server.get('/not-a-redirect', async (_req, reply) => reply.code(300).header('location', '/final').send('choices'))
  server.put('/redirect-preflight', { config: { cors: false } }, async () => 'never')
  server.options('/redirect-preflight', { config: { cors: false } }, async (_req, reply) =>
    reply.code(308).headers({ 'access-control-allow-origin': APP, 'access-control-allow-credentials': 'true', location: '/final' }).send())
  await server.ready()
  t.teardown(() => server.close())
  return { server, seen }
}

t.test('a redirect to an allowed route on the same app is followed, and each hop is reported', async (t) => {
  const { server, seen } = await redirecting()
  const result = await corsCheck(server, { origin: APP, url: '/to-final/302', credentials: true, cookies: { s: '1' } })
  t.equal(result.ok, true, result.reason ?? '')
  t.same(result.redirects, [{ method: 'GET', url: 'http://localhost/to-final/302', status: 302, location: 'http://localhost/final' }])
  t.equal(result.response?.statusCode, 200)
  t.same(result.response?.json(), { method: 'GET', body: null, cookie: 's=1' }, 'the cookies go along on every hop')
  t.same(result.browserDifferences, [])
  t.same(seen, [`GET /to-final/302 ct=- origin=${APP}`, `GET /final ct=- origin=${APP}`])

  const twice = await corsCheck(server, { origin: APP, url: '/twice', credentials: true })
  t.equal(twice.ok, true)
  t.same(twice.redirects.map((r) => `${r.status} ${r.url} -> ${r.location}`), [
    '302 http://localhost/twice -> http://localhost/to-final/302',
    '302 http://localhost/to-final/302 -> http://localhost/final',
  ])
})

t.test('a redirect to a route without CORS: the final response is refused', async (t) => {
  const { server } = await redirecting()
  const result = await corsCheck(server, { origin: APP, url: '/to-off' })
  t.equal(result.ok, false)
  t.equal(result.reason, 'after 1 redirect, at GET http://localhost/off: the response has no Access-Control-Allow-Origin header')
  t.equal(result.response?.body, 'private', 'the response is the last one the app gave, which the page never sees')
  t.same(result.exposedHeaders, [])
})

t.test('the redirect response itself must pass the CORS check, or it is not followed', async (t) => {
  const { server, seen } = await redirecting()
  const result = await corsCheck(server, { origin: EVIL, url: '/to-final/302' })
  t.equal(result.ok, false)
  t.equal(result.reason, 'the response has no Access-Control-Allow-Origin header')
  t.same(result.redirects, [], 'a refused redirect is never looked at')
  t.equal(seen.length, 1)
})

t.test('301 and 302 turn POST into GET, 303 turns all but GET and HEAD into GET, 307 and 308 keep method and body', async (t) => {
  const { server } = await redirecting()
  const cases: Array<[code: number, method: string, expected: string, body: unknown]> = [
    [301, 'POST', 'GET', null],
    [302, 'POST', 'GET', null],
    [302, 'PUT', 'PUT', { a: 1 }],
    [303, 'POST', 'GET', null],
    [303, 'PUT', 'GET', null],
    [303, 'GET', 'GET', null],
    [303, 'HEAD', 'HEAD', null],
    [307, 'POST', 'POST', { a: 1 }],
    [308, 'PUT', 'PUT', { a: 1 }],
  ]
  for (const [code, method, expected, body] of cases) {
    const withBody = method !== 'GET' && method !== 'HEAD'
    const result = await corsCheck(server, {
      origin: APP,
      method,
      url: `/to-final/${code}`,
      credentials: true,
      headers: withBody ? { 'content-type': 'application/json' } : {},
      body: withBody ? '{"a":1}' : undefined,
    })
    t.equal(result.ok, true, `${code} ${method}: ${result.reason}`)
    t.equal(result.response?.raw.req.method, expected, `${code} ${method} becomes ${expected}`)
    if (expected !== 'HEAD') t.same(result.response?.json().body, body, `${code} ${method}: body ${JSON.stringify(body)}`)
  }
})

t.test('each redirected request is preflighted again when it needs one, and not when it no longer does', async (t) => {
  const { server, seen } = await redirecting()
  const post = await corsCheck(server, { origin: APP, method: 'POST', url: '/to-final/303', credentials: true, headers: { 'content-type': 'application/json' }, body: '{}' })
  t.equal(post.ok, true)
  t.same(seen.splice(0), [
    `OPTIONS /to-final/303 (preflight for POST) ct=- origin=${APP}`,
    `POST /to-final/303 ct=application/json origin=${APP}`,
    `GET /final ct=- origin=${APP}`,
  ], 'the 303 drops the body and its content-type: the GET needs no preflight')
  t.same(post.browserDifferences, ['Firefox preflights the GET that follows a 303 answering a preflighted request, which the Fetch standard does not: ' +
    'the server must also answer that preflight (OPTIONS with Access-Control-Request-Method: GET).'], 'Firefox preflights that GET: noted')

  const put = await corsCheck(server, { origin: APP, method: 'PUT', url: '/to-final/307', credentials: true, headers: { 'x-token': 't' } })
  t.equal(put.ok, true)
  t.equal(put.preflight.status, 204, 'preflight: the first request\'s')
  t.same(put.browserDifferences, [], 'a 307 keeps the method: no browser differs')
  t.same(seen.splice(0), [
    `OPTIONS /to-final/307 (preflight for PUT) ct=- origin=${APP}`,
    `PUT /to-final/307 ct=- origin=${APP}`,
    `OPTIONS /final (preflight for PUT) ct=- origin=${APP}`,
    `PUT /final ct=- origin=${APP}`,
  ])

  const refused = await corsCheck(server, { origin: APP, url: '/to-put-only', headers: { 'x-other': '1' } })
  t.equal(refused.ok, false)
  t.equal(refused.preflight.status, 403, 'the first preflight')
})

t.test('a redirect answered to a preflight fails it', async (t) => {
  const { server } = await redirecting()
  const result = await corsCheck(server, { origin: APP, method: 'PUT', url: '/redirect-preflight', credentials: true })
  t.equal(result.ok, false)
  t.equal(result.reason, 'the preflight was answered with a redirect (308), which browsers never follow for a preflight')
  t.equal(result.response, null)
  t.same(result.redirects, [])
})

t.test('fetch follows 20 redirects and fails on the 21st', async (t) => {
  const { server, seen } = await redirecting()
  const result = await corsCheck(server, { origin: APP, url: '/loop/0' })
  t.equal(result.ok, false)
  t.equal(result.redirects.length, 21)
  t.same(result.redirects[20], { method: 'GET', url: 'http://localhost/loop/20', status: 302, location: 'http://localhost/loop/21' })
  t.equal(result.reason, 'after 20 redirects, at GET http://localhost/loop/20: the 302 redirect is one more than the 20 that fetch follows (a network error)')
  t.equal(seen.length, 21)
})

t.test('redirects that are network errors, and redirects to another origin, which corsCheck cannot follow', async (t) => {
  const { server } = await redirecting()
  const to = async (location: string, apiOrigin?: string) => {
    const result = await corsCheck(server, { origin: APP, url: '/abs?to=' + encodeURIComponent(location), apiOrigin })
    t.equal(result.ok, false, location)
    return result
  }
  t.match((await to('data:text/plain,hi')).reason, /^the 302 redirect goes to a data: URL; fetch follows only http\(s\) redirects/)
  t.match((await to('http://user:pw@localhost/final')).reason, /Location includes credentials/)
  const other = await to('https://cdn.example/file')
  t.equal(other.reason, 'the 302 redirect goes to another origin (https://cdn.example), which corsCheck cannot follow: it plays only ' +
    'against this app (apiOrigin http://localhost). A browser would follow it sending Origin: null, so that server would have to allow null')
  t.same(other.redirects, [{ method: 'GET', url: 'http://localhost/abs?to=https%3A%2F%2Fcdn.example%2Ffile', status: 302, location: 'https://cdn.example/file' }])
  t.equal((await to('http://localhost:8080/final')).redirects[0]?.location, 'http://localhost:8080/final')
})

t.test('Location headers that are not one URL are network errors; a 3xx without Location is the response itself', async (t) => {
  const Fastify = (await import('fastify')).default
  const server = Fastify()
  server.get('/x', async (req, reply) => {
    const location = (req.query as Record<string, string | string[]>).l
    return reply.code(302).headers({ 'access-control-allow-origin': '*', location }).send()
  })
  server.get('/none', async (_req, reply) => reply.code(302).header('access-control-allow-origin', '*').send('here'))
  server.get('/y', async (_req, reply) => reply.header('access-control-allow-origin', '*').send('y'))
  t.teardown(() => server.close())
  const several = await corsCheck(server, { origin: APP, url: '/x?l=/y&l=/z' })
  t.equal(several.reason, 'the 302 redirect has several Location headers, which is a network error')
  t.same(several.redirects, [{ method: 'GET', url: 'http://localhost/x?l=/y&l=/z', status: 302, location: '/y,/z' }])
  const invalid = await corsCheck(server, { origin: APP, url: '/x?l=' + encodeURIComponent('http://[') })
  t.equal(invalid.reason, 'the 302 redirect\'s Location "http://[" is not a URL, which is a network error')
  t.equal(invalid.redirects[0]?.location, 'http://[')
  const fragment = await corsCheck(server, { origin: APP, url: '/x?l=' + encodeURIComponent('/y#top') })
  t.equal(fragment.ok, true)
  t.equal(fragment.redirects[0]?.location, 'http://localhost/y', 'the fragment never reaches the server')
  const none = await corsCheck(server, { origin: APP, url: '/none' })
  t.equal(none.ok, true)
  t.equal(none.response?.statusCode, 302)
  t.same(none.redirects, [])
})

t.test('apiOrigin: the app\'s own origin, where relative URLs point', async (t) => {
  const { server, seen } = await redirecting()
  const api = 'https://api.example'
  const relative = await corsCheck(server, { origin: APP, url: '/to-final/302', apiOrigin: api })
  t.equal(relative.ok, true, 'a relative Location resolves against the URL that was redirected, on apiOrigin')
  t.same(relative.redirects.map((r) => [r.url, r.location]), [[`${api}/to-final/302`, `${api}/final`]])
  t.equal(relative.response?.raw.req.headers.host, 'api.example:443', 'inject is told the host')
  const away = await corsCheck(server, { origin: APP, url: '/abs?to=' + encodeURIComponent('http://localhost/final'), apiOrigin: api })
  t.match(away.reason, /^the 302 redirect goes to another origin \(http:\/\/localhost\)/, 'the default origin is another origin once apiOrigin is set')
  const absolute = await corsCheck(server, { origin: APP, url: `${api}/abs?to=${encodeURIComponent(api + '/final#x')}` })
  t.equal(absolute.ok, true, absolute.reason ?? '')
  t.same(absolute.redirects.map((r) => r.location), [`${api}/final`])
  t.match(seen.at(-1), /^GET \/final /)
  await t.rejects(corsCheck(server, { origin: APP, url: 'https://other.example/final', apiOrigin: api }), /not an http\(s\) URL on the app's origin https:\/\/api.example/)
  await t.rejects(corsCheck(server, { origin: APP, url: 'ftp://api.example/final' }), /not an http\(s\) URL/)
  for (const bad of ['api.example', 'https://api.example/', 'https://api.example/v1', 'ftp://api.example']) {
    await t.rejects(corsCheck(server, { origin: APP, url: '/final', apiOrigin: bad }), /apiOrigin must be a serialized http\(s\) origin/, bad)
  }
  await t.rejects(corsCheck(server, { origin: 'http://localhost', url: '/final' }), /same-origin request is not a CORS request/)
  await t.rejects(corsCheck(server, { origin: api, url: '/final', apiOrigin: api }), /same-origin request is not a CORS request/)
})

t.test('Chromium lets Access-Control-Allow-Headers: * cover Authorization: corsCheck follows the standard and says so', async (t) => {
  const Fastify = (await import('fastify')).default
  const server = Fastify()
  server.route({
    method: ['OPTIONS', 'GET'],
    url: '/x',
    handler: async (req, reply) => {
      const credentialed = req.headers['access-control-request-method'] !== undefined && (req.query as Record<string, string>).c === '1'
      return reply.code(req.method === 'OPTIONS' ? 204 : 200).headers({
        'access-control-allow-origin': APP,
        'access-control-allow-headers': '*',
        ...(credentialed || (req.query as Record<string, string>).c === '1' ? { 'access-control-allow-credentials': 'true' } : {}),
      }).send()
    },
  })
  t.teardown(() => server.close())
  const open = await corsCheck(server, { origin: APP, url: '/x', headers: { authorization: 'Bearer t', 'x-a': '1' } })
  t.equal(open.ok, false)
  t.equal(open.reason, 'the request header authorization is not in the preflight\'s Access-Control-Allow-Headers (\'*\' does not cover it)')
  t.same(open.browserDifferences, ['Chromium and Firefox let Access-Control-Allow-Headers: * cover Authorization, which the Fetch standard does not: both accept this preflight.'])
  const credentialed = await corsCheck(server, { origin: APP, url: '/x?c=1', headers: { authorization: 'Bearer t' }, credentials: true })
  t.equal(credentialed.reason, 'the request header authorization is not in the preflight\'s Access-Control-Allow-Headers')
  t.same(credentialed.browserDifferences, [], "with credentials '*' is a literal name for every engine")
})

t.test('Chromium safelists some client-hint request headers: corsCheck preflights them, as the standard does, and says so', async (t) => {
  const { server, seen } = await redirecting()
  const check = (headers: Record<string, string>, method = 'GET', url = '/final') => corsCheck(server, { origin: APP, method, url, headers, credentials: true })
  const skip = (names: string) => `Chromium treats the ${names} as CORS-safelisted, which the Fetch standard does not: Chromium sends this request without a preflight.`
  const dpr = await check({ DPR: '2' })
  t.equal(dpr.preflight.sent, true)
  t.equal(dpr.preflight.headers['access-control-allow-headers'], undefined)
  t.equal(dpr.ok, false, 'the policy does not allow dpr')
  t.same(dpr.browserDifferences, [skip('request header dpr')])
  const hints: Array<[string, string, boolean]> = [
    ['device-memory', '0.5', true], ['downlink', '10', true], ['dpr', '1.', false], ['dpr', '-1', false], ['dpr', '1'.repeat(129), false],
    ['rtt', '50', true], ['rtt', '1.5', false], ['viewport-width', '1024', true], ['width', '1.5', false],
    ['ect', '4g', true], ['ect', '4G', false], ['ect', '5g', false], ['save-data', 'ON', true], ['save-data', 'off', false],
  ]
  for (const [name, value, chromium] of hints) {
    t.same((await check({ [name]: value })).browserDifferences, chromium ? [skip(`request header ${name}`)] : [], `${name}: ${value.slice(0, 10)}`)
  }
  t.same((await check({ width: '10', 'save-data': 'on' })).browserDifferences, [skip('request headers save-data, width')])
  t.same((await check({ width: '10' }, 'PUT')).browserDifferences, [
    'Chromium treats the request header width as CORS-safelisted, which the Fetch standard does not: Chromium leaves it out of the preflight\'s Access-Control-Request-Headers.',
  ])
  t.same((await check({ width: '10', dpr: '1', 'x-token': 't' })).browserDifferences, [
    'Chromium treats the request headers dpr, width as CORS-safelisted, which the Fetch standard does not: Chromium leaves them out of the preflight\'s Access-Control-Request-Headers.',
  ])
  seen.length = 0
  const allowed = await check({ 'content-type': 'application/json', dpr: '2' }, 'PUT', '/to-final/307')
  t.equal(allowed.ok, false)
  t.equal(allowed.browserDifferences.length, 1, 'one sentence per difference, however many hops it applied to')
})

t.test('the docs/testing.md example: a JSON PUT with its body and the session cookie', async (t) => {
  const server = await build({ policies: { web: { origins: [APP], credentials: true, allowHeaders: ['content-type'] } } }, (app) => {
    app.put('/me', { config: { cors: 'web' } }, async (req) => ({ saved: req.body, session: req.headers.cookie }))
  })
  t.teardown(() => server.close())
  const result = await corsCheck(server, {
    origin: 'https://app.example.com',
    method: 'PUT',
    url: '/me',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ theme: 'dark' }),
    credentials: true,
    cookies: { session: 'abc' },
  })
  t.ok(result.ok, result.reason ?? '')
  t.equal(result.response?.statusCode, 200)
  t.same(result.response?.json(), { saved: { theme: 'dark' }, session: 'session=abc' })
  const bodiless = await corsCheck(server, { origin: APP, method: 'PUT', url: '/me', headers: { 'content-type': 'application/json' }, credentials: true })
  t.equal(bodiless.ok, true)
  t.equal(bodiless.response?.statusCode, 400, 'without a body the app answers 400, readable by the page')
})
