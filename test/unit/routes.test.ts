import t from 'tap'
import Fastify, { type FastifyInstance, type RouteOptions } from 'fastify'
import swagger from '@fastify/swagger'
import cors, { CorsPolicyError, CORS_POLICY_INVALID } from '../../lib/index.ts'
import { APP, EVIL, PREFLIGHT_VARY, build, corsHeaders, preflight, startupError } from '../helpers.ts'

// The OPTIONS routes the plugin generates, how they live beside the application's own routes,
// and how registrations in nested and sibling scopes govern their routes.

const OTHER = 'https://other.example.com'

/** Records every OPTIONS route that enters the router, generated or not. */
function optionsRoutes (app: FastifyInstance): string[] {
  const urls: string[] = []
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    if (methods.includes('OPTIONS')) urls.push(route.url)
  })
  return urls
}

function plainOptions (url: string, headers: Record<string, string> = {}) {
  return { method: 'OPTIONS' as const, url, headers }
}

const allowedPreflight = (origin: string, method: string, extra: Record<string, string> = {}) => ({
  'access-control-allow-origin': origin,
  'access-control-allow-methods': method,
  ...extra,
  vary: PREFLIGHT_VARY,
})

t.test('one OPTIONS route per CORS-enabled path, none for paths without a CORS-enabled route', async (t) => {
  let generated: string[] = []
  const app = await build({ policies: { app: { origins: [APP] } } }, (app) => {
    generated = optionsRoutes(app)
    app.get('/a', { config: { cors: 'app' } }, async () => 'a')
    app.post('/a', { config: { cors: 'app' } }, async () => 'a')
    app.delete('/a', { config: { cors: { origins: [OTHER] } } }, async () => 'a')
    app.get('/no-policy', async () => 'no default in this scope')
    app.get('/off', { config: { cors: false } }, async () => 'off')
    app.get('/items/:id', { config: { cors: 'app' } }, async () => 'item')
    app.put('/items/:itemId', { config: { cors: 'app' } }, async () => 'item')
  })
  t.teardown(() => app.close())

  t.strictSame(generated, ['/a', '/items/:id'])
  t.ok(app.hasRoute({ method: 'OPTIONS', url: '/a' }))
  t.notOk(app.hasRoute({ method: 'OPTIONS', url: '/no-policy' }))
  t.notOk(app.hasRoute({ method: 'OPTIONS', url: '/off' }))
  t.equal((await app.inject(plainOptions('/no-policy'))).statusCode, 404)
  t.equal((await app.inject(plainOptions('/off'))).statusCode, 404)
})

t.test('rule 14: plain OPTIONS gets 204 and exactly the path\'s methods in Allow', async (t) => {
  const app = await build({ default: { origins: [APP] } }, (app) => {
    app.get('/read', async () => 'read')
    app.delete('/delete', async () => 'delete')
    app.route({ method: ['GET', 'POST', 'PATCH'], url: '/many', handler: async () => 'many' })
    app.get('/mixed', async () => 'mixed')
    app.delete('/mixed', { config: { cors: false } }, async () => 'mixed')
    app.get('/users/:id', async () => 'user')
    app.put('/users/:userId', async () => 'user')
  })
  t.teardown(() => app.close())

  const table: Array<[string, string]> = [
    ['/read', 'GET, HEAD, OPTIONS'],
    ['/delete', 'DELETE, OPTIONS'],
    ['/many', 'GET, HEAD, OPTIONS, PATCH, POST'],
    ['/mixed', 'DELETE, GET, HEAD, OPTIONS'],
    ['/users/7', 'GET, HEAD, OPTIONS, PUT'],
  ]
  for (const [url, allow] of table) {
    for (const headers of [{}, { origin: APP }, { 'access-control-request-method': 'GET' }] as Array<Record<string, string>>) {
      const res = await app.inject(plainOptions(url, headers))
      const name = `${url} with ${JSON.stringify(headers)}`
      t.equal(res.statusCode, 204, name)
      t.equal(res.body, '', name)
      t.strictSame(corsHeaders(res.headers), { allow }, name)
    }
  }
})

t.test('rule 14: HEAD is listed where there is GET, even when HEAD routes are not exposed', async (t) => {
  const app = await build({ default: { origins: [APP] } }, (app) => {
    app.get('/read', async () => 'read')
  }, { exposeHeadRoutes: false })
  t.teardown(() => app.close())

  t.strictSame(corsHeaders((await app.inject(plainOptions('/read'))).headers), { allow: 'GET, HEAD, OPTIONS' })
})

