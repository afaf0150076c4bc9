import t from 'tap'
import Fastify from 'fastify'
import cors from '../../lib/index.ts'
import { APP, EVIL, build, corsHeaders, preflight } from '../helpers.ts'

// 404s answered by a not-found handler (rule 7's last sentence, rule 12 for preflights).

const OTHER = 'https://other.example.com'

t.test('rule 7: a 404 in a scope with a default carries the default\'s headers', async (t) => {
  const app = await build({ default: { origins: [APP], credentials: true, exposeHeaders: ['x-request-id'] } }, (app) => {
    app.get('/exists', async () => 'exists')
  })
  t.teardown(() => app.close())

  for (const method of ['GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS'] as const) {
    const res = await app.inject({ method, url: '/missing', headers: { origin: APP } })
    t.equal(res.statusCode, 404, method)
    t.strictSame(corsHeaders(res.headers), {
      'access-control-allow-origin': APP,
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'x-request-id',
      vary: 'Origin',
    }, method)
    if (method !== 'HEAD') t.match(JSON.parse(res.body), { statusCode: 404 }, `${method}: the body is the usual 404`)
  }
  const refused = await app.inject({ url: '/missing', headers: { origin: EVIL } })
  t.equal(refused.statusCode, 404)
  t.strictSame(corsHeaders(refused.headers), { vary: 'Origin' })
  const noOrigin = await app.inject({ url: '/missing' })
  t.strictSame(corsHeaders(noOrigin.headers), { vary: 'Origin' })
  const wrongMethod = await app.inject({ method: 'PUT', url: '/exists', headers: { origin: APP } })
  t.equal(wrongMethod.statusCode, 404, 'a known path with an unknown method is a 404 too')
  t.equal(wrongMethod.headers['access-control-allow-origin'], APP)
})

t.test('rule 7: a 404 under a public default answers * to every actual request, Origin or not (rule 3)', async (t) => {
  const app = await build({ default: { origins: '*', exposeHeaders: ['x-request-id'] } }, (app) => {
    app.get('/exists', async () => 'exists')
  })
  t.teardown(() => app.close())

  const expected = { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'x-request-id' }
  const table: Array<[string, Record<string, string | string[]>]> = [
    ['an allowed origin', { origin: APP }],
    ['no Origin', {}],
    ['a malformed Origin', { origin: 'https://app .example.com' }],
    ['two Origin values', { origin: `${APP}, ${OTHER}` }],
    ['the null origin', { origin: 'null' }],
    ['OPTIONS with Access-Control-Request-Method but no Origin (not a preflight)', { 'access-control-request-method': 'GET' }],
  ]
  for (const [name, headers] of table) {
    for (const method of ['GET', 'HEAD', 'POST', 'OPTIONS'] as const) {
      if (method !== 'OPTIONS' && headers['access-control-request-method'] !== undefined) continue
      const res = await app.inject({ method, url: '/missing', headers })
      t.equal(res.statusCode, 404, `${method}, ${name}`)
      t.strictSame(corsHeaders(res.headers), expected, `${method}, ${name}: no Vary: Origin either`)
    }
  }
  const pre = await app.inject(preflight('/missing', APP, 'GET'))
  t.equal(pre.statusCode, 404)
  t.strictSame(corsHeaders(pre.headers), {}, 'a preflight that ends in a 404 still carries nothing (rule 12)')
})

t.test('rule 7: a 404 under a named default uses that policy', async (t) => {
  const app = await build({ default: 'app', policies: { app: { origins: [APP], exposeHeaders: ['x-a'] } } }, () => {})
  t.teardown(() => app.close())

  t.strictSame(corsHeaders((await app.inject({ url: '/missing', headers: { origin: APP } })).headers),
    { 'access-control-allow-origin': APP, 'access-control-expose-headers': 'x-a', vary: 'Origin' })
})

t.test('rule 12: a preflight that ends in a 404 carries no CORS headers, even with a default', async (t) => {
  const app = await build({ default: { origins: [APP], credentials: true } }, (app) => {
    app.get('/exists', async () => 'exists')
  })
  t.teardown(() => app.close())

  const res = await app.inject(preflight('/missing', APP, 'GET'))
  t.equal(res.statusCode, 404)
  t.strictSame(corsHeaders(res.headers), {})
})

