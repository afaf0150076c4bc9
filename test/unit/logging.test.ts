import t, { type Test } from 'tap'
import Fastify, { type InjectOptions } from 'fastify'
import cors from '../../lib/index.ts'
import { APP, EVIL, build, logCapture, keepRepeatedOrigins, preflight, refusals } from '../helpers.ts'

// Every refusal is logged at debug on the request's logger, with its reason and what decided it.

async function logged (t: Test) {
  const { logger, lines } = logCapture()
  const app = await build({
    policies: {
      partners: { origins: ['https://*.partner.example'], allowHeaders: ['x-api-key'], methods: ['GET', 'PUT'] },
    },
    default: { origins: [APP] },
  }, (app) => {
    app.route({ method: ['GET', 'PUT', 'DELETE'], url: '/orders/:id', config: { cors: 'partners' }, handler: async () => 'order' })
    app.post('/orders/:id', { config: { cors: { origins: [APP] } } }, async () => 'inline')
    app.patch('/orders/:id', { config: { cors: false } }, async () => 'not CORS')
    app.get('/me', async () => 'me')
  }, { logger })
  t.teardown(() => app.close())
  return { app, lines }
}

t.test('each refusal is logged at debug with its reason, what was refused, the policy and the route', async (t) => {
  const { app, lines } = await logged(t)
  const partner = 'https://a.partner.example'

  const table: Array<[string, InjectOptions, Record<string, unknown>, RegExp]> = [
    ['preflight, origin not allowed', preflight('/orders/1', EVIL, 'PUT'), {
      reason: 'origin_not_allowed', origin: EVIL, route: 'GET,PUT,DELETE /orders/:id', policy: 'policy "partners"',
    }, /origin "https:\/\/evil\.example" is not allowed/],
    ['preflight, method outside methods', preflight('/orders/1', partner, 'DELETE'), {
      reason: 'method_not_allowed', origin: partner, route: 'GET,PUT,DELETE /orders/:id', policy: 'policy "partners"',
    }, /method DELETE is not in the policy's methods/],
    ['preflight, header not allowed', preflight('/orders/1', partner, 'PUT', 'x-api-key, x-secret'), {
      reason: 'header_not_allowed', origin: partner, route: 'GET,PUT,DELETE /orders/:id', policy: 'policy "partners"',
    }, /request header x-secret is not allowed/],
    ['preflight, authorization under *', preflight('/me', APP, 'GET', 'authorization'), {
      reason: 'header_not_allowed', origin: APP, route: 'GET /me', policy: 'default policy',
    }, /request header authorization is not allowed/],
    ['preflight, no route for the method', preflight('/orders/1', partner, 'OPTIONS'), {
      reason: 'no_cors_route_for_method', origin: partner, route: null, policy: null,
    }, /no route answers OPTIONS \/orders\/1/],
    ['preflight, route not CORS-enabled', preflight('/orders/1', APP, 'PATCH'), {
      reason: 'route_not_cors_enabled', origin: APP, route: 'PATCH /orders/:id', policy: null,
    }, /route PATCH \/orders\/:id is not CORS-enabled/],
    ['preflight, malformed ACRM', preflight('/orders/1', APP, 'P UT'), {
      reason: 'malformed_request', origin: APP, route: null, policy: null,
    }, /Access-Control-Request-Method header is repeated or malformed/],
    ['preflight, malformed ACRH', preflight('/orders/1', partner, 'PUT', 'x-a;b'), {
      reason: 'malformed_request', origin: partner, route: 'GET,PUT,DELETE /orders/:id', policy: 'policy "partners"',
    }, /"x-a;b" in Access-Control-Request-Headers is not a header name/],
    ['preflight, inline policy', preflight('/orders/1', EVIL, 'POST'), {
      reason: 'origin_not_allowed', origin: EVIL, route: 'POST /orders/:id', policy: 'inline policy of route POST /orders/:id',
    }, /not allowed/],
    ['actual, origin not allowed', { method: 'GET', url: '/orders/1', headers: { origin: EVIL } }, {
      reason: 'origin_not_allowed', origin: EVIL, route: 'GET,PUT,DELETE /orders/:id', policy: 'policy "partners"',
    }, /origin "https:\/\/evil\.example" is not allowed/],
    ['actual, method outside methods', { method: 'DELETE', url: '/orders/1', headers: { origin: partner } }, {
      reason: 'method_not_allowed', origin: partner, route: 'GET,PUT,DELETE /orders/:id', policy: 'policy "partners"',
    }, /method DELETE is not in the policy's methods/],
    ['actual, two origins', { method: 'GET', url: '/me', headers: { origin: `${APP}, ${APP}` } }, {
      reason: 'origin_not_allowed', origin: `${APP}, ${APP}`, route: 'GET /me', policy: 'default policy',
    }, /is not allowed/],
  ]
  for (const [name, request, expected, detail] of table) {
    const before = lines.length
    await app.inject(request)
    const found = refusals(lines.slice(before))
    t.equal(found.length, 1, `${name}: one refusal line`)
    const [refusal] = found
    t.match(refusal, expected, name)
    t.match(refusal?.detail, detail, `${name}: detail`)
    const line = lines.slice(before).find((l) => l.cors !== undefined)
    t.equal(line?.level, 20, `${name}: at debug`)
    t.type(line?.reqId, 'string', `${name}: on the request's logger`)
    t.match(line?.msg, /^CORS refused: /, `${name}: message`)
  }
})

t.test('allowed requests and requests without Origin log no refusal', async (t) => {
  const { app, lines } = await logged(t)
  await app.inject(preflight('/orders/1', 'https://a.partner.example', 'PUT', 'x-api-key'))
  await app.inject({ method: 'GET', url: '/orders/1', headers: { origin: 'https://a.partner.example' } })
  await app.inject({ method: 'GET', url: '/orders/1' })
  await app.inject({ method: 'PATCH', url: '/orders/1', headers: { origin: APP } })
  t.strictSame(refusals(lines), [])
})

t.test('refusals are not logged above debug', async (t) => {
  const { logger, lines } = logCapture('info')
  const app = await build({ default: { origins: [APP] } }, (app) => {
    app.put('/x', async () => 'x')
  }, { logger })
  t.teardown(() => app.close())
  t.equal((await app.inject(preflight('/x', EVIL, 'PUT'))).statusCode, 403)
  t.equal((await app.inject({ method: 'PUT', url: '/x', headers: { origin: EVIL } })).statusCode, 200)
  t.strictSame(lines.filter((line) => line.cors !== undefined), [])
})

t.test('a repeated Origin on an actual request is logged as malformed', async (t) => {
  const { logger, lines } = logCapture()
  const app = Fastify({ logger })
  t.teardown(() => app.close())
  keepRepeatedOrigins(app)
  await app.register(cors, { default: { origins: [APP] } })
  app.get('/x', async () => 'x')
  await app.ready()

  await app.inject({ method: 'GET', url: '/x', headers: { origin: [APP, APP] } as unknown as Record<string, string> })
  t.match(refusals(lines), [{ reason: 'malformed_request', route: 'GET /x', policy: 'default policy', detail: /Origin header is repeated/ }])
})

t.test('an origin function that fails is logged at error, with the policy, the route and the origin', async (t) => {
  const { logger, lines } = logCapture()
  const app = await build({ policies: { tenants: { origins: async () => { throw new Error('tenant store down') } } } }, (app) => {
    app.put('/t', { config: { cors: 'tenants' } }, async () => 't')
  }, { logger })
  t.teardown(() => app.close())

  t.equal((await app.inject(preflight('/t', APP, 'PUT'))).statusCode, 403)
  const errors = lines.filter((line) => line.level === 50)
  t.equal(errors.length, 1)
  t.match(errors[0], {
    cors: { reason: 'origin_function_failed', origin: APP, policy: 'policy "tenants"', route: 'PUT /t' },
    err: { message: 'tenant store down' },
    reqId: String,
  })
  t.match(refusals(lines), [{ reason: 'origin_not_allowed', origin: APP, policy: 'policy "tenants"' }],
    'and the refusal that follows is logged at debug')
})

t.test('routes whose policies are equal still log the policy they declared', async (t) => {
  const { logger, lines } = logCapture()
  const same = { origins: [APP] }
  const app = await build({ default: { ...same }, policies: { first: { ...same }, second: { ...same } } }, (app) => {
    app.get('/first', { config: { cors: 'first' } }, async () => 'first')
    app.get('/second', { config: { cors: 'second' } }, async () => 'second')
    app.get('/inline', { config: { cors: { ...same } } }, async () => 'inline')
    app.get('/schema', { schema: { cors: { ...same } } }, async () => 'schema')
    app.get('/default', async () => 'default')
  }, { logger })
  t.teardown(() => app.close())

  for (const url of ['/first', '/second', '/inline', '/schema', '/default', '/missing']) {
    await app.inject({ url, headers: { origin: EVIL } })
  }
  t.strictSame(refusals(lines).map((r) => [r.route, r.policy]), [
    ['GET /first', 'policy "first"'],
    ['GET /second', 'policy "second"'],
    ['GET /inline', 'inline policy of route GET /inline'],
    ['GET /schema', 'inline policy of route GET /schema'],
    ['GET /default', 'default policy'],
    ['not found', 'default policy'],
  ])
})

t.test('a named default is logged by its name, on routes and on 404s', async (t) => {
  const { logger, lines } = logCapture()
  const app = await build({ default: 'app', policies: { app: { origins: [APP] } } }, (app) => {
    app.get('/x', async () => 'x')
  }, { logger })
  t.teardown(() => app.close())

  await app.inject({ url: '/x', headers: { origin: EVIL } })
  await app.inject({ url: '/missing', headers: { origin: EVIL } })
  t.strictSame(refusals(lines).map((r) => [r.route, r.policy]), [['GET /x', 'policy "app"'], ['not found', 'policy "app"']])
})
