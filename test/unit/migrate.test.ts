import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import fastifyCors from '@fastify/cors'
import cors, { CorsPolicyError, fromFastifyCors, fromFastifyCorsRoute, type CorsPolicyProblem, type FastifyCorsOptions } from '../../lib/index.ts'
import { corsCheck, type CorsCheckRequest } from '../../lib/testing.ts'
import { build, logCapture, preflight, startupError } from '../helpers.ts'

const APP = 'https://app.example.com'
const OTHER = 'https://other.example'
const INVALID = 'FST_CORS_POLICY_INVALID'
type OriginFn = Exclude<FastifyCorsOptions['origin'], undefined | boolean | string | RegExp | unknown[]>

function routes (app: FastifyInstance): void {
  app.get('/items', async (_req, reply) => reply.header('x-total', '2').send([1, 2]))
  app.post('/items', async () => ({ created: true }))
  app.put('/items/:id', async () => ({ updated: true }))
  app.delete('/items/:id', async () => ({ deleted: true }))
}

async function withFastifyCors (options: FastifyCorsOptions): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(fastifyCors, options as Parameters<typeof fastifyCors>[1])
  routes(app)
  await app.ready()
  return app
}

async function withPolicy (options: FastifyCorsOptions): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(cors, fromFastifyCors(options))
  routes(app)
  await app.ready()
  return app
}

const requests: Record<string, CorsCheckRequest> = {
  'simple GET from the app': { origin: APP, url: '/items' },
  'simple GET from another origin': { origin: OTHER, url: '/items' },
  'credentialed GET from the app': { origin: APP, url: '/items', credentials: true },
  'JSON POST from the app': { origin: APP, method: 'POST', url: '/items', headers: { 'content-type': 'application/json' }, body: '{}' },
  'PUT from the app': { origin: APP, method: 'PUT', url: '/items/1' },
  'credentialed DELETE with a custom header': { origin: APP, method: 'DELETE', url: '/items/1', headers: { 'x-api-key': 'k' }, credentials: true },
  'JSON POST from another origin': { origin: OTHER, method: 'POST', url: '/items', headers: { 'content-type': 'application/json' }, body: '{}' },
}

const optionSets: Record<string, FastifyCorsOptions> = {
  defaults: {},
  'one origin': { origin: APP },
  'origin list with an anchored RegExp': { origin: [APP, /^https:\/\/.+\.example\.com$/] },
  'credentials with listed origins and methods': { origin: [APP], credentials: true, methods: ['GET', 'POST', 'PUT', 'DELETE'] },
  'listed headers and exposed headers': { origin: APP, allowedHeaders: 'content-type,x-api-key', exposedHeaders: ['x-total'], methods: 'GET,POST,PUT,DELETE', maxAge: 60 },
  'reflect any origin without credentials': { origin: true, methods: 'GET,POST,PUT' },
  'callback origin function': { origin: (origin: string | undefined, cb: (err: Error | null, allow: boolean) => void) => { cb(null, origin === APP) } },
  'async origin function': { origin: async (origin: string | undefined) => origin === APP },
}

t.test('a migrated app answers browsers as @fastify/cors did', async (t) => {
  for (const [setName, options] of Object.entries(optionSets)) {
    const before = await withFastifyCors(options)
    const after = await withPolicy(options)
    for (const [requestName, request] of Object.entries(requests)) {
      const old = await corsCheck(before, request)
      const now = await corsCheck(after, request)
      t.equal(now.ok, old.ok, `${setName} / ${requestName}: ${old.ok ? 'allowed' : 'refused'} by both`)
      if (old.ok && now.ok) t.same(now.exposedHeaders, old.exposedHeaders, `${setName} / ${requestName}: same readable headers`)
    }
    await before.close()
    await after.close()
  }
})

t.test('deliberate differences', async (t) => {
  const request: CorsCheckRequest = { origin: APP, method: 'POST', url: '/items', headers: { authorization: 'Bearer t' } }
  const before = await withFastifyCors({ origin: APP })
  const after = await withPolicy({ origin: APP })
  t.teardown(async () => { await before.close(); await after.close() })
  t.equal((await corsCheck(before, request)).ok, true, '@fastify/cors echoes any requested header, authorization included')
  t.equal((await corsCheck(after, request)).ok, false, "allowHeaders ['*'] does not cover authorization: list it by name")
  const refused = await after.inject({ method: 'OPTIONS', url: '/items', headers: { origin: OTHER, 'access-control-request-method': 'POST' } })
  t.equal(refused.statusCode, 403, 'a refused preflight is a 403, where @fastify/cors answers 204 without Allow-Origin')
})

