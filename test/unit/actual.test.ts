import t from 'tap'
import Fastify, { type InjectOptions } from 'fastify'
import cors from '../../lib/index.ts'
import { APP, EVIL, build, corsHeaders, logCapture, keepRepeatedOrigins, refusals } from '../helpers.ts'

// Actual requests: everything but a preflight (rules 1, 2, 3, 6, 7 of the behaviour reference).

const PARTNER = 'https://a.partner.example'

const policies = {
  app: { origins: [APP] },
  credentialed: { origins: [APP], credentials: true },
  public: { origins: '*' as const },
  exposing: { origins: [APP], exposeHeaders: ['x-request-id', 'X-Total-Count'] },
  // Everything a preflight needs; none of it belongs on an actual response.
  full: {
    origins: [APP, 'https://*.partner.example'],
    credentials: true,
    methods: ['GET', 'PUT'],
    allowHeaders: ['content-type', 'x-api-key'],
    exposeHeaders: ['x-request-id'],
    maxAge: 600,
  },
}

function get (url: string, origin?: string, method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' = 'GET') {
  return { method, url, headers: origin === undefined ? {} : { origin } }
}

t.test('rule 1: an allowed origin gets exactly its own Origin back, and nothing a preflight would get', async (t) => {
  const app = await build({ policies }, (app) => {
    app.get('/app', { config: { cors: 'app' } }, async () => 'app')
    app.get('/credentialed', { config: { cors: 'credentialed' } }, async () => 'credentialed')
    app.get('/public', { config: { cors: 'public' } }, async () => 'public')
    app.get('/exposing', { config: { cors: 'exposing' } }, async () => 'exposing')
    app.put('/full', { config: { cors: 'full' } }, async () => 'full')
  })
  t.teardown(() => app.close())

  const table: Array<[string, ReturnType<typeof get>, Record<string, string>]> = [
    ['exact origin, no credentials', get('/app', APP), {
      'access-control-allow-origin': APP,
      vary: 'Origin',
    }],
    ['credentials: true', get('/credentialed', APP), {
      'access-control-allow-origin': APP,
      'access-control-allow-credentials': 'true',
      vary: 'Origin',
    }],
    ['public policy answers * and adds no Vary', get('/public', 'https://anyone.example'), {
      'access-control-allow-origin': '*',
    }],
    ['exposeHeaders joined by ", " as configured', get('/exposing', APP), {
      'access-control-allow-origin': APP,
      'access-control-expose-headers': 'x-request-id, X-Total-Count',
      vary: 'Origin',
    }],
    ['no Allow-Methods, Allow-Headers or Max-Age on an actual response', get('/full', PARTNER, 'PUT'), {
      'access-control-allow-origin': PARTNER,
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'x-request-id',
      vary: 'Origin',
    }],
  ]
  for (const [name, request, expected] of table) {
    const res = await app.inject(request)
    t.equal(res.statusCode, 200, name)
    t.strictSame(corsHeaders(res.headers), expected, name)
  }
})

t.test('rule 2: an origin that is not allowed gets no Access-Control-* header, and the same status and body', async (t) => {
  const app = await build({ policies }, (app) => {
    app.get('/credentialed', { config: { cors: 'credentialed' } }, async () => ({ secret: 42 }))
    app.put('/full', { config: { cors: 'full' } }, async (_request, reply) => reply.code(201).send({ created: true }))
  })
  t.teardown(() => app.close())

  for (const [url, method] of [['/credentialed', 'GET'], ['/full', 'PUT']] as const) {
    const plain = await app.inject(get(url, undefined, method))
    const refused = await app.inject(get(url, EVIL, method))
    t.equal(refused.statusCode, plain.statusCode, `${method} ${url}: same status`)
    t.equal(refused.body, plain.body, `${method} ${url}: same body`)
    t.strictSame(corsHeaders(refused.headers), { vary: 'Origin' }, `${method} ${url}: not even Allow-Credentials`)
  }
})

t.test('rule 2: a method outside the policy\'s methods gets no Access-Control-* header on the actual request', async (t) => {
  const app = await build({ policies: { getOnly: { origins: [APP], credentials: true, methods: ['GET'] } } }, (app) => {
    app.route({ method: ['GET', 'POST'], url: '/items', config: { cors: 'getOnly' }, handler: async (request) => request.method })
  })
  t.teardown(() => app.close())

  const post = await app.inject(get('/items', APP, 'POST'))
  t.equal(post.statusCode, 200)
  t.equal(post.body, 'POST', 'the request is still handled')
  t.strictSame(corsHeaders(post.headers), { vary: 'Origin' })

  const allowed = { 'access-control-allow-origin': APP, 'access-control-allow-credentials': 'true', vary: 'Origin' }
  t.strictSame(corsHeaders((await app.inject(get('/items', APP, 'GET'))).headers), allowed, 'GET is in methods')
  t.strictSame(corsHeaders((await app.inject(get('/items', APP, 'HEAD'))).headers), allowed, 'HEAD goes with GET')
})

