import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import cors, { CorsPolicyError, CORS_POLICY_INVALID } from '../../lib/index.ts'
import { parsePrintedRoutes } from '../../lib/fastify/earlier-routes.ts'
import { APP, EVIL, PREFLIGHT_VARY, corsHeaders, logCapture, preflight } from '../helpers.ts'

// Where applications meet the plugin: registration without await, routes the plugin cannot see,
// hooks of parent scopes.

const OTHER = 'https://other.example.com'
const FIX = 'was declared before fastify-cors-policy loaded, so the plugin cannot govern it (no CORS headers, preflights answered 404); ' +
  'register the plugin first and await it, before declaring routes and before registering plugins that declare routes: await app.register(cors, options)'

async function readyError (app: FastifyInstance): Promise<unknown> {
  return app.ready().then(() => null, (err: unknown) => err)
}

t.test('registration without await, then routes, at the root: ready() rejects, listing each route and the fix', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(cors, { default: { origins: [APP] } })
  app.get('/a', async () => 'a')
  app.put('/users/:id', async () => 'b')
  const err = await readyError(app)
  t.ok(err instanceof CorsPolicyError)
  t.equal((err as CorsPolicyError).code, CORS_POLICY_INVALID)
  t.strictSame((err as CorsPolicyError).problems, [
    { where: 'route GET,HEAD /a', path: '', message: FIX },
    { where: 'route PUT /users/:id', path: '', message: FIX },
  ])
})

t.test('a plugin that declares routes, registered before this one: its routes are listed too', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(async (api) => {
    api.delete('/items/:id', async () => 'deleted')
    api.register(async (deeper) => { deeper.post('/', async () => 'posted') }, { prefix: '/deeper' })
  }, { prefix: '/api' })
  app.register(cors, { default: { origins: [APP] } })
  const err = await readyError(app)
  t.strictSame((err as CorsPolicyError).problems.map((p) => p.where), [
    'route DELETE /api/items/:id',
    'route POST /api/deeper',
    'route POST /api/deeper/',
  ])
})

t.test('registration without await, then plugins that declare routes: governed, as with await', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(cors, { default: { origins: [APP], credentials: true } })
  app.register(async (api) => {
    api.delete('/items/:id', async () => 'deleted')
  }, { prefix: '/api' })
  await app.ready()
  t.strictSame(corsHeaders((await app.inject(preflight('/api/items/7', APP, 'DELETE'))).headers), {
    'access-control-allow-origin': APP,
    'access-control-allow-credentials': 'true',
    'access-control-allow-methods': 'DELETE',
    vary: PREFLIGHT_VARY,
  })
  t.strictSame(corsHeaders((await app.inject({ method: 'DELETE', url: '/api/items/7', headers: { origin: APP } })).headers),
    { 'access-control-allow-origin': APP, 'access-control-allow-credentials': 'true', vary: 'Origin' })
})

t.test('routes of an earlier registration in a child scope are not listed by a later one at the root', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(async (child) => {
    await child.register(cors, { default: { origins: [OTHER] } })
    child.get('/', async () => 'child')
    child.put('/:id', async () => 'child')
    child.put('/:name/x', async () => 'child')
    child.put('/:other/x', { constraints: { version: '1.0.0' } }, async () => 'child')
  }, { prefix: '/child' })
  await app.register(cors, { default: { origins: [APP] } })
  app.get('/root', async () => 'root')
  await app.ready()
  t.equal((await app.inject(preflight('/child/7', OTHER, 'PUT'))).statusCode, 204)
  t.equal((await app.inject(preflight('/child/7', APP, 'PUT'))).statusCode, 403)
  t.equal((await app.inject(preflight('/root', APP, 'GET'))).statusCode, 204)
})