t.test('the mapping, option by option', async (t) => {
  t.same(fromFastifyCors(), { default: { origins: '*', methods: ['GET', 'HEAD', 'POST'], allowHeaders: ['*'] } })
  t.same(fromFastifyCors({ origin: false }), { default: false })
  t.same(fromFastifyCors({ origin: APP, credentials: true, methods: 'GET, PUT', allowedHeaders: ['content-type'], exposedHeaders: 'x-a, x-b', maxAge: 600 }), {
    default: { origins: [APP], credentials: true, methods: ['GET', 'PUT'], allowHeaders: ['content-type'], exposeHeaders: ['x-a', 'x-b'], maxAge: 600 },
  })
  t.same(fromFastifyCors({ origin: [APP, '*'] }).default, { origins: '*', methods: ['GET', 'HEAD', 'POST'], allowHeaders: ['*'] }, "'*' in a list makes a public policy")
  t.same(fromFastifyCors({ origin: true }).default, { origins: '*', methods: ['GET', 'HEAD', 'POST'], allowHeaders: ['*'] }, 'reflecting without credentials is public')
  t.throws(() => fromFastifyCors({ methods: 5 as unknown as string }), CorsPolicyError, 'a list option of the wrong type')
})

t.test('unsafe options are refused with the safe equivalent, unless explicitly kept', async (t) => {
  const cases: Array<[string, FastifyCorsOptions, RegExp]> = [
    ['reflect with credentials', { origin: true, credentials: true }, /fromFastifyCors: \/origin is true with credentials: it reflects every origin.*list the origins/],
    ["'*' with credentials", { origin: '*', credentials: true }, /\/origin is '\*' with credentials/],
    ['unanchored RegExp', { origin: [APP, /example\.com/] }, /\/origin\/1 \/example\\.com\/ is not anchored.*write \/\^example\\.com\$\//],
    ['single unanchored RegExp', { origin: /^https:\/\/a\.example\.com/ }, /fromFastifyCors: \/origin .* is not anchored.*write \/\^https:\\\/\\\/a\\\.example\\\.com\$\//],
    ['delegator', { delegator: () => ({}) }, /\/delegator has no equivalent/],
  ]
  for (const [name, options, message] of cases) {
    t.throws(() => fromFastifyCors(options), { name: 'CorsPolicyError', code: 'FST_CORS_POLICY_INVALID', message }, name)
  }

  const reflected = fromFastifyCors({ origin: true, credentials: true }, { dangerouslyAllowUnsafeOrigins: true })
  const app = Fastify()
  await app.register(cors, reflected)
  routes(app)
  t.teardown(() => app.close())
  const any = await corsCheck(app, { origin: OTHER, url: '/items', credentials: true })
  t.equal(any.ok, true, 'with the opt-in, every origin is reflected with credentials, as before')

  t.same(fromFastifyCors({ origin: '*', credentials: true }, { dangerouslyAllowUnsafeOrigins: true }).default,
    { origins: '*', methods: ['GET', 'HEAD', 'POST'], allowHeaders: ['*'] }, "'*' with credentials becomes what browsers did with it: '*' without")

  const loose = fromFastifyCors({ origin: [/example\.com/, 'https://exact.io'] }, { dangerouslyAllowUnsafeOrigins: true })
  const looseApp = Fastify()
  await looseApp.register(cors, loose)
  routes(looseApp)
  t.teardown(() => looseApp.close())
  t.equal((await corsCheck(looseApp, { origin: 'https://example.com.evil.io', url: '/items' })).ok, true, 'the unanchored RegExp keeps its old, loose meaning')
  t.equal((await corsCheck(looseApp, { origin: 'https://unrelated.io', url: '/items' })).ok, false)
  t.equal((await corsCheck(looseApp, { origin: 'https://exact.io', url: '/items' })).ok, true, 'strings beside it still match exactly')
})

t.test('origin functions: callback values and failures', async (t) => {
  const values: Array<[unknown, boolean]> = [[true, true], ['*', true], [APP, true], [OTHER, false], [/^https:\/\/app\./, true], [[OTHER, APP], true], [false, false]]
  for (const [value, ok] of values) {
    const app = Fastify()
    await app.register(cors, fromFastifyCors({ origin: (_origin: string | undefined, cb: (err: Error | null, v: never) => void) => { cb(null, value as never) } }))
    routes(app)
    t.equal((await corsCheck(app, { origin: APP, url: '/items' })).ok, ok, `callback value ${String(value)}`)
    await app.close()
  }
  const failing = Fastify()
  await failing.register(cors, fromFastifyCors({ origin: (_origin: string | undefined, cb: (err: Error | null, v: boolean) => void) => { cb(new Error('db down'), false) } }))
  routes(failing)
  t.teardown(() => failing.close())
  const res = await failing.inject({ url: '/items', headers: { origin: APP } })
  t.equal(res.statusCode, 200, 'a failing function is "not allowed", not an error response')
  t.equal(res.headers['access-control-allow-origin'], undefined)
})

t.test('fromFastifyCors: whatever a migrated origin function answers, the server stays up and only real matches allow', async (t) => {
  // A stateful RegExp (g flag): each answer must be judged from the start of the origin, as @fastify/cors does.
  const sticky = /^https:\/\/app\.example\.com$/g
  const cases: Array<[string, OriginFn, boolean]> = [
    ['callback: true', (_o, cb) => cb(null, true), true],
    ['callback: undefined', (_o, cb) => cb(null, undefined as never), false],
    ['callback: null', (_o, cb) => cb(null, null as never), false],
    ['callback: false', (_o, cb) => cb(null, false), false],
    ["callback: '*'", (_o, cb) => cb(null, '*'), true],
    ['callback: the same origin', (o, cb) => cb(null, o as string), true],
    ['callback: another origin', (_o, cb) => cb(null, 'https://other.example'), false],
    ['callback: a matching RegExp', (_o, cb) => cb(null, /^https:\/\/app\.example\.com$/), true],
    ['callback: a RegExp that does not match', (_o, cb) => cb(null, /^https:\/\/other\.example$/), false],
    ['callback: a list with the origin', (o, cb) => cb(null, ['https://other.example', o as string]), true],
    ['callback: a list without it', (_o, cb) => cb(null, ['https://other.example', false]), false],
    ['callback: a number', (_o, cb) => cb(null, 1 as never), false],
    ['callback: an object', (_o, cb) => cb(null, { origin: true } as never), false],
    ['callback: an error', (_o, cb) => cb(new Error('store down'), true), false],
    ['callback: an error that is not an Error', (_o, cb) => cb('nope' as never, true), false],
    ['callback: twice, true then false', (_o, cb) => { cb(null, true); cb(null, false) }, true],
    ['callback: twice, error then true', (_o, cb) => { cb(new Error('first'), false); cb(null, true) }, false],
    ['throws synchronously', () => { throw new Error('sync') }, false],
    ['promise: undefined', async () => undefined as never, false],
    ['promise: null', async () => null as never, false],
    ['promise: true', async () => true, true],
    ['promise: false', async () => false, false],
    ["promise: '*'", async () => '*', true],
    ['promise: the origin', async (o) => o as string, true],
    ['promise: a RegExp', async () => /^https:\/\/app\.example\.com$/, true],
    ['promise: a list', async () => [APP], true],
    ["callback: ['*']", (_o, cb) => cb(null, ['*']), true],
    ['callback: [true]', (_o, cb) => cb(null, [true]), true],
    ['callback: [false, null, undefined]', (_o, cb) => cb(null, [false, null, undefined] as never), false],
    ['callback: [undefined, the origin]', (o, cb) => cb(null, [undefined, o] as never), true],
    ['callback: an empty list', (_o, cb) => cb(null, []), false],
    ['callback: the same RegExp with the g flag, asked again and again', (_o, cb) => cb(null, sticky), true],
    ["promise: ['*']", async () => ['*'], true],
    ['promise: [a matching RegExp]', async () => [/^https:\/\/app\.example\.com$/], true],
    ['promise: rejects', async () => { throw new Error('async') }, false],
    ['promise: rejects with nothing', () => ({ then: (_ok: unknown, fail: () => void) => fail() }) as unknown as Promise<boolean>, false],
  ]
  for (const [name, origin, allowed] of cases) {
    const { logger } = logCapture('fatal')
    const app = await build(fromFastifyCors({ origin }), (app) => {
      app.get('/r', async () => 'r')
    }, { logger })
    const actual = await app.inject({ method: 'GET', url: '/r', headers: { origin: APP } })
    t.equal(actual.statusCode, 200, `${name}: answered`)
    t.equal(actual.headers['access-control-allow-origin'], allowed ? APP : undefined, `${name}: actual request`)
    const pre = await app.inject(preflight('/r', APP, 'GET'))
    t.equal(pre.statusCode, allowed ? 204 : 403, `${name}: preflight`)
    await app.close()
  }
})

t.test('fromFastifyCors: a migrated function that never answers is bounded too', async (t) => {
  const { logger, lines } = logCapture()
  // The bound's timer does not keep a process alive, and inject opens no socket that would.
  const keepAlive = setInterval(() => {}, 1000)
  t.teardown(() => clearInterval(keepAlive))
  const options = fromFastifyCors({ origin: () => {} })
  // The result is plain options: a bound other than the default goes on its policy.
  ;(options.default as { originTimeout?: number }).originTimeout = 20
  const app = await build(options, (app) => {
    app.get('/r', async () => 'r')
  }, { logger })
  t.teardown(() => app.close())
  const res = await app.inject({ method: 'GET', url: '/r', headers: { origin: APP } })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['access-control-allow-origin'], undefined)
  const errors = lines.filter((line) => line.level === 50 && line.cors !== undefined)
  t.match(errors, [{ cors: { reason: 'origin_function_timeout', policy: 'default policy', route: 'GET /r' } }])
  t.match(errors[0]?.msg, /did not answer within 20 ms/)
})

t.test('fromFastifyCors: what has no equivalent, or never worked in @fastify/cors, is refused at startup', async (t) => {
  const asFunction = /^fromFastifyCors: are a function \(@fastify\/cors's register\(cors, \(\) => delegator\) form, options decided per request\), which has no equivalent: declare each route's policy in its config\.cors instead/
  const cases: Array<[string, unknown, RegExp]> = [
    ['options given as a function, as register(cors, () => delegator) passes them', async () => ({ origin: '*' }), asFunction],
    ['options given as a callback function', (_req: unknown, cb: (err: null, options: object) => void) => { cb(null, {}) }, asFunction],
    ['null options', null, /^fromFastifyCors: are null; pass the @fastify\/cors options object$/],
    ['options that are a list', [{ origin: APP }], /^fromFastifyCors: are an array; pass the @fastify\/cors options object$/],
    ['a delegator that is not a function', { delegator: { origin: APP } }, /^fromFastifyCors: \/delegator has no equivalent/],
    ['an empty origin', { origin: '' }, /^fromFastifyCors: \/origin is the string "", which @fastify\/cors answered with a 500 on every request; list the origins allowed .*or write origin: false for no CORS$/],
    ['a null origin', { origin: null }, /^fromFastifyCors: \/origin is null, which @fastify\/cors answered with a 500 on every request/],
    ['an origin of another type', { origin: 5 }, /^fromFastifyCors: \/origin is the number 5; an @fastify\/cors origin is a string, a RegExp, a list of them, a boolean or a function$/],
    ['a boolean in an origin list', { origin: [APP, true] }, /^fromFastifyCors: \/origin\/1 is true; an origin list holds strings and RegExps \(write origin: true to reflect any origin\)$/],
    ['a list option of the wrong type', { exposedHeaders: 5 }, /^fromFastifyCors: \/exposedHeaders is the number 5; write a comma-separated string or an array$/],
  ]
  for (const [name, options, message] of cases) {
    t.throws(() => fromFastifyCors(options as FastifyCorsOptions), { name: 'CorsPolicyError', code: INVALID, message }, name)
  }
  // Every problem of the options in one error.
  const err = (() => {
    try { fromFastifyCors({ delegator: () => ({}), hook: 'onSend', origin: [/example\.com/, false] }) } catch (err) { return err }
  })() as CorsPolicyError
  t.same(err.problems.map((problem: CorsPolicyProblem) => problem.path), ['/delegator', '/hook', '/origin/0', '/origin/1'], 'all problems reported together')
})

t.test('fromFastifyCors: the hooks @fastify/cors accepts are accepted (and change nothing), the ones it refuses are refused', async (t) => {
  for (const hook of ['onRequest', 'preParsing', 'preValidation', 'preHandler', 'preSerialization', 'onSend', 'onResponse', 'invalid']) {
    const app = Fastify()
    const refusedThere = await app.register(fastifyCors, { hook } as never).then(() => false, () => true)
    await app.close()
    if (refusedThere) {
      t.throws(() => fromFastifyCors({ hook }), {
        code: INVALID,
        message: new RegExp(`^fromFastifyCors: /hook is the string "${hook}", which @fastify/cors refuses too \\(it takes onRequest, preParsing, preValidation, preHandler, preSerialization\\); remove it`),
      }, `hook ${hook}: refused by both`)
    } else {
      t.same(fromFastifyCors({ hook }), fromFastifyCors(), `hook ${hook}: accepted by both, and ignored`)
    }
  }
})

t.test("fromFastifyCors: an origin function's '*' never sends credentials to an origin nobody listed", async (t) => {
  const wildcards: Array<[string, OriginFn]> = [
    ["callback: '*'", (_o, cb) => cb(null, '*')],
    ["callback: ['*']", (_o, cb) => cb(null, ['*'])],
    ["callback, later: '*'", (_o, cb) => { setTimeout(() => cb(null, '*'), 1) }],
    ["promise: ['*']", async () => ['*']],
    ["promise: the origin and '*'", async (o) => [o as string, '*']],
  ]
  for (const [name, origin] of wildcards) {
    await t.test(name, async (t) => {
      // Without credentials, '*' lets every page read the response: so does answering with the origin.
      const open = await withPolicy({ origin })
      const openOld = await withFastifyCors({ origin })
      t.teardown(async () => { await open.close(); await openOld.close() })
      for (const request of [requests['simple GET from another origin'], requests['JSON POST from another origin']] as CorsCheckRequest[]) {
        t.equal((await corsCheck(open, request)).ok, (await corsCheck(openOld, request)).ok, `without credentials: allowed as by @fastify/cors (${request.method ?? 'GET'})`)
      }
      const plain = await open.inject({ url: '/items', headers: { origin: OTHER } })
      t.same([plain.headers['access-control-allow-origin'], plain.headers.vary], [OTHER, 'Origin'], 'answered with the origin itself')

      // With credentials: not allowed, and said so in the log.
      const { logger, lines } = logCapture('error')
      const closed = Fastify({ logger })
      await closed.register(cors, fromFastifyCors({ origin, credentials: true }))
      routes(closed)
      const closedOld = await withFastifyCors({ origin, credentials: true })
      t.teardown(async () => { await closed.close(); await closedOld.close() })
      const actual = await closed.inject({ url: '/items', headers: { origin: OTHER } })
      t.equal(actual.statusCode, 200, 'the request is answered')
      t.same([actual.headers['access-control-allow-origin'], actual.headers['access-control-allow-credentials']], [undefined, undefined], 'no CORS headers, credentials least of all')
      t.equal((await closed.inject(preflight('/items', OTHER, 'POST'))).statusCode, 403, 'its preflights are refused')
      const logged = lines.filter((line) => line.cors?.reason === 'origin_function_failed')
      t.equal(logged.length, 2, 'each refusal is logged at error')
      t.match(logged[0], { level: 50, cors: { origin: OTHER, route: 'GET /items' }, err: { message: /^the origin function answered '\*' on a policy with credentials: browsers never send credentials to '\*'.*treated as not allowed; answer true \(or the origin\) for the origins you trust$/ } })
      const credentialed = { origin: OTHER, url: '/items', credentials: true }
      t.equal((await corsCheck(closed, credentialed)).ok, false, 'a credentialed request is refused')
      t.equal((await corsCheck(closedOld, credentialed)).ok, false, '@fastify/cors answered it with *, which browsers refuse with credentials')

      // Kept, on request: reflected with credentials.
      const unsafe = Fastify()
      await unsafe.register(cors, fromFastifyCors({ origin, credentials: true }, { dangerouslyAllowUnsafeOrigins: true }))
      routes(unsafe)
      t.teardown(() => unsafe.close())
      t.equal((await corsCheck(unsafe, credentialed)).ok, true, 'with dangerouslyAllowUnsafeOrigins, every origin is reflected with credentials')
    })
  }
})

t.test("fromFastifyCorsRoute: a route's @fastify/cors options as its policy", async (t) => {
  t.same(fromFastifyCorsRoute({ origin: '*' }), { origins: '*', allowHeaders: ['*'] }, "without methods, the route's own methods")
  t.same(fromFastifyCorsRoute({ origin: [APP], credentials: true, methods: 'GET, PUT', allowedHeaders: 'x-a', exposedHeaders: ['x-total'], maxAge: 60, cacheControl: 60 }),
    { origins: [APP], credentials: true, methods: ['GET', 'PUT'], allowHeaders: ['x-a'], exposeHeaders: ['x-total'], maxAge: 60 })
  t.equal(fromFastifyCorsRoute({ origin: false }), false, 'origin: false is cors: false')
  t.throws(() => fromFastifyCorsRoute({ origin: true, credentials: true }), { code: INVALID, message: /^fromFastifyCorsRoute: \/origin is true with credentials: it reflects every origin/ })
  t.throws(() => fromFastifyCorsRoute((() => ({ origin: APP })) as unknown as FastifyCorsOptions), { code: INVALID, message: /^fromFastifyCorsRoute: are a function/ })
  t.throws(() => fromFastifyCorsRoute({ delegator: () => ({}) }), { code: INVALID, message: /^fromFastifyCorsRoute: \/delegator has no equivalent/ })
  t.match(fromFastifyCorsRoute({ origin: true, credentials: true }, { dangerouslyAllowUnsafeOrigins: true }), { credentials: true }, 'the same opt-in')
})

t.test('fromFastifyCorsRoute: simple requests answered as @fastify/cors did, and preflights follow the route too', async (t) => {
  const pluginOptions: FastifyCorsOptions = { origin: APP, methods: 'GET,HEAD,POST,PUT' }
  const routeOptions: FastifyCorsOptions = { origin: [APP, OTHER] }
  const declare = (app: FastifyInstance, cors: unknown): void => {
    app.get('/shared', { config: { cors: cors as never } }, async () => 'shared')
    app.put('/shared', { config: { cors: cors as never } }, async () => 'updated')
    app.get('/items', async () => 'items')
  }
  const before = Fastify()
  await before.register(fastifyCors, pluginOptions as Parameters<typeof fastifyCors>[1])
  declare(before, routeOptions)
  const after = Fastify()
  // @fastify/cors merged route options over the plugin's: the converted policy stands alone, so spread them.
  await after.register(cors, fromFastifyCors(pluginOptions))
  declare(after, fromFastifyCorsRoute({ ...pluginOptions, ...routeOptions }))
  t.teardown(async () => { await before.close(); await after.close() })
  for (const request of [
    { origin: OTHER, url: '/shared' },
    { origin: APP, url: '/shared' },
    { origin: OTHER, url: '/items' },
    { origin: OTHER, url: '/shared', method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' },
  ] as CorsCheckRequest[]) {
    t.equal((await corsCheck(after, request)).ok, (await corsCheck(before, request)).ok, `${request.method ?? 'GET'} ${request.url} from ${request.origin}: as before`)
  }
  const put: CorsCheckRequest = { origin: OTHER, method: 'PUT', url: '/shared', headers: { 'content-type': 'application/json' }, body: '{}' }
  t.equal((await corsCheck(before, put)).ok, false, "@fastify/cors judged the route's preflight by the plugin's options")
  t.equal((await corsCheck(after, put)).ok, true, "here the route's policy governs its preflights too")
})

t.test("a route's config.cors still in @fastify/cors's names fails at startup, naming fromFastifyCorsRoute", async (t) => {
  const names = /; (?:did you mean "[a-zA-Z]+"\?|remove it\.) To convert @fastify\/cors options: fromFastifyCorsRoute\(options\) for a route's config\.cors, fromFastifyCors\(options\) for the plugin \(the fields are /
  const cases: Array<[unknown, string]> = [
    [{ origin: APP, credentials: true }, '/origin'],
    [{ origins: [APP], allowedHeaders: ['x-a'] }, '/allowedHeaders'],
    [{ origins: [APP], exposedHeaders: 'x-total' }, '/exposedHeaders'],
    [{ origins: [APP], preflightContinue: true }, '/preflightContinue'],
  ]
  for (const [route, path] of cases) {
    const err = await startupError({}, route) as CorsPolicyError
    const problem = err.problems.find((p) => p.path === path)
    t.equal(problem?.where, 'route PUT /me', path)
    t.match(problem?.message, /^is not a policy field but an @fastify\/cors option/, path)
    t.match(problem?.message, names, `${path}: names the converters`)
  }
  const typo = await startupError({}, { origins: [APP], credential: true }) as CorsPolicyError
  t.notMatch(typo.message, /fromFastifyCorsRoute/, 'a field that is no @fastify/cors option does not')
  t.equal(await startupError({}, fromFastifyCorsRoute({ origin: APP, credentials: true })), null, 'converted, it starts')
})