t.test('never a catch-all: the application\'s wildcard OPTIONS and all-methods routes keep working', async (t) => {
  const app = await build({ default: { origins: [APP] } }, (app) => {
    app.get('/api', async () => 'api')
    app.options('/*', { config: { cors: false } }, async () => 'app wildcard options')
    app.register(async (proxy) => {
      proxy.all('/*', { config: { cors: false } }, async (request) => `proxied ${request.method} ${request.url}`)
    }, { prefix: '/proxy' })
  })
  t.teardown(() => app.close())

  const elsewhere = await app.inject(plainOptions('/elsewhere'))
  t.equal(elsewhere.body, 'app wildcard options')
  const preflightElsewhere = await app.inject(preflight('/elsewhere', APP, 'GET'))
  t.equal(preflightElsewhere.body, 'app wildcard options', 'a preflight on a path without CORS routes reaches the application')
  t.strictSame(corsHeaders(preflightElsewhere.headers), {})

  for (const method of ['GET', 'POST', 'OPTIONS'] as const) {
    const res = await app.inject({ method, url: '/proxy/x/y', headers: { origin: APP } })
    t.equal(res.body, `proxied ${method} /proxy/x/y`, method)
    t.strictSame(corsHeaders(res.headers), {}, method)
  }
  const proxiedPreflight = await app.inject(preflight('/proxy/x', APP, 'GET'))
  t.equal(proxiedPreflight.body, 'proxied OPTIONS /proxy/x')

  const api = await app.inject(preflight('/api', APP, 'GET'))
  t.equal(api.statusCode, 204)
  t.strictSame(corsHeaders(api.headers), allowedPreflight(APP, 'GET'))
  t.strictSame(corsHeaders((await app.inject(plainOptions('/api'))).headers), { allow: 'GET, HEAD, OPTIONS' })
})

t.test('a CORS-enabled wildcard route gets its own generated OPTIONS route, and still no catch-all elsewhere', async (t) => {
  const app = await build({}, (app) => {
    app.get('/files/*', { config: { cors: { origins: [APP] } } }, async () => 'file')
    app.get('/other', async () => 'other')
  })
  t.teardown(() => app.close())

  t.strictSame(corsHeaders((await app.inject(preflight('/files/a/b.txt', APP, 'GET'))).headers), allowedPreflight(APP, 'GET'))
  t.equal((await app.inject(preflight('/other', APP, 'GET'))).statusCode, 404)
})

for (const order of ['before', 'after'] as const) {
  t.test(`rule 14: the application's own OPTIONS route declared ${order} the CORS route answers plain OPTIONS; the plugin answers preflights`, async (t) => {
    let ownCalls = 0
    const app = await build({ policies: { app: { origins: [APP], credentials: true, allowHeaders: ['x-a'] } } }, (app) => {
      const own = () => app.options('/orders', async () => { ownCalls++; return 'own options' })
      if (order === 'before') own()
      app.post('/orders', { config: { cors: 'app' } }, async () => 'ordered')
      app.get('/orders', { config: { cors: { origins: '*' } } }, async () => 'orders')
      if (order === 'after') own()
    })
    t.teardown(() => app.close())

    for (const headers of [{}, { origin: APP }, { 'access-control-request-method': 'POST' }] as Array<Record<string, string>>) {
      const plain = await app.inject(plainOptions('/orders', headers))
      t.equal(plain.statusCode, 200, JSON.stringify(headers))
      t.equal(plain.body, 'own options', JSON.stringify(headers))
      t.strictSame(corsHeaders(plain.headers), {}, `${JSON.stringify(headers)}: the own route is not CORS-enabled`)
    }
    t.equal(ownCalls, 3)

    const post = await app.inject(preflight('/orders', APP, 'POST', 'x-a'))
    t.equal(post.statusCode, 204)
    t.strictSame(corsHeaders(post.headers), allowedPreflight(APP, 'POST', {
      'access-control-allow-credentials': 'true',
      'access-control-allow-headers': 'x-a',
    }))
    const get = await app.inject(preflight('/orders', EVIL, 'GET'))
    t.strictSame(corsHeaders(get.headers), {
      'access-control-allow-origin': '*',
      'access-control-allow-methods': 'GET',
      vary: 'Access-Control-Request-Method, Access-Control-Request-Headers',
    })
    t.equal((await app.inject(preflight('/orders', EVIL, 'POST'))).statusCode, 403)
    t.equal(ownCalls, 3, 'the own route never saw a preflight')
    t.equal((await app.inject({ method: 'POST', url: '/orders', headers: { origin: APP } })).headers['access-control-allow-origin'], APP)
  })
}