t.test('in a child scope, routes declared before the registration are logged at warn, with the fix', async (t) => {
  const { logger, lines } = logCapture('warn')
  const app = Fastify({ logger })
  t.teardown(() => app.close())
  app.get('/elsewhere', async () => 'not under the prefix')
  app.register(async (api) => {
    api.get('/early', async () => 'early')
    await api.register(cors, { default: { origins: [APP] } })
    api.get('/late', async () => 'late')
  }, { prefix: '/api' })
  await app.ready()

  const warnings = lines.filter((line) => line.level === 40)
  t.equal(warnings.length, 1)
  t.strictSame(warnings[0]?.routes, ['GET,HEAD /api/early'])
  t.match(warnings[0]?.msg, /^fastify-cors-policy was registered in the scope "\/api" after these routes under its prefix were declared, and cannot govern them: GET,HEAD \/api\/early\. If they belong to this scope, register the plugin first in it and await it/)
  t.strictSame(corsHeaders((await app.inject({ url: '/api/early', headers: { origin: APP } })).headers), {}, 'not governed')
  t.equal((await app.inject({ url: '/api/late', headers: { origin: APP } })).headers['access-control-allow-origin'], APP)
})

t.test('in a child scope with nothing declared before, nothing is logged', async (t) => {
  const { logger, lines } = logCapture('warn')
  const app = Fastify({ logger })
  t.teardown(() => app.close())
  app.register(async (api) => {
    await api.register(cors, { default: { origins: [APP] } })
    api.get('/x', async () => 'x')
  }, { prefix: '/api' })
  await app.ready()
  t.strictSame(lines.filter((line) => line.level >= 40), [])
})

t.test('rule 8 among all routes: a neighbour\'s route that the router selects is never judged by a governed route\'s policy', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(async (governed) => {
    await governed.register(cors, { default: { origins: [APP], credentials: true } })
    governed.delete('/items/:id', async () => 'deleted')
    governed.put('/items/:id', { constraints: { version: '1.0.0' } }, async () => 'v1')
    governed.put('/items/:id', { constraints: { version: '2.0.0' } }, async () => 'v2')
    governed.get('/hosts', { constraints: { host: 'a.example' } }, async () => 'a')
  })
  app.register(async (neighbour) => {
    neighbour.delete('/items/special', async () => 'nobody allowed this')
    neighbour.get('/hosts', { constraints: { host: 'b.example' } }, async () => 'b')
  })
  await app.ready()

  const special = await app.inject(preflight('/items/special', APP, 'DELETE'))
  t.equal(special.statusCode, 403)
  t.strictSame(corsHeaders(special.headers), { vary: PREFLIGHT_VARY })
  const special2 = await app.inject(preflight('/items/special?x=1', APP, 'DELETE'))
  t.equal(special2.statusCode, 403, 'with a query string')
  t.equal((await app.inject(preflight('/items/7', APP, 'DELETE'))).statusCode, 204)
  t.equal((await app.inject(preflight('/items/7', APP, 'PUT'))).statusCode, 204, 'versioned routes, which a preflight cannot select, stay targets')
  const host = (name: string) => app.inject({ ...preflight('/hosts', APP, 'GET'), headers: { ...preflight('/hosts', APP, 'GET').headers, host: name } })
  t.equal((await host('a.example')).statusCode, 204)
  t.equal((await host('b.example')).statusCode, 403)
  t.equal((await app.inject({ method: 'DELETE', url: '/items/special', headers: { origin: APP } })).body, 'nobody allowed this')
})

t.test('rule 8 among all routes: a route declared before the registration in its own scope is not judged by a later one\'s policy', async (t) => {
  const { logger } = logCapture('warn')
  const app = Fastify({ logger })
  t.teardown(() => app.close())
  app.register(async (scope) => {
    scope.delete('/items/special', async () => 'declared first')
    await scope.register(cors, { default: { origins: [APP], credentials: true } })
    scope.delete('/items/:id', async () => 'deleted')
  })
  await app.ready()
  t.equal((await app.inject(preflight('/items/special', APP, 'DELETE'))).statusCode, 403)
  t.equal((await app.inject(preflight('/items/7', APP, 'DELETE'))).statusCode, 204)
})

