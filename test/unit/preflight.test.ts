import t from 'tap'
import Fastify from 'fastify'
import cors from '../../lib/index.ts'
import { APP, EVIL, PREFLIGHT_VARY, build, corsHeaders, logCapture, preflight, refusals } from '../helpers.ts'

// Preflights: OPTIONS with Origin and Access-Control-Request-Method (rules 8 to 13).

const PUBLIC_PREFLIGHT_VARY = 'Access-Control-Request-Method, Access-Control-Request-Headers'
const REFUSED = { vary: PREFLIGHT_VARY }

t.test('rule 8: a preflight is judged by the route the actual request will hit', async (t) => {
  const app = await build({ policies: { public: { origins: '*' }, app: { origins: [APP], credentials: true } } }, (app) => {
    app.get('/users/me', { config: { cors: 'public' } }, async () => 'me')
    app.delete('/users/:id', { config: { cors: 'app' } }, async () => 'deleted')
  })
  t.teardown(() => app.close())

  const del = await app.inject(preflight('/users/me', APP, 'DELETE'))
  t.equal(del.statusCode, 204)
  t.strictSame(corsHeaders(del.headers), {
    'access-control-allow-origin': APP,
    'access-control-allow-credentials': 'true',
    'access-control-allow-methods': 'DELETE',
    vary: PREFLIGHT_VARY,
  })

  const refused = await app.inject(preflight('/users/me', EVIL, 'DELETE'))
  t.equal(refused.statusCode, 403)
  t.equal(refused.body, '')
  t.strictSame(corsHeaders(refused.headers), { vary: PREFLIGHT_VARY })

  const get = await app.inject(preflight('/users/me', EVIL, 'GET'))
  t.equal(get.statusCode, 204, 'GET /users/me is the public route')
  t.strictSame(corsHeaders(get.headers), {
    'access-control-allow-origin': '*',
    'access-control-allow-methods': 'GET',
    vary: PUBLIC_PREFLIGHT_VARY,
  })
})

t.test('rule 8: a path with a public GET and a credentialed PUT answers each preflight by its own route', async (t) => {
  const app = await build({}, (app) => {
    app.get('/doc', { config: { cors: { origins: '*' } } }, async () => 'doc')
    app.put('/doc', { config: { cors: { origins: [APP], credentials: true, allowHeaders: ['content-type'] } } }, async () => 'saved')
  })
  t.teardown(() => app.close())

  t.strictSame(corsHeaders((await app.inject(preflight('/doc', APP, 'GET'))).headers), {
    'access-control-allow-origin': '*',
    'access-control-allow-methods': 'GET',
    vary: PUBLIC_PREFLIGHT_VARY,
  })
  t.strictSame(corsHeaders((await app.inject(preflight('/doc', APP, 'PUT', 'content-type'))).headers), {
    'access-control-allow-origin': APP,
    'access-control-allow-credentials': 'true',
    'access-control-allow-methods': 'PUT',
    'access-control-allow-headers': 'content-type',
    vary: PREFLIGHT_VARY,
  })
  const refused = await app.inject(preflight('/doc', EVIL, 'PUT'))
  t.equal(refused.statusCode, 403, 'an origin the public GET allows is still refused for the PUT')
})

t.test('rule 8: the route is selected for the URL without its query string', async (t) => {
  const app = await build({ default: { origins: [APP] } }, (app) => {
    app.get('/search', async () => 'results')
    app.post('/items/:id', async () => 'item')
  })
  t.teardown(() => app.close())

  for (const url of ['/search?q=a&page=2', '/items/7?x=1', '/items/a%20b']) {
    const method = url.startsWith('/search') ? 'GET' : 'POST'
    const res = await app.inject(preflight(url, APP, method))
    t.equal(res.statusCode, 204, url)
    t.strictSame(corsHeaders(res.headers), {
      'access-control-allow-origin': APP,
      'access-control-allow-methods': method,
      vary: PREFLIGHT_VARY,
    }, url)
  }
})