t.test('rule 7: without a default, a 404 carries nothing', async (t) => {
  const app = await build({ policies: { app: { origins: [APP] } } }, (app) => {
    app.get('/exists', { config: { cors: 'app' } }, async () => 'exists')
  })
  t.teardown(() => app.close())

  for (const origin of [APP, undefined]) {
    const res = await app.inject({ url: '/missing', headers: origin === undefined ? {} : { origin } })
    t.equal(res.statusCode, 404)
    t.strictSame(corsHeaders(res.headers), {})
  }
  const cors = await app.inject({ url: '/exists', headers: { origin: APP } })
  t.equal(cors.headers['access-control-allow-origin'], APP, 'the routes still have theirs')
})

t.test('rule 7: a custom not-found handler of the registering scope carries the default\'s headers', async (t) => {
  const app = await build({ default: { origins: [APP] } }, (app) => {
    app.setNotFoundHandler(async (_request, reply) => reply.code(404).send({ custom: true }))
  })
  t.teardown(() => app.close())

  const res = await app.inject({ url: '/missing', headers: { origin: APP } })
  t.equal(res.statusCode, 404)
  t.equal(res.body, '{"custom":true}')
  t.strictSame(corsHeaders(res.headers), { 'access-control-allow-origin': APP, vary: 'Origin' })
})

t.test('a child scope\'s own not-found handler answers with the child registration\'s default', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(cors, { default: { origins: [APP] } })
  app.register(async (child) => {
    await child.register(cors, { default: { origins: [OTHER], credentials: true } })
    child.setNotFoundHandler(async (_request, reply) => reply.code(404).send('child 404'))
    child.get('/exists', async () => 'exists')
  }, { prefix: '/child' })
  app.register(async (quiet) => {
    await quiet.register(cors, {})
    quiet.setNotFoundHandler(async (_request, reply) => reply.code(404).send('quiet 404'))
  }, { prefix: '/quiet' })
  app.register(async (inherits) => {
    inherits.setNotFoundHandler(async (_request, reply) => reply.code(404).send('inherits 404'))
  }, { prefix: '/inherits' })
  app.register(async (noHandler) => {
    await noHandler.register(cors, { default: { origins: [OTHER] } })
    noHandler.get('/x', async () => 'x')
  }, { prefix: '/no-handler' })
  await app.ready()

  const table: Array<[string, string, string, Record<string, string>]> = [
    ['/child/missing', OTHER, 'child 404', { 'access-control-allow-origin': OTHER, 'access-control-allow-credentials': 'true', vary: 'Origin' }],
    ['/child/missing', APP, 'child 404', { vary: 'Origin' }],
    ['/quiet/missing', APP, 'quiet 404', {}],
    ['/quiet/missing', OTHER, 'quiet 404', {}],
    ['/inherits/missing', APP, 'inherits 404', { 'access-control-allow-origin': APP, vary: 'Origin' }],
    // No handler of its own: the root's handler answers, with the root's default.
    ['/no-handler/missing', APP, '', { 'access-control-allow-origin': APP, vary: 'Origin' }],
    ['/no-handler/missing', OTHER, '', { vary: 'Origin' }],
    ['/missing', APP, '', { 'access-control-allow-origin': APP, vary: 'Origin' }],
  ]
  for (const [url, origin, body, expected] of table) {
    const res = await app.inject({ url, headers: { origin } })
    t.equal(res.statusCode, 404, `${url} from ${origin}`)
    if (body !== '') t.equal(res.body, body, `${url} from ${origin}`)
    t.strictSame(corsHeaders(res.headers), expected, `${url} from ${origin}`)
  }
  for (const url of ['/child/missing', '/quiet/missing', '/inherits/missing', '/missing']) {
    const res = await app.inject(preflight(url, APP, 'GET'))
    t.equal(res.statusCode, 404, `preflight ${url}`)
    t.strictSame(corsHeaders(res.headers), {}, `preflight ${url}`)
  }
})