t.test('rule 14: own OPTIONS routes on several paths, declared before and after, each keep plain OPTIONS', async (t) => {
  const app = await build({ default: { origins: [APP] } }, (app) => {
    app.options('/a', { config: { cors: false } }, async () => 'own a')
    app.get('/a', async () => 'a')
    app.get('/b', async () => 'b')
    app.options('/b', { config: { cors: false } }, async () => 'own b')
    app.get('/c', async () => 'c')
    app.options('/c', { config: { cors: false } }, async () => 'own c')
  })
  t.teardown(() => app.close())

  for (const path of ['a', 'b', 'c']) {
    t.equal((await app.inject(plainOptions(`/${path}`))).body, `own ${path}`)
    const pre = await app.inject(preflight(`/${path}`, APP, 'GET'))
    t.equal(pre.statusCode, 204, `preflight /${path}`)
    t.strictSame(corsHeaders(pre.headers), allowedPreflight(APP, 'GET'), `preflight /${path}`)
  }
})

t.test('an own OPTIONS route that is CORS-enabled gets actual-request headers on plain OPTIONS, and is a preflight target', async (t) => {
  const app = await build({ default: { origins: [APP] } }, (app) => {
    app.get('/x', async () => 'x')
    app.options('/x', async () => 'own options')
  })
  t.teardown(() => app.close())

  const plain = await app.inject(plainOptions('/x', { origin: APP }))
  t.equal(plain.body, 'own options')
  t.strictSame(corsHeaders(plain.headers), { 'access-control-allow-origin': APP, vary: 'Origin' })
  t.strictSame(corsHeaders((await app.inject(preflight('/x', APP, 'OPTIONS'))).headers), allowedPreflight(APP, 'OPTIONS'))
})

t.test('an own route declaring OPTIONS with other methods goes before the CORS routes of its path', async (t) => {
  const before = await build({ default: { origins: [APP] } }, (app) => {
    app.route({ method: ['GET', 'OPTIONS'], url: '/both', handler: async (request) => `own ${request.method}` })
    app.post('/both', async () => 'post')
  })
  t.teardown(() => before.close())
  t.equal((await before.inject(plainOptions('/both'))).body, 'own OPTIONS')
  t.equal((await before.inject(preflight('/both', APP, 'POST'))).statusCode, 204)

  const after = Fastify()
  t.teardown(() => after.close())
  await after.register(cors, { default: { origins: [APP] } })
  after.post('/both', async () => 'post')
  t.throws(
    () => after.route({ method: ['GET', 'OPTIONS'], url: '/both', handler: async () => 'own' }),
    { name: 'CorsPolicyError', code: CORS_POLICY_INVALID, message: /route GET,OPTIONS \/both: declares OPTIONS together with other methods/ })
})

t.test('rule 8: routes whose parameters are named differently share one OPTIONS route and keep their own policies', async (t) => {
  const app = await build({}, (app) => {
    app.get('/users/:id', { config: { cors: { origins: '*' } } }, async () => 'user')
    app.put('/users/:userId', { config: { cors: { origins: [APP], credentials: true } } }, async () => 'saved')
  })
  t.teardown(() => app.close())

  t.strictSame(corsHeaders((await app.inject(preflight('/users/3', OTHER, 'GET'))).headers), {
    'access-control-allow-origin': '*',
    'access-control-allow-methods': 'GET',
    vary: 'Access-Control-Request-Method, Access-Control-Request-Headers',
  })
  t.strictSame(corsHeaders((await app.inject(preflight('/users/3', APP, 'PUT'))).headers),
    allowedPreflight(APP, 'PUT', { 'access-control-allow-credentials': 'true' }))
  t.equal((await app.inject(preflight('/users/3', OTHER, 'PUT'))).statusCode, 403)
})

t.test('a non-CORS route first on a path does not stop the OPTIONS route of a later CORS route there', async (t) => {
  const app = await build({}, (app) => {
    app.get('/users/:id', { config: { cors: false } }, async () => 'user')
    app.put('/users/:userId', { config: { cors: { origins: [APP] } } }, async () => 'saved')
  })
  t.teardown(() => app.close())

  t.equal((await app.inject(preflight('/users/3', APP, 'PUT'))).statusCode, 204)
  t.equal((await app.inject(preflight('/users/3', APP, 'GET'))).statusCode, 403)
  t.strictSame(corsHeaders((await app.inject(plainOptions('/users/3'))).headers), { allow: 'GET, HEAD, OPTIONS, PUT' })
})

