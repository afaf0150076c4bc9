import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import fastifyCors from '@fastify/cors'
import cors, { CorsPolicyError, fromFastifyCors, type FastifyCorsOptions } from '../lib/index.ts'
import { corsCheck, type CorsCheckRequest } from '../lib/testing.ts'
import { build, logCapture, preflight } from './helpers.ts'

const APP = 'https://app.example.com'
const OTHER = 'https://other.example'

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
    ['single unanchored RegExp', { origin: /^https:\/\/a\.example\.com/ }, /\/origin\/0 .* is not anchored.*write \/\^https:\\\/\\\/a\\\.example\\\.com\$\//],
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
  type Fn = Exclude<FastifyCorsOptions['origin'], undefined | boolean | string | RegExp | unknown[]>
  const cases: Array<[string, Fn, boolean]> = [
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