t.test('a route declared with a method array carries the headers on each of its methods', async (t) => {
  const app = await build({ default: { origins: [APP] } }, (app) => {
    app.route({ method: ['GET', 'POST', 'DELETE'], url: '/things', handler: async (request) => request.method })
  })
  t.teardown(() => app.close())

  for (const method of ['GET', 'HEAD', 'POST', 'DELETE'] as const) {
    const res = await app.inject(get('/things', APP, method))
    t.equal(res.statusCode, 200, method)
    t.strictSame(corsHeaders(res.headers), { 'access-control-allow-origin': APP, vary: 'Origin' }, method)
  }
})

t.test('rule 3: without an Origin header an origin-dependent policy sends no Access-Control-* header', async (t) => {
  const app = await build({ policies }, (app) => {
    app.get('/credentialed', { config: { cors: 'credentialed' } }, async () => 'credentialed')
    app.get('/exposing', { config: { cors: 'exposing' } }, async () => 'exposing')
    app.put('/full', { config: { cors: 'full' } }, async () => 'full')
  })
  t.teardown(() => app.close())

  t.strictSame(corsHeaders((await app.inject(get('/credentialed'))).headers), { vary: 'Origin' })
  t.strictSame(corsHeaders((await app.inject(get('/exposing'))).headers), { vary: 'Origin' })
  t.strictSame(corsHeaders((await app.inject(get('/full', undefined, 'PUT'))).headers), { vary: 'Origin' })
})

t.test('rules 3, 4 and 18: a public policy sends * and its exposed headers on every actual response, and no Vary: Origin', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  keepRepeatedOrigins(app)
  await app.register(cors, { default: { origins: '*', exposeHeaders: ['x-request-id', 'x-total'] } })
  app.get('/items', async () => ['item'])
  app.post('/items', {
    schema: { body: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } },
  }, async (_request, reply) => reply.code(201).send({ created: true }))
  app.get('/crash', async () => { throw new Error('boom') })
  app.get('/conflict', async () => { throw Object.assign(new Error('conflict'), { statusCode: 409 }) })
  await app.ready()

  const expected = { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'x-request-id, x-total' }
  const origins: Array<[string, Record<string, string | string[]>]> = [
    ['no Origin', {}],
    ['a well-formed origin', { origin: APP }],
    ['the null origin', { origin: 'null' }],
    ['a malformed Origin', { origin: 'https://app .example.com' }],
    ['an Origin with a path', { origin: `${APP}/x` }],
    ['an empty Origin', { origin: '' }],
    ['two Origin values, joined', { origin: `${APP}, ${EVIL}` }],
    ['two Origin headers, kept apart', { origin: [APP, EVIL] }],
  ]
  const requests: Array<[string, InjectOptions, number]> = [
    ['GET', { method: 'GET', url: '/items' }, 200],
    ['HEAD', { method: 'HEAD', url: '/items' }, 200],
    ['POST', { method: 'POST', url: '/items', payload: { name: 'a' } }, 201],
    ['a schema-validation 400', { method: 'POST', url: '/items', payload: { nope: 1 } }, 400],
    ['a 500', { method: 'GET', url: '/crash' }, 500],
    ['a thrown 409', { method: 'GET', url: '/conflict' }, 409],
    ['a 404', { method: 'GET', url: '/missing' }, 404],
    ['an unknown method on a known path', { method: 'DELETE', url: '/items' }, 404],
  ]
  for (const [what, headers] of origins) {
    for (const [name, request, status] of requests) {
      const res = await app.inject({ ...request, headers: headers as Record<string, string> })
      t.equal(res.statusCode, status, `${name}, ${what}: status`)
      t.strictSame(corsHeaders(res.headers), expected, `${name}, ${what}: the same headers, no Vary`)
    }
  }
})