for (const ignoreTrailingSlash of [false, true]) {
  t.test(`prefixes: routes '/' and '/x' under /v1 get their OPTIONS routes (ignoreTrailingSlash: ${ignoreTrailingSlash})`, async (t) => {
    const app = Fastify({ routerOptions: { ignoreTrailingSlash } })
    t.teardown(() => app.close())
    await app.register(cors, { default: { origins: [APP] } })
    app.register(async (v1) => {
      v1.get('/', async () => 'root')
      v1.delete('/', async () => 'root')
      v1.post('/x', async () => 'x')
    }, { prefix: '/v1' })
    app.register(async (v2) => {
      v2.post('/', async () => 'no HEAD route to lean on')
      v2.put('/', { prefixTrailingSlash: 'no-slash' }, async () => 'only /v2')
    }, { prefix: '/v2' })
    app.get('/', async () => 'top')
    await app.ready()

    const urls: Array<[string, string, string]> = [
      ['/v1', 'GET', 'DELETE, GET, HEAD, OPTIONS'],
      ['/v1/', 'GET', 'DELETE, GET, HEAD, OPTIONS'],
      ['/v1', 'DELETE', 'DELETE, GET, HEAD, OPTIONS'],
      ['/v1/', 'DELETE', 'DELETE, GET, HEAD, OPTIONS'],
      ['/v1/x', 'POST', 'OPTIONS, POST'],
      ['/v2', 'POST', 'OPTIONS, POST, PUT'],
      ['/v2/', 'POST', ignoreTrailingSlash ? 'OPTIONS, POST, PUT' : 'OPTIONS, POST'],
      ['/v2', 'PUT', 'OPTIONS, POST, PUT'],
      ['/', 'GET', 'GET, HEAD, OPTIONS'],
    ]
    if (ignoreTrailingSlash) urls.push(['/v1/x/', 'POST', 'OPTIONS, POST'], ['/v2/', 'PUT', 'OPTIONS, POST, PUT'])
    for (const [url, method, allow] of urls) {
      const pre = await app.inject(preflight(url, APP, method))
      t.equal(pre.statusCode, 204, `preflight ${method} ${url}`)
      t.strictSame(corsHeaders(pre.headers), allowedPreflight(APP, method), `preflight ${method} ${url}`)
      const plain = await app.inject(plainOptions(url))
      t.equal(plain.statusCode, 204, `plain OPTIONS ${url}`)
      t.equal(plain.headers.allow, allow, `plain OPTIONS ${url}`)
      const actual = await app.inject({ method: method as 'GET' | 'POST', url, headers: { origin: APP } })
      t.equal(actual.statusCode, 200, `${method} ${url}`)
      t.equal(actual.headers['access-control-allow-origin'], APP, `${method} ${url}`)
    }
    if (!ignoreTrailingSlash) {
      t.equal((await app.inject(preflight('/v1/x/', APP, 'POST'))).statusCode, 404, 'no route, no OPTIONS route')
      t.equal((await app.inject(preflight('/v2/', APP, 'PUT'))).statusCode, 403, 'PUT declared no-slash has no /v2/ route')
    }
  })
}

t.test('prefixes: an own OPTIONS route on \'/\' under a prefix keeps plain OPTIONS on both of its URLs', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(cors, { default: { origins: [APP] } })
  app.register(async (before) => {
    before.options('/', { config: { cors: false } }, async () => 'own before')
    before.post('/', async () => 'post')
  }, { prefix: '/before' })
  app.register(async (after) => {
    after.post('/', async () => 'post')
    after.options('/', { config: { cors: false } }, async () => 'own after')
  }, { prefix: '/after' })
  await app.ready()

  for (const url of ['/before', '/before/', '/after', '/after/']) {
    const own = url.startsWith('/before') ? 'own before' : 'own after'
    t.equal((await app.inject(plainOptions(url))).body, own, `plain OPTIONS ${url}`)
    const pre = await app.inject(preflight(url, APP, 'POST'))
    t.strictSame(corsHeaders(pre.headers), allowedPreflight(APP, 'POST'), `preflight ${url}`)
  }
})

t.test('encapsulation: a child scope that registers the plugin again governs its own routes', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(cors, { default: { origins: [APP] }, policies: { p: { origins: [APP], credentials: true } } })
  app.get('/parent', async () => 'parent')
  app.get('/parent/p', { config: { cors: 'p' } }, async () => 'parent p')
  app.register(async (child) => {
    await child.register(cors, { default: { origins: [OTHER] }, policies: { p: { origins: [OTHER], exposeHeaders: ['x-child'] } } })
    child.get('/', async () => 'child')
    child.get('/p', { config: { cors: 'p' } }, async () => 'child p')
    child.register(async (grandchild) => {
      grandchild.get('/deep', async () => 'grandchild')
    })
  }, { prefix: '/child' })
  app.register(async (plain) => {
    plain.get('/inherits', async () => 'inherits')
  })
  await app.ready()

  const table: Array<[string, string, Record<string, string>]> = [
    ['/parent', APP, { 'access-control-allow-origin': APP, vary: 'Origin' }],
    ['/parent/p', APP, { 'access-control-allow-origin': APP, 'access-control-allow-credentials': 'true', vary: 'Origin' }],
    ['/inherits', APP, { 'access-control-allow-origin': APP, vary: 'Origin' }],
    ['/child', OTHER, { 'access-control-allow-origin': OTHER, vary: 'Origin' }],
    ['/child', APP, { vary: 'Origin' }],
    ['/child/p', OTHER, { 'access-control-allow-origin': OTHER, 'access-control-expose-headers': 'x-child', vary: 'Origin' }],
    ['/child/p', APP, { vary: 'Origin' }],
    ['/child/deep', OTHER, { 'access-control-allow-origin': OTHER, vary: 'Origin' }],
    ['/child/deep', APP, { vary: 'Origin' }],
  ]
  for (const [url, origin, expected] of table) {
    t.strictSame(corsHeaders((await app.inject({ url, headers: { origin } })).headers), expected, `GET ${url} from ${origin}`)
  }
  t.equal((await app.inject(preflight('/child/p', OTHER, 'GET'))).statusCode, 204)
  t.equal((await app.inject(preflight('/child/p', APP, 'GET'))).statusCode, 403)
  t.equal((await app.inject(preflight('/parent/p', APP, 'GET'))).statusCode, 204)
})