t.test('rule 8: ACRM is compared case-sensitively; `patch` is refused for a PATCH route and the log says why', async (t) => {
  const { logger, lines } = logCapture()
  const app = await build({ default: { origins: [APP] } }, (app) => {
    app.patch('/items/:id', async () => 'patched')
  }, { logger })
  t.teardown(() => app.close())

  const lower = await app.inject(preflight('/items/1', APP, 'patch'))
  t.equal(lower.statusCode, 403)
  t.equal(lower.body, '')
  t.strictSame(corsHeaders(lower.headers), REFUSED)
  const [refusal] = refusals(lines)
  t.equal(refusal?.reason, 'no_cors_route_for_method')
  t.match(refusal?.detail, /browsers send "patch" as written .*write "PATCH"/)

  const upper = await app.inject(preflight('/items/1', APP, 'PATCH'))
  t.equal(upper.statusCode, 204)
  t.equal(upper.headers['access-control-allow-methods'], 'PATCH')
})

t.test('rule 8: a lower-case method that browsers normalize gets no hint, and an unknown method none either', async (t) => {
  const { logger, lines } = logCapture()
  const app = await build({ default: { origins: [APP] } }, (app) => {
    app.delete('/items/:id', async () => 'deleted')
  }, { logger })
  t.teardown(() => app.close())

  for (const method of ['delete', 'PATCH', 'Purge']) {
    const res = await app.inject(preflight('/items/1', APP, method))
    t.equal(res.statusCode, 403, method)
    t.strictSame(corsHeaders(res.headers), REFUSED, method)
  }
  t.strictSame(refusals(lines).map((r) => r.detail), [
    'no route answers delete /items/1',
    'no route answers PATCH /items/1',
    'no route answers Purge /items/1',
  ])
})

t.test('rule 9: Access-Control-Request-Headers is parsed as a list and answered lower case, each name once', async (t) => {
  const app = await build({ default: { origins: [APP], allowHeaders: ['Content-Type', 'x-api-key', 'X-Trace'] } }, (app) => {
    app.put('/items', async () => 'saved')
  })
  t.teardown(() => app.close())

  const table: Array<[string, string, string | undefined]> = [
    ['one name', 'content-type', 'content-type'],
    ['names in upper case', 'Content-Type,X-API-KEY', 'content-type, x-api-key'],
    ['spaces and tabs around items', ' content-type ,\tx-api-key\t,  x-trace ', 'content-type, x-api-key, x-trace'],
    ['empty items', ',content-type,,, x-trace,', 'content-type, x-trace'],
    ['duplicates, whatever their case', 'x-trace, X-Trace, content-type, X-TRACE', 'x-trace, content-type'],
    ['only empty items', ' , ,', undefined],
    ['an empty value', '', undefined],
  ]
  for (const [name, requested, answered] of table) {
    const res = await app.inject(preflight('/items', APP, 'PUT', requested))
    t.equal(res.statusCode, 204, name)
    const expected: Record<string, string> = { 'access-control-allow-origin': APP, 'access-control-allow-methods': 'PUT', vary: PREFLIGHT_VARY }
    if (answered !== undefined) expected['access-control-allow-headers'] = answered
    t.strictSame(corsHeaders(res.headers), expected, name)
  }

  const refused = await app.inject(preflight('/items', APP, 'PUT', 'content-type, x-other'))
  t.equal(refused.statusCode, 403, 'one name that is not allowed refuses the preflight')
  t.strictSame(corsHeaders(refused.headers), REFUSED)
})