t.test('rules 3, 4 and 18: an origin-dependent policy still answers only an allowed origin, and always says Vary: Origin', async (t) => {
  const app = await build({ default: { origins: [APP], credentials: true, exposeHeaders: ['x-total'] } }, (app) => {
    app.get('/items', async () => ['item'])
    app.post('/items', async () => ['created'])
    app.get('/crash', async () => { throw new Error('boom') })
  })
  t.teardown(() => app.close())

  const allowed = { 'access-control-allow-origin': APP, 'access-control-allow-credentials': 'true', 'access-control-expose-headers': 'x-total', vary: 'Origin' }
  const origins: Array<[string, Record<string, string>, Record<string, string>]> = [
    ['no Origin', {}, { vary: 'Origin' }],
    ['the allowed origin', { origin: APP }, allowed],
    ['the null origin', { origin: 'null' }, { vary: 'Origin' }],
    ['a malformed Origin', { origin: 'https://app .example.com' }, { vary: 'Origin' }],
    ['two Origin values, joined', { origin: `${APP}, ${APP}` }, { vary: 'Origin' }],
  ]
  for (const [what, headers, expected] of origins) {
    for (const [method, url, status] of [['GET', '/items', 200], ['POST', '/items', 200], ['GET', '/crash', 500], ['GET', '/missing', 404]] as const) {
      const res = await app.inject({ method, url, headers })
      t.equal(res.statusCode, status, `${method} ${url}, ${what}: status`)
      t.strictSame(corsHeaders(res.headers), expected, `${method} ${url}, ${what}`)
    }
  }
})

t.test('rule 4: a public policy keeps the application\'s Vary and adds no Origin to it', async (t) => {
  const app = await build({ default: { origins: '*' } }, (app) => {
    app.get('/negotiated', async (_request, reply) => reply.header('vary', 'Accept-Encoding').send('x'))
  })
  t.teardown(() => app.close())
  for (const headers of [{}, { origin: APP }]) {
    t.strictSame(corsHeaders((await app.inject({ url: '/negotiated', headers })).headers), {
      'access-control-allow-origin': '*',
      vary: 'Accept-Encoding',
    })
  }
})

t.test('rule 2 under a public policy: a method outside methods gets no Access-Control-* header, with or without Origin', async (t) => {
  const { logger, lines } = logCapture()
  const app = await build({ default: { origins: '*', methods: ['GET'], exposeHeaders: ['x-total'] } }, (app) => {
    app.route({ method: ['GET', 'POST'], url: '/items', handler: async (request) => request.method })
  }, { logger })
  t.teardown(() => app.close())

  const inside = { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'x-total' }
  for (const origin of [APP, undefined, 'not an origin']) {
    const post = await app.inject(get('/items', origin, 'POST'))
    t.equal(post.body, 'POST', `${String(origin)}: still handled`)
    t.strictSame(corsHeaders(post.headers), {}, `${String(origin)}: POST is outside methods`)
    t.strictSame(corsHeaders((await app.inject(get('/items', origin, 'GET'))).headers), inside, `${String(origin)}: GET`)
    t.strictSame(corsHeaders((await app.inject(get('/items', origin, 'HEAD'))).headers), inside, `${String(origin)}: HEAD goes with GET`)
  }
  t.match(refusals(lines), [
    { reason: 'method_not_allowed', method: 'POST', origin: APP, route: 'GET,POST /items' },
    { reason: 'method_not_allowed', method: 'POST', origin: 'not an origin', route: 'GET,POST /items' },
  ], 'refusals are logged for CORS requests only')
  t.equal(refusals(lines).length, 2)
})

t.test('rule 6: HEAD behaves like GET', async (t) => {
  const app = await build({ policies }, (app) => {
    app.get('/credentialed', { config: { cors: 'credentialed' } }, async () => 'credentialed')
    app.get('/public', { config: { cors: 'public' } }, async () => 'public')
    app.get('/exposing', { config: { cors: 'exposing' } }, async () => 'exposing')
  })
  t.teardown(() => app.close())

  for (const url of ['/credentialed', '/public', '/exposing']) {
    for (const origin of [APP, EVIL, undefined]) {
      const viaGet = await app.inject(get(url, origin, 'GET'))
      const viaHead = await app.inject(get(url, origin, 'HEAD'))
      t.equal(viaHead.statusCode, viaGet.statusCode, `${url} from ${origin}: status`)
      t.equal(viaHead.body, '', `${url} from ${origin}: HEAD has no body`)
      t.strictSame(corsHeaders(viaHead.headers), corsHeaders(viaGet.headers), `${url} from ${origin}: headers`)
    }
  }
  t.strictSame(corsHeaders((await app.inject(get('/exposing', APP, 'HEAD'))).headers), {
    'access-control-allow-origin': APP,
    'access-control-expose-headers': 'x-request-id, X-Total-Count',
    vary: 'Origin',
  })
})