t.test('encapsulation: the parent\'s default leaves the routes of a child registration without a default alone', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(cors, { default: { origins: [APP] } })
  app.register(async (child) => {
    await child.register(cors, { policies: { other: { origins: [OTHER] } } })
    child.get('/quiet', async () => 'no CORS here')
    child.get('/named', { config: { cors: 'other' } }, async () => 'named')
  })
  await app.ready()

  t.strictSame(corsHeaders((await app.inject({ url: '/quiet', headers: { origin: APP } })).headers), {})
  t.equal((await app.inject(preflight('/quiet', APP, 'GET'))).statusCode, 404)
  t.strictSame(corsHeaders((await app.inject({ url: '/named', headers: { origin: OTHER } })).headers),
    { 'access-control-allow-origin': OTHER, vary: 'Origin' })
})

t.test('encapsulation: sibling registrations on the same path do not collide; each preflight uses its route\'s policy', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(async (first) => {
    await first.register(cors, { default: 'p', policies: { p: { origins: [APP], credentials: true } } })
    first.get('/same', async () => 'first')
  })
  app.register(async (second) => {
    await second.register(cors, { default: 'p', policies: { p: { origins: [OTHER], allowHeaders: ['x-second'] } } })
    second.post('/same', async () => 'second')
  })
  await app.ready()

  t.strictSame(corsHeaders((await app.inject(preflight('/same', APP, 'GET'))).headers),
    allowedPreflight(APP, 'GET', { 'access-control-allow-credentials': 'true' }))
  t.equal((await app.inject(preflight('/same', OTHER, 'GET'))).statusCode, 403)
  t.strictSame(corsHeaders((await app.inject(preflight('/same', OTHER, 'POST', 'x-second'))).headers),
    allowedPreflight(OTHER, 'POST', { 'access-control-allow-headers': 'x-second' }))
  t.equal((await app.inject(preflight('/same', APP, 'POST'))).statusCode, 403)

  t.strictSame(corsHeaders((await app.inject({ method: 'GET', url: '/same', headers: { origin: APP } })).headers),
    { 'access-control-allow-origin': APP, 'access-control-allow-credentials': 'true', vary: 'Origin' })
  t.strictSame(corsHeaders((await app.inject({ method: 'POST', url: '/same', headers: { origin: OTHER } })).headers),
    { 'access-control-allow-origin': OTHER, vary: 'Origin' })
  t.strictSame(corsHeaders((await app.inject({ method: 'POST', url: '/same', headers: { origin: APP } })).headers), { vary: 'Origin' })
  t.strictSame(corsHeaders((await app.inject(plainOptions('/same'))).headers), { allow: 'GET, HEAD, OPTIONS, POST' })
})

t.test('encapsulation: registering the plugin twice in one scope is a CorsPolicyError', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(cors, { default: { origins: [APP] } })
  app.register(cors, { default: { origins: [OTHER] } })
  await t.rejects(async () => { await app.ready() }, { name: 'CorsPolicyError', code: CORS_POLICY_INVALID, message: /registered twice in the same scope/ })

  const child = Fastify()
  t.teardown(() => child.close())
  child.register(async (scope) => {
    await scope.register(cors, {})
    await scope.register(cors, {})
  })
  const err = await child.ready().then(() => null, (e: unknown) => e)
  t.ok(err instanceof CorsPolicyError, 'twice in a child scope too')
})