t.test('rule 9: allowHeaders [\'*\'] allows any name but authorization, which must be listed by name', async (t) => {
  const app = await build({
    policies: {
      any: { origins: [APP], allowHeaders: ['*'] },
      anyCredentialed: { origins: [APP], credentials: true, allowHeaders: ['*'] },
      anyAndAuth: { origins: [APP], credentials: true, allowHeaders: ['*', 'Authorization'] },
      authOnly: { origins: [APP], allowHeaders: ['authorization'] },
      none: { origins: [APP] },
    },
  }, (app) => {
    app.post('/any', { config: { cors: 'any' } }, async () => 'any')
    app.post('/any-credentialed', { config: { cors: 'anyCredentialed' } }, async () => 'any')
    app.post('/any-and-auth', { config: { cors: 'anyAndAuth' } }, async () => 'auth')
    app.post('/auth-only', { config: { cors: 'authOnly' } }, async () => 'auth')
    app.post('/none', { config: { cors: 'none' } }, async () => 'none')
  })
  t.teardown(() => app.close())

  const table: Array<[string, string, string, string | null]> = [
    ['any names under *', '/any', 'X-Custom, x-other, content-type', 'x-custom, x-other, content-type'],
    ['* never answers a literal *', '/any', 'x-one', 'x-one'],
    ['authorization is not covered by *', '/any', 'x-custom, authorization', null],
    ['not with credentials either', '/any-credentialed', 'Authorization', null],
    ['* with credentials answers the names', '/any-credentialed', 'x-a, x-b', 'x-a, x-b'],
    ['authorization listed beside *', '/any-and-auth', 'authorization, x-custom', 'authorization, x-custom'],
    ['authorization listed alone', '/auth-only', 'Authorization', 'authorization'],
    ['only the listed name', '/auth-only', 'authorization, x-custom', null],
    ['no allowHeaders: no non-safelisted header', '/none', 'x-custom', null],
  ]
  for (const [name, url, requested, answered] of table) {
    const res = await app.inject(preflight(url, APP, 'POST', requested))
    if (answered === null) {
      t.equal(res.statusCode, 403, name)
      t.strictSame(corsHeaders(res.headers), REFUSED, name)
    } else {
      t.equal(res.statusCode, 204, name)
      t.equal(res.headers['access-control-allow-headers'], answered, name)
    }
  }
  const credentialed = await app.inject(preflight('/any-and-auth', APP, 'POST', 'authorization'))
  t.strictSame(corsHeaders(credentialed.headers), {
    'access-control-allow-origin': APP,
    'access-control-allow-credentials': 'true',
    'access-control-allow-methods': 'POST',
    'access-control-allow-headers': 'authorization',
    vary: PREFLIGHT_VARY,
  })
})

t.test('rule 9 and 18: malformed or oversized Access-Control-Request-Headers is refused, even under \'*\'', async (t) => {
  const app = await build({ default: { origins: [APP], allowHeaders: ['*'] } }, (app) => {
    app.post('/any', async () => 'any')
  })
  t.teardown(() => app.close())

  const names = (count: number): string => Array.from({ length: count }, (_, i) => `x-h${i}`).join(',')
  const long = (length: number): string => 'x-' + 'a'.repeat(length - 2)

  const refused: Array<[string, string]> = [
    ['a name that is not a token', 'x-a;b'],
    ['a name with a space inside', 'x-a b'],
    ['a name with a slash', 'content-type, x/y'],
    ['a quoted name', '"x-a"'],
    ['a non-ASCII name', 'x-ünicode'],
    ['a control character', 'x-a\u0001'],
    ['more than 100 names', names(101)],
    ['longer than 8 KiB', long(8193)],
  ]
  for (const [name, value] of refused) {
    const res = await app.inject(preflight('/any', APP, 'POST', value))
    t.equal(res.statusCode, 403, name)
    t.equal(res.body, '', name)
    t.strictSame(corsHeaders(res.headers), REFUSED, name)
  }

  const hundred = await app.inject(preflight('/any', APP, 'POST', names(100)))
  t.equal(hundred.statusCode, 204, '100 names are fine')
  t.equal(hundred.headers['access-control-allow-headers'], names(100).replaceAll(',', ', '))
  const duplicated = await app.inject(preflight('/any', APP, 'POST', names(60) + ',' + names(40)))
  t.equal(duplicated.statusCode, 204, '100 names counting repeats are fine')
  const max = await app.inject(preflight('/any', APP, 'POST', long(8192)))
  t.equal(max.statusCode, 204, '8 KiB is fine')
  t.equal(max.headers['access-control-allow-headers'], long(8192))
})