t.test('rule 7: every response to an allowed origin carries its CORS headers, whatever its status', async (t) => {
  const expected = {
    'access-control-allow-origin': APP,
    'access-control-allow-credentials': 'true',
    'access-control-expose-headers': 'x-request-id',
    vary: 'Origin',
  }
  const app = await build({ default: { origins: [APP], credentials: true, exposeHeaders: ['x-request-id'] } }, (app) => {
    // An authentication hook the application adds after the plugin, answering early.
    app.addHook('onRequest', async (request, reply) => {
      if (request.url === '/early') return reply.code(401).send({ error: 'login first' })
    })
    app.get('/ok', async () => ({ ok: true }))
    app.get('/early', async () => ({ unreachable: true }))
    app.get('/thrown', async () => { throw Object.assign(new Error('conflict'), { statusCode: 409 }) })
    app.get('/crash', async () => { throw new Error('boom') })
    app.get('/code', async (_request, reply) => reply.code(422).send({ error: 'unprocessable' }))
    app.get('/redirect', async (_request, reply) => reply.redirect('/ok'))
    app.get('/moved', async (_request, reply) => reply.redirect('https://elsewhere.example/', 308))
    app.post('/validated', {
      schema: { body: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } },
    }, async () => ({ ok: true }))
    app.get('/hook-throws', { preHandler: async () => { throw Object.assign(new Error('forbidden'), { statusCode: 403 }) } }, async () => 'never')
  })
  t.teardown(() => app.close())

  const table: Array<[string, { method: 'GET' | 'POST', url: string, payload?: InjectOptions['payload'] }, number]> = [
    ['a success', { method: 'GET', url: '/ok' }, 200],
    ['an early reply from an application onRequest hook', { method: 'GET', url: '/early' }, 401],
    ['an error thrown with a status', { method: 'GET', url: '/thrown' }, 409],
    ['a 500', { method: 'GET', url: '/crash' }, 500],
    ['reply.code(4xx)', { method: 'GET', url: '/code' }, 422],
    ['a redirect', { method: 'GET', url: '/redirect' }, 302],
    ['a permanent redirect to another site', { method: 'GET', url: '/moved' }, 308],
    ['a schema-validation 400', { method: 'POST', url: '/validated', payload: { nope: 1 } }, 400],
    ['an error thrown from a route hook', { method: 'GET', url: '/hook-throws' }, 403],
  ]
  for (const [name, request, status] of table) {
    const res = await app.inject({ ...request, headers: { origin: APP } })
    t.equal(res.statusCode, status, name)
    t.strictSame(corsHeaders(res.headers), expected, name)
    if (status >= 400) t.ok(res.body.length > 0, `${name}: the error body is there for browser code to read`)
  }
})

t.test('rule 7: an early reply from a hook added before the plugin carries the headers too', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.addHook('onRequest', async (_request, reply) => reply.code(429).send({ error: 'slow down' }))
  await app.register(cors, { default: { origins: [APP] } })
  app.get('/limited', async () => 'never')
  await app.ready()

  const res = await app.inject(get('/limited', APP))
  t.equal(res.statusCode, 429)
  t.strictSame(corsHeaders(res.headers), { 'access-control-allow-origin': APP, vary: 'Origin' })
})

t.test('rule 7: a handler that sets Access-Control-Allow-Origin itself does not produce a second one', async (t) => {
  const app = await build({ default: { origins: [APP], credentials: true } }, (app) => {
    app.get('/own', async (_request, reply) => {
      reply.header('Access-Control-Allow-Origin', APP)
      reply.header('access-control-allow-credentials', 'true')
      return 'own'
    })
  })
  t.teardown(() => app.close())

  const res = await app.inject(get('/own', APP))
  t.strictSame(corsHeaders(res.headers), {
    'access-control-allow-origin': APP,
    'access-control-allow-credentials': 'true',
    vary: 'Origin',
  })
  const raw = res.raw.res.getHeaderNames().filter((name) => name.startsWith('access-control-allow-'))
  t.strictSame(raw.sort(), ['access-control-allow-credentials', 'access-control-allow-origin'], 'each header once on the wire')
  t.equal(res.rawPayload.toString(), 'own')
})

t.test('rule 7: the plugin\'s answer replaces a handler\'s own Access-Control-Allow-Origin for an allowed origin', async (t) => {
  const app = await build({ default: { origins: [APP] } }, (app) => {
    app.get('/wrong', async (_request, reply) => {
      reply.header('access-control-allow-origin', '*')
      return 'wrong'
    })
  })
  t.teardown(() => app.close())

  const res = await app.inject(get('/wrong', APP))
  t.strictSame(corsHeaders(res.headers), { 'access-control-allow-origin': APP, vary: 'Origin' })
})

t.test('an Origin that reaches the route as a list of values is not allowed', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  keepRepeatedOrigins(app)
  await app.register(cors, { default: { origins: [APP] } })
  app.get('/x', async () => 'x')
  await app.ready()

  const res = await app.inject({ method: 'GET', url: '/x', headers: { origin: [APP, APP] } as unknown as Record<string, string> })
  t.equal(res.statusCode, 200)
  t.strictSame(corsHeaders(res.headers), { vary: 'Origin' })
})