t.test('cors: false routes never get CORS headers, whatever the scope\'s default', async (t) => {
  const app = await build({ default: { origins: [APP], credentials: true } }, (app) => {
    app.get('/off', { config: { cors: false } }, async () => 'off')
    app.get('/schema-off', { schema: { cors: false } }, async () => 'off')
    app.get('/on', async () => 'on')
    app.delete('/on', { config: { cors: false } }, async () => 'deleted')
  })
  t.teardown(() => app.close())

  for (const url of ['/off', '/schema-off']) {
    for (const method of ['GET', 'HEAD'] as const) {
      const res = await app.inject({ method, url, headers: { origin: APP } })
      t.equal(res.statusCode, 200, `${method} ${url}`)
      t.strictSame(corsHeaders(res.headers), {}, `${method} ${url}`)
    }
    t.equal((await app.inject(preflight(url, APP, 'GET'))).statusCode, 404, `preflight ${url}`)
  }
  const del = await app.inject({ method: 'DELETE', url: '/on', headers: { origin: APP } })
  t.strictSame(corsHeaders(del.headers), {})
  t.equal((await app.inject(preflight('/on', APP, 'DELETE'))).statusCode, 403)
})

t.test('schema.cors declares the policy and is kept out of the schema Fastify compiles', async (t) => {
  const seen: unknown[] = []
  const app = await build({ policies: { partners: { origins: ['https://*.partner.example'], exposeHeaders: ['x-request-id'] } } }, (app) => {
    app.get('/report', {
      schema: { cors: 'partners', querystring: { type: 'object', properties: { year: { type: 'integer' } }, required: ['year'] } },
    }, async (request) => {
      seen.push(request.routeOptions.schema)
      return 'report'
    })
    app.put('/inline', { schema: { cors: { origins: [APP] } } }, async () => 'inline')
  })
  t.teardown(() => app.close())

  const origin = 'https://a.partner.example'
  const expected = { 'access-control-allow-origin': origin, 'access-control-expose-headers': 'x-request-id', vary: 'Origin' }
  const ok = await app.inject({ url: '/report?year=2024', headers: { origin } })
  t.equal(ok.statusCode, 200)
  t.strictSame(corsHeaders(ok.headers), expected)
  t.strictSame(seen.map((schema) => Object.keys(schema as object)), [['querystring']], 'the route\'s schema has no cors key left')
  const bad = await app.inject({ url: '/report?year=soon', headers: { origin } })
  t.equal(bad.statusCode, 400, 'the rest of the schema still validates')
  t.strictSame(corsHeaders(bad.headers), expected)
  t.strictSame(corsHeaders((await app.inject({ method: 'HEAD', url: '/report?year=2024', headers: { origin } })).headers), expected,
    'the HEAD route Fastify derives carries the same policy')

  t.equal((await app.inject(preflight('/inline', APP, 'PUT'))).statusCode, 204)
  t.equal((await app.inject(preflight('/inline', origin, 'PUT'))).statusCode, 403)
})

for (const order of ['before', 'after'] as const) {
  t.test(`OpenAPI: generated OPTIONS routes and schema.cors stay out of the document (swagger registered ${order} the plugin)`, async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    const registerSwagger = () => app.register(swagger, { openapi: { info: { title: 'api', version: '1.0.0' } } })
    if (order === 'before') await registerSwagger()
    await app.register(cors, { default: { origins: [APP] }, policies: { public: { origins: '*' } } })
    if (order === 'after') await registerSwagger()
    app.get('/items', { schema: { cors: 'public', querystring: { type: 'object', properties: { q: { type: 'string' } } } } }, async () => [])
    app.post('/items', async () => 'created')
    app.options('/own', async () => 'own')
    app.get('/own', async () => 'own')
    await app.ready()

    const doc = app.swagger() as { paths: Record<string, Record<string, unknown>> }
    t.strictSame(Object.keys(doc.paths).sort(), ['/items', '/own'])
    t.strictSame(Object.keys(doc.paths['/items'] ?? {}).sort(), ['get', 'post'], 'no generated options operation')
    t.strictSame(Object.keys(doc.paths['/own'] ?? {}).sort(), ['get', 'options'], 'the application\'s own OPTIONS route is documented')
    t.notMatch(JSON.stringify(doc), /"cors"/, 'schema.cors is not documented')
  })
}