t.test('rule 10: an allowed preflight is 204 with an empty body and exactly the headers the browser checks', async (t) => {
  const app = await build({
    policies: {
      full: { origins: [APP], credentials: true, allowHeaders: ['content-type', 'x-api-key'], exposeHeaders: ['x-request-id'], maxAge: 600 },
      zero: { origins: [APP], maxAge: 0 },
      public: { origins: '*', allowHeaders: ['x-api-key'], maxAge: 86400 },
    },
  }, (app) => {
    app.put('/full', { config: { cors: 'full' } }, async () => 'full')
    app.get('/zero', { config: { cors: 'zero' } }, async () => 'zero')
    app.post('/public', { config: { cors: 'public' } }, async () => 'public')
  })
  t.teardown(() => app.close())

  const full = await app.inject(preflight('/full', APP, 'PUT', 'X-Api-Key, content-type'))
  t.equal(full.statusCode, 204)
  t.equal(full.body, '')
  t.strictSame(corsHeaders(full.headers), {
    'access-control-allow-origin': APP,
    'access-control-allow-credentials': 'true',
    'access-control-allow-methods': 'PUT',
    'access-control-allow-headers': 'x-api-key, content-type',
    'access-control-max-age': '600',
    vary: PREFLIGHT_VARY,
  }, 'Expose-Headers belongs to actual responses only')

  const noHeaders = await app.inject(preflight('/full', APP, 'PUT'))
  t.equal(noHeaders.headers['access-control-allow-headers'], undefined, 'no Allow-Headers when none were requested')

  t.strictSame(corsHeaders((await app.inject(preflight('/zero', APP, 'GET'))).headers), {
    'access-control-allow-origin': APP,
    'access-control-allow-methods': 'GET',
    'access-control-max-age': '0',
    vary: PREFLIGHT_VARY,
  }, 'maxAge 0 is sent: it turns the preflight cache off')

  const pub = await app.inject(preflight('/public', 'https://anyone.example', 'POST', 'x-api-key'))
  t.equal(pub.statusCode, 204)
  t.strictSame(corsHeaders(pub.headers), {
    'access-control-allow-origin': '*',
    'access-control-allow-methods': 'POST',
    'access-control-allow-headers': 'x-api-key',
    'access-control-max-age': '86400',
    vary: PUBLIC_PREFLIGHT_VARY,
  }, 'a public policy: *, and no Origin in Vary')
})

t.test('rule 10: without maxAge there is no Max-Age header', async (t) => {
  const app = await build({ default: { origins: [APP] } }, (app) => {
    app.delete('/x', async () => 'x')
  })
  t.teardown(() => app.close())
  t.strictSame(corsHeaders((await app.inject(preflight('/x', APP, 'DELETE'))).headers), {
    'access-control-allow-origin': APP,
    'access-control-allow-methods': 'DELETE',
    vary: PREFLIGHT_VARY,
  })
})

t.test('rule 9: a method outside the policy\'s methods is refused', async (t) => {
  const app = await build({ policies: { readOnly: { origins: [APP], methods: ['GET'] } } }, (app) => {
    app.route({ method: ['GET', 'DELETE'], url: '/items/:id', config: { cors: 'readOnly' }, handler: async () => 'item' })
  })
  t.teardown(() => app.close())

  const del = await app.inject(preflight('/items/1', APP, 'DELETE'))
  t.equal(del.statusCode, 403)
  t.strictSame(corsHeaders(del.headers), REFUSED)

  for (const method of ['GET', 'HEAD']) {
    const res = await app.inject(preflight('/items/1', APP, method))
    t.equal(res.statusCode, 204, `${method} is allowed by methods: ['GET']`)
    t.equal(res.headers['access-control-allow-methods'], method)
  }
})

t.test('rule 11: a refused preflight is 403, empty, without Access-Control-Allow-*, with the Vary of an accepted one', async (t) => {
  const app = await build({
    policies: { app: { origins: [APP], credentials: true, maxAge: 600, allowHeaders: ['x-a'] }, public: { origins: '*' } },
  }, (app) => {
    app.put('/app', { config: { cors: 'app' } }, async () => 'app')
    app.put('/public', { config: { cors: 'public' } }, async () => 'public')
  })
  t.teardown(() => app.close())

  const table: Array<[string, ReturnType<typeof preflight>, Record<string, string>]> = [
    ['origin not allowed', preflight('/app', EVIL, 'PUT'), REFUSED],
    ['header not allowed', preflight('/app', APP, 'PUT', 'x-b'), REFUSED],
    ['public policy, header not allowed', preflight('/public', APP, 'PUT', 'x-b'), { vary: PUBLIC_PREFLIGHT_VARY }],
    ['public policy, malformed origin', preflight('/public', 'https://a b', 'PUT'), { vary: PUBLIC_PREFLIGHT_VARY }],
  ]
  for (const [name, request, expected] of table) {
    const res = await app.inject(request)
    t.equal(res.statusCode, 403, name)
    t.equal(res.body, '', name)
    t.strictSame(corsHeaders(res.headers), expected, name)
  }
})

