import t from 'tap'
import { corsCheck, unsafeHeaderNames } from '../lib/testing.ts'
import { APP, EVIL, build } from './helpers.ts'

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

t.test('set-cookie is never readable, even with a wildcard expose list', async (t) => {
  const Fastify = (await import('fastify')).default
  const server = Fastify()
  server.get('/x', async (_req, reply) => reply.headers({ 'access-control-allow-origin': '*', 'access-control-expose-headers': '*', 'set-cookie': 'a=b', 'x-a': '1' }).send('ok'))
  t.teardown(() => server.close())
  const result = await corsCheck(server, { origin: APP, url: '/x' })
  t.equal(result.ok, true)
  t.notOk(result.exposedHeaders.includes('set-cookie'))
  t.ok(result.exposedHeaders.includes('x-a'))
})