t.test('rule 8: preflight targets are found with the application\'s router options', async (t) => {
  const table: Array<[string, Record<string, unknown>, string, string]> = [
    ['caseSensitive: false', { routerOptions: { caseSensitive: false } }, '/Users/7', '/users/:id'],
    ['ignoreDuplicateSlashes', { routerOptions: { ignoreDuplicateSlashes: true } }, '//users//7', '/users/:id'],
    ['useSemicolonDelimiter', { routerOptions: { useSemicolonDelimiter: true } }, '/users/7;jsessionid=1', '/users/:id'],
    ['maxParamLength', { routerOptions: { maxParamLength: 300 } }, '/users/' + 'a'.repeat(250), '/users/:id'],
    ['ignoreTrailingSlash', { routerOptions: { ignoreTrailingSlash: true } }, '/users/7/', '/users/:id'],
  ]
  for (const [name, server, url, route] of table) {
    const app = await build({ default: { origins: [APP] } }, (app) => {
      app.put(route, async () => 'saved')
    }, server)
    t.teardown(() => app.close())
    const actual = await app.inject({ method: 'PUT', url, headers: { origin: APP } })
    t.equal(actual.statusCode, 200, `${name}: the application routes ${url}`)
    const res = await app.inject(preflight(url, APP, 'PUT'))
    t.equal(res.statusCode, 204, `${name}: so does the preflight`)
    t.strictSame(corsHeaders(res.headers), allowedPreflight(APP, 'PUT'), name)
  }
})

t.test('rule 8: routes constrained by host answer preflights with their own policies', async (t) => {
  const app = await build({}, (app) => {
    app.put('/x', { constraints: { host: 'a.api.example' }, config: { cors: { origins: [APP] } } }, async () => 'a')
    app.put('/x', { constraints: { host: 'b.api.example' }, config: { cors: { origins: [OTHER] } } }, async () => 'b')
    app.put('/x', { config: { cors: false } }, async () => 'any host')
  })
  t.teardown(() => app.close())

  const ask = (host: string, origin: string) => {
    const request = preflight('/x', origin, 'PUT')
    return app.inject({ ...request, headers: { ...request.headers, host } })
  }
  t.equal((await ask('a.api.example', APP)).statusCode, 204)
  t.equal((await ask('a.api.example', OTHER)).statusCode, 403)
  t.equal((await ask('b.api.example', OTHER)).statusCode, 204)
  t.equal((await ask('b.api.example', APP)).statusCode, 403)
  t.equal((await ask('c.api.example', APP)).statusCode, 403, 'another host hits the route without CORS')
})

t.test('rule 8: routes that differ only by constraints a preflight does not carry must share their policy', async (t) => {
  const refused = await startupError({}, (app) => {
    app.put('/v', { constraints: { version: '1.0.0' }, config: { cors: { origins: [APP] } } }, async () => 'v1')
    app.put('/v', { constraints: { version: '2.0.0' }, config: { cors: { origins: [OTHER] } } }, async () => 'v2')
  })
  t.ok(refused instanceof CorsPolicyError)
  t.equal((refused as CorsPolicyError).code, CORS_POLICY_INVALID)
  t.equal((refused as Error).message,
    'route PUT /v (version 2.0.0): has another CORS policy than the route PUT /v (version 1.0.0), and the two differ only by ' +
    'constraints that a preflight does not carry (a version, a custom strategy): a preflight cannot tell which of them the ' +
    'browser will call; give both the same policy (one name, or equal inline policies), or put them on different paths')

  const unversioned = await startupError({ policies: { a: { origins: [APP] }, b: { origins: [APP] } } }, (app) => {
    app.put('/u', { config: { cors: 'a' } }, async () => 'latest')
    app.put('/u', { constraints: { version: '1.0.0' }, config: { cors: 'b' } }, async () => 'v1')
  })
  t.match((unversioned as Error).message, /^route PUT \/u \(version 1\.0\.0\): has another CORS policy than the route PUT \/u \(no constraint\)/,
    'two names are two policies, even when equal today: either may be replaced alone')

  const off = await startupError({ default: { origins: [APP] } }, (app) => {
    app.put('/o', { constraints: { version: '1.0.0' } }, async () => 'v1')
    app.put('/o', { constraints: { version: '2.0.0' }, config: { cors: false } }, async () => 'v2')
  })
  t.match((off as Error).message, /^route PUT \/o \(version 2\.0\.0\): has another CORS policy than the route PUT \/o \(version 1\.0\.0\)/)

  const app = await build({ policies: { p: { origins: [APP] } } }, (app) => {
    app.put('/named', { constraints: { version: '1.0.0' }, config: { cors: 'p' } }, async () => 'v1')
    app.put('/named', { constraints: { version: '2.0.0' }, config: { cors: 'p' } }, async () => 'v2')
    app.put('/inline', { constraints: { version: '1.0.0' }, config: { cors: { origins: [OTHER] } } }, async () => 'v1')
    app.put('/inline', { config: { cors: { origins: [OTHER] } } }, async () => 'latest')
    app.put('/off', { constraints: { version: '1.0.0' }, config: { cors: false } }, async () => 'v1')
    app.put('/off', { constraints: { version: '2.0.0' }, config: { cors: false } }, async () => 'v2')
    app.get('/off', { config: { cors: 'p' } }, async () => 'a CORS route on the path')
  })
  t.teardown(() => app.close())
  t.equal((await app.inject(preflight('/named', APP, 'PUT'))).statusCode, 204, 'one name')
  t.equal((await app.inject(preflight('/named', OTHER, 'PUT'))).statusCode, 403)
  t.equal((await app.inject(preflight('/inline', OTHER, 'PUT'))).statusCode, 204, 'equal inline policies')
  t.equal((await app.inject(preflight('/off', APP, 'PUT'))).statusCode, 403, 'both without CORS')
  const v2 = await app.inject({ method: 'PUT', url: '/named', headers: { origin: APP, 'accept-version': '2.0.0' } })
  t.equal(v2.body, 'v2')
  t.equal(v2.headers['access-control-allow-origin'], APP)
})