t.test('rule 18: an ACRM that is not a method token is refused', async (t) => {
  const app = await build({ default: { origins: [APP] } }, (app) => {
    app.get('/x', async () => 'x')
  })
  t.teardown(() => app.close())

  for (const method of ['', 'GE T', 'GET,POST', 'G(ET)', 'GÉT', 'GET\u0000']) {
    const res = await app.inject(preflight('/x', APP, method))
    t.equal(res.statusCode, 403, JSON.stringify(method))
    t.strictSame(corsHeaders(res.headers), REFUSED, JSON.stringify(method))
  }
})

t.test('rule 12: on a path with CORS routes, a preflight for a method with no route, or a non-CORS route, is refused', async (t) => {
  const app = await build({ default: { origins: [APP] } }, (app) => {
    app.get('/items', async () => 'list')
    app.delete('/items', { config: { cors: false } }, async () => 'gone')
  })
  t.teardown(() => app.close())

  for (const method of ['POST', 'DELETE', 'OPTIONS']) {
    const res = await app.inject(preflight('/items', APP, method))
    t.equal(res.statusCode, 403, method)
    t.equal(res.body, '', method)
    t.strictSame(corsHeaders(res.headers), REFUSED, method)
  }
  t.equal((await app.inject(preflight('/items', APP, 'GET'))).statusCode, 204)
})

t.test('rule 12: on a path with no CORS route, the application answers a preflight as if the plugin were not there', async (t) => {
  for (const options of [{}, { default: { origins: [APP], credentials: true } }]) {
    const withDefault = options.default !== undefined
    const app = await build(options, (app) => {
      app.get('/cors', async () => 'cors')
      app.get('/admin', { config: { cors: false } }, async () => 'admin')
    })
    t.teardown(() => app.close())

    const without = Fastify()
    without.get('/admin', async () => 'admin')
    t.teardown(() => without.close())

    for (const url of ['/admin', '/missing']) {
      const res = await app.inject(preflight(url, APP, 'GET'))
      const expected = await without.inject(preflight(url, APP, 'GET'))
      const name = `${url}${withDefault ? ' in a scope with a default' : ''}`
      t.equal(res.statusCode, 404, name)
      t.equal(res.body, expected.body, name)
      t.strictSame(corsHeaders(res.headers), {}, name)
    }
  }
})

t.test('rule 13: an authentication hook added after the plugin does not turn preflights into 401s', async (t) => {
  let authenticated = 0
  const app = await build({ default: { origins: [APP], credentials: true, allowHeaders: ['authorization', 'content-type'] } }, (app) => {
    app.addHook('onRequest', async (request, reply) => {
      authenticated++
      if (request.headers.authorization !== 'Bearer ok') return reply.code(401).send({ error: 'unauthorized' })
    })
    app.post('/orders', async () => 'ordered')
  })
  t.teardown(() => app.close())

  const res = await app.inject(preflight('/orders', APP, 'POST', 'authorization, content-type'))
  t.equal(res.statusCode, 204)
  t.strictSame(corsHeaders(res.headers), {
    'access-control-allow-origin': APP,
    'access-control-allow-credentials': 'true',
    'access-control-allow-methods': 'POST',
    'access-control-allow-headers': 'authorization, content-type',
    vary: PREFLIGHT_VARY,
  })
  const refused = await app.inject(preflight('/orders', EVIL, 'POST'))
  t.equal(refused.statusCode, 403, 'refused preflights are answered before the hook too')
  t.equal(authenticated, 0, 'the hook never ran for a preflight')

  const actual = await app.inject({ method: 'POST', url: '/orders', headers: { origin: APP } })
  t.equal(actual.statusCode, 401, 'the actual request still meets the hook')
  t.equal(actual.headers['access-control-allow-origin'], APP)
})