t.test('rule 13: a child registration\'s preflights are answered before the hooks added after the root registration', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  const seen: string[] = []
  app.addHook('onRequest', async (request) => { seen.push(`before ${request.method}`) })
  await app.register(cors, { default: { origins: [APP] } })
  app.addHook('onRequest', async (request, reply) => {
    seen.push(`auth ${request.method}`)
    if (request.headers.authorization === undefined) return reply.code(401).send({ error: 'unauthorized' })
  })
  app.get('/root', async () => 'root')
  app.register(async (child) => {
    child.addHook('onRequest', async (request) => { seen.push(`child ${request.method}`) })
    await child.register(cors, { policies: { partners: { origins: [OTHER], allowHeaders: ['x-key'] } } })
    child.put('/orders', { config: { cors: 'partners' } }, async () => 'ordered')
    child.register(async (grandchild) => {
      await grandchild.register(cors, { default: { origins: [EVIL] } })
      grandchild.delete('/deep', async () => 'deep')
    })
  }, { prefix: '/child' })
  await app.ready()

  const allowed = await app.inject(preflight('/child/orders', OTHER, 'PUT', 'x-key'))
  t.equal(allowed.statusCode, 204)
  t.strictSame(corsHeaders(allowed.headers), {
    'access-control-allow-origin': OTHER,
    'access-control-allow-methods': 'PUT',
    'access-control-allow-headers': 'x-key',
    vary: PREFLIGHT_VARY,
  })
  t.equal((await app.inject(preflight('/child/orders', APP, 'PUT'))).statusCode, 403, 'refused by the child\'s policy, not 401')
  t.equal((await app.inject(preflight('/child/deep', EVIL, 'DELETE'))).statusCode, 204, 'a grandchild registration too')
  t.equal((await app.inject(preflight('/root', APP, 'GET'))).statusCode, 204)
  t.strictSame(seen, ['before OPTIONS', 'before OPTIONS', 'before OPTIONS', 'before OPTIONS'], 'only the hook added before the first registration ran')

  seen.length = 0
  const actual = await app.inject({ method: 'PUT', url: '/child/orders', headers: { origin: OTHER } })
  t.equal(actual.statusCode, 401, 'actual requests meet the auth hook')
  t.strictSame(corsHeaders(actual.headers), { 'access-control-allow-origin': OTHER, vary: 'Origin' }, 'and the 401 carries the route\'s CORS headers')
  t.strictSame(seen, ['before PUT', 'auth PUT'])
  const plain = await app.inject({ method: 'OPTIONS', url: '/child/orders', headers: { origin: OTHER } })
  t.equal(plain.statusCode, 401, 'a plain OPTIONS is no preflight: it meets the auth hook')
})

t.test('printRoutes trees are read back into routes', async (t) => {
  const app = Fastify({ exposeHeadRoutes: false })
  t.teardown(() => app.close())
  app.get('/files/*', async () => 'file')
  app.route({ method: ['GET', 'POST'], url: '/multi', handler: async () => 'multi' })
  app.get('/v', { constraints: { version: '1.0.0' } }, async () => 'v1')
  app.post('/v', { constraints: { version: '2.0.0' } }, async () => 'v2')
  app.get('/a/:x(^\\d+$)/b', async () => 'regexp parameter')
  app.get('/u/:id', async () => 'u')
  app.put('/u/:userId', async () => 'u')
  app.register(async (child) => {
    child.get('/', async () => 'child')
    child.get('/z', async () => 'z')
  }, { prefix: '/child' })
  await app.ready()
  const byUrl = Object.fromEntries(parsePrintedRoutes(app.printRoutes()).map((route) => [route.url, route.methods.join(',')]))
  t.strictSame(byUrl, {
    '/files/*': 'GET',
    '/multi': 'GET,POST',
    '/v': 'GET,POST',
    '/a/:x(^\\d+$)/b': 'GET',
    '/u/:id|:userId': 'GET,PUT',
    '/child': 'GET',
    '/child/': 'GET',
    '/child/z': 'GET',
  })
  t.strictSame(parsePrintedRoutes(Fastify().printRoutes()), [])
  t.strictSame(parsePrintedRoutes('└── (empty root node)\n    ├── a (GET)\n    └── /b (PUT)\n'), [
    { methods: ['GET'], url: 'a' },
    { methods: ['PUT'], url: '/b' },
  ])
})