t.test('rule 8: a custom constraint strategy, which a preflight does not carry, is held to the same rule', async (t) => {
  const tenant = {
    name: 'tenant',
    storage () {
      const stores = new Map<unknown, unknown>()
      return { get: (value: unknown) => stores.get(value) ?? null, set: (value: unknown, store: unknown) => { stores.set(value, store) } }
    },
    deriveConstraint: (req: { headers: Record<string, unknown> }) => req.headers['x-tenant'] as string | undefined,
    mustMatchWhenDerived: false,
  }
  const err = await startupError({}, (app) => {
    app.addConstraintStrategy(tenant as unknown as Parameters<FastifyInstance['addConstraintStrategy']>[0])
    app.delete('/t', { constraints: { tenant: 'a' }, config: { cors: { origins: [APP] } } }, async () => 'a')
    app.delete('/t', { constraints: { tenant: 'b' }, config: { cors: { origins: [APP], credentials: true } } }, async () => 'b')
  })
  t.match((err as Error).message, /^route DELETE \/t \(tenant b\): has another CORS policy than the route DELETE \/t \(tenant a\)/)
})

t.test('rule 8: each method\'s routes join the preflight lookup on its first preflight', async (t) => {
  const app = await build({}, (app) => {
    app.put('/m', { constraints: { version: '1.0.0' }, config: { cors: { origins: [APP] } } }, async () => 'v1')
    app.get('/m/:id', { config: { cors: { origins: [OTHER] } } }, async () => 'one')
    app.put('/m', { constraints: { version: '2.0.0' }, config: { cors: { origins: [APP] } } }, async () => 'v2')
    app.get('/m/me', { config: { cors: false } }, async () => 'me')
  })
  t.teardown(() => app.close())

  t.equal((await app.inject(preflight('/m/7', OTHER, 'GET'))).statusCode, 204, 'GET first')
  t.equal((await app.inject(preflight('/m/me', OTHER, 'GET'))).statusCode, 403, 'the static route, declared later, is selected')
  t.equal((await app.inject(preflight('/m', APP, 'PUT'))).statusCode, 204, 'then PUT')
  t.equal((await app.inject(preflight('/m', OTHER, 'PUT'))).statusCode, 403)
  t.equal((await app.inject(preflight('/m/7', OTHER, 'GET'))).statusCode, 204, 'GET still answers')
  t.equal((await app.inject(preflight('/m/7', OTHER, 'DELETE'))).statusCode, 403, 'no route for DELETE')
})

t.test('an optional last parameter: the route answers with and without it, and so do its preflights', async (t) => {
  const app = await build({ default: { origins: [APP] } }, (app) => {
    app.get('/a', async () => 'a')
    app.post('/a/:id?', async () => 'a id')
    app.get('/b/:x', async () => 'b x')
    app.post('/b/:id?', async () => 'b id')
  })
  t.teardown(() => app.close())
  for (const url of ['/a', '/a/5', '/b', '/b/5']) {
    const res = await app.inject(preflight(url, APP, 'POST'))
    t.equal(res.statusCode, 204, `preflight for POST ${url}`)
    t.equal(res.headers['access-control-allow-origin'], APP)
  }
  t.equal((await app.inject({ method: 'OPTIONS', url: '/a' })).headers.allow, 'GET, HEAD, OPTIONS, POST')
  t.equal((await app.inject({ method: 'OPTIONS', url: '/b/5' })).headers.allow, 'GET, HEAD, OPTIONS, POST')
  t.equal((await app.inject({ method: 'OPTIONS', url: '/b' })).headers.allow, 'OPTIONS, POST')
  const root = await build({ default: { origins: [APP] } }, (app) => { app.put('/:lang?', async () => 'root') })
  t.teardown(() => root.close())
  t.equal((await root.inject(preflight('/', APP, 'PUT'))).statusCode, 204, 'an optional parameter at the root answers on /')
  t.equal((await root.inject(preflight('/en', APP, 'PUT'))).statusCode, 204)
})