t.test('rule 13: a hook added before the plugin runs first, even for preflights', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.addHook('onRequest', async (_request, reply) => reply.code(401).send({ error: 'unauthorized' }))
  await app.register(cors, { default: { origins: [APP] } })
  app.post('/orders', async () => 'ordered')
  await app.ready()

  const res = await app.inject(preflight('/orders', APP, 'POST'))
  t.equal(res.statusCode, 401)
  t.strictSame(corsHeaders(res.headers), {})
})

t.test('rule 13: a preflight is answered before body parsing, validation, route hooks and handlers', async (t) => {
  const ran: string[] = []
  const app = await build({ default: { origins: [APP], allowHeaders: ['content-type'] } }, (app) => {
    app.addHook('preParsing', async () => { ran.push('preParsing') })
    app.addHook('preValidation', async () => { ran.push('preValidation') })
    app.addHook('preHandler', async () => { ran.push('preHandler') })
    app.post('/orders', { schema: { body: { type: 'object', required: ['id'] } } }, async () => {
      ran.push('handler')
      return 'ordered'
    })
    app.options('/orders', async () => {
      ran.push('own OPTIONS handler')
      return 'options'
    })
  })
  t.teardown(() => app.close())

  const request = preflight('/orders', APP, 'POST', 'content-type')
  const res = await app.inject({ ...request, headers: { ...request.headers, 'content-type': 'application/json' }, payload: '{ not json' })
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  t.equal(res.headers['access-control-allow-origin'], APP)
  t.strictSame(ran, [])
})

t.test('rule 13: in a child scope that registers the plugin again, no hook added after the first registration runs for preflights', async (t) => {
  const ran: string[] = []
  const app = Fastify()
  t.teardown(() => app.close())
  app.addHook('onRequest', async (request, reply) => {
    ran.push('root, before')
    if (request.headers['x-block'] !== undefined) return reply.code(429).send('blocked')
  })
  await app.register(cors, { default: { origins: [APP] } })
  app.register(async (child) => {
    child.addHook('onRequest', async () => { ran.push('child, before') })
    await child.register(cors, { default: { origins: [APP], credentials: true } })
    child.addHook('onRequest', async (_request, reply) => {
      ran.push('child, after')
      return reply.code(401).send('unauthorized')
    })
    child.put('/orders', async () => 'ordered')
  }, { prefix: '/child' })
  await app.ready()

  const res = await app.inject(preflight('/child/orders', APP, 'PUT'))
  t.equal(res.statusCode, 204)
  t.equal(res.headers['access-control-allow-credentials'], 'true', 'the child\'s policy answers')
  t.strictSame(ran, ['root, before'], 'the child\'s hooks came after the root\'s registration')

  const request = preflight('/child/orders', APP, 'PUT')
  const blocked = await app.inject({ ...request, headers: { ...request.headers, 'x-block': '1' } })
  t.equal(blocked.statusCode, 429, 'a hook added before the first registration can stop a preflight')
})

t.test('answers to Access-Control-Request-Headers stay right when their cache fills up', async (t) => {
  const app = await build({ policies: { p: { origins: [APP], allowHeaders: ['x-a', 'x-b'] } } }, (app) => {
    app.put('/x', { config: { cors: 'p' } }, async () => 'x')
  })
  t.teardown(() => app.close())
  // More distinct values than the cache holds, then values seen before.
  for (let i = 0; i < 300; i++) {
    const res = await app.inject(preflight('/x', APP, 'PUT', `x-a${' '.repeat(i % 7)}, x-other-${i}`))
    if (res.statusCode !== 403) t.fail(`x-other-${i} was allowed`)
  }
  const allowed = await app.inject(preflight('/x', APP, 'PUT', 'X-B, x-a'))
  t.equal(allowed.statusCode, 204)
  t.equal(allowed.headers['access-control-allow-headers'], 'x-b, x-a')
  const again = await app.inject(preflight('/x', APP, 'PUT', 'X-B, x-a'))
  t.equal(again.headers['access-control-allow-headers'], 'x-b, x-a', 'the same answer from the cache')
  const refused = await app.inject(preflight('/x', APP, 'PUT', 'x-other-1'))
  t.equal(refused.statusCode, 403, 'a refusal is remembered as a refusal')
})
