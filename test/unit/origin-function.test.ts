import t, { type Test } from 'tap'
import Fastify, { type FastifyServerOptions, type RouteShorthandOptions } from 'fastify'
import cors, { type CorsOriginFunction, type CorsPolicy } from '../../lib/index.ts'
import { APP, PREFLIGHT_VARY, build, corsHeaders, logCapture, preflight, refusals, startupError } from '../helpers.ts'

// Origin functions fail, lie and hang; the server keeps running and every request is answered
// (style.md, 15). A function's late or broken answer reaches Fastify's error handling like any hook
// error, a reply already sent is left alone, and a function that does not answer within
// `originTimeout` milliseconds means "not allowed".

/** A promise and the functions that settle it. */
function deferred<T = void> (): { promise: Promise<T>, resolve: (value: T) => void, reject: (err: Error) => void } {
  let resolve!: (value: T) => void
  let reject!: (err: Error) => void
  const promise = new Promise<T>((_resolve, _reject) => { resolve = _resolve; reject = _reject })
  return { promise, resolve, reject }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

// The plugin's timers do not keep a process alive, and inject opens no socket that would: this
// does, while the tests wait for a bound to pass.
const keepAlive = setInterval(() => {}, 1000)
t.teardown(() => clearInterval(keepAlive))

/** An app with `GET /r` and `PUT /r` under `policy`, logging at debug into `lines`. */
async function appWith (t: Test, policy: CorsPolicy, route: RouteShorthandOptions = {}, server: FastifyServerOptions = {}) {
  const { logger, lines } = logCapture()
  const app = await build({ policies: { tenants: policy }, default: 'tenants' }, (app) => {
    app.get('/r', route, async () => 'r')
    app.put('/r', route, async () => 'r')
  }, { logger, ...server })
  t.teardown(() => app.close())
  return { app, lines }
}

const errorsOf = (lines: ReadonlyArray<Record<string, any>>) => lines.filter((line) => line.level === 50 && line.cors !== undefined)

t.test('a function that never answers means not allowed after originTimeout, logged at error with the policy and route', async (t) => {
  const { app, lines } = await appWith(t, { origins: () => new Promise<boolean>(() => {}), credentials: true, originTimeout: 20 })

  const actual = await app.inject({ method: 'GET', url: '/r', headers: { origin: APP } })
  t.equal(actual.statusCode, 200, 'the actual request is answered')
  t.equal(actual.body, 'r')
  t.strictSame(corsHeaders(actual.headers), { vary: 'Origin' })

  const pre = await app.inject(preflight('/r', APP, 'PUT'))
  t.equal(pre.statusCode, 403, 'the preflight is answered')
  t.strictSame(corsHeaders(pre.headers), { vary: PREFLIGHT_VARY })

  const errors = errorsOf(lines)
  t.equal(errors.length, 2, 'one error line per request')
  for (const line of errors) {
    t.match(line, {
      cors: { reason: 'origin_function_timeout', origin: APP, policy: 'policy "tenants"', timeout: 20 },
      reqId: String,
    })
    t.match(line.msg, /did not answer within 20 ms/)
  }
  t.strictSame(errors.map((line) => line.cors.route), ['GET /r', 'PUT /r'], 'each names its route; the preflight the route it was judged by')
  t.match(refusals(lines), [{ reason: 'origin_not_allowed', origin: APP }, { reason: 'origin_not_allowed', origin: APP }],
    'and the refusals that follow are logged at debug')
})

t.test('a function that answers within originTimeout decides; its timer is cleared, unref\'d, and not made for sync answers', async (t) => {
  const timers: Array<{ timer: NodeJS.Timeout, delay: number | undefined }> = []
  const cleared = new Set<unknown>()
  const { setTimeout: realSet, clearTimeout: realClear } = globalThis
  globalThis.setTimeout = ((fn: () => void, delay?: number) => {
    const timer = realSet(fn, delay)
    timers.push({ timer, delay })
    return timer
  }) as typeof setTimeout
  globalThis.clearTimeout = ((timer: NodeJS.Timeout) => {
    cleared.add(timer)
    realClear(timer)
  }) as typeof clearTimeout
  t.teardown(() => { globalThis.setTimeout = realSet; globalThis.clearTimeout = realClear })

  const { app, lines } = await appWith(t, {
    origins: (origin) => origin === 'https://sync.example' ? true : sleep(5).then(() => origin === APP),
    originTimeout: 37,
  })
  const ours = () => timers.filter((entry) => entry.delay === 37)

  t.equal((await app.inject({ url: '/r', headers: { origin: 'https://sync.example' } })).headers['access-control-allow-origin'], 'https://sync.example')
  t.equal((await app.inject(preflight('/r', 'https://sync.example', 'PUT'))).statusCode, 204)
  t.equal(ours().length, 0, 'no timer for a synchronous answer')

  t.equal((await app.inject({ url: '/r', headers: { origin: APP } })).headers['access-control-allow-origin'], APP)
  t.equal((await app.inject(preflight('/r', APP, 'PUT'))).statusCode, 204)
  t.equal((await app.inject({ url: '/r', headers: { origin: 'https://other.example' } })).headers['access-control-allow-origin'], undefined)
  t.equal(ours().length, 3, 'one timer per asynchronous answer')
  for (const { timer } of ours()) {
    t.equal(timer.hasRef(), false, 'the timer does not keep the process alive')
    t.ok(cleared.has(timer), 'the timer is cleared when the function answers')
  }
  await sleep(60)
  t.strictSame(errorsOf(lines), [], 'no timeout is logged for answers in time')
})

t.test('a late answer after the bound changes nothing and is not logged again', async (t) => {
  const late = deferred<boolean>()
  const failing = deferred<boolean>()
  const { app, lines } = await appWith(t, {
    origins: (origin) => origin === APP ? late.promise : failing.promise,
    originTimeout: 20,
  })
  t.equal((await app.inject({ url: '/r', headers: { origin: APP } })).headers['access-control-allow-origin'], undefined)
  t.equal((await app.inject({ url: '/r', headers: { origin: 'https://b.example' } })).headers['access-control-allow-origin'], undefined)
  late.resolve(true)
  failing.reject(new Error('too late'))
  await sleep(10)
  t.equal(errorsOf(lines).length, 2, 'only the two timeouts')
  t.strictSame(errorsOf(lines).map((line) => line.cors.reason), ['origin_function_timeout', 'origin_function_timeout'])
})

t.test('originTimeout is a whole number of milliseconds from 1 to 60000, for function origins only', async (t) => {
  const fn: CorsOriginFunction = () => true
  for (const [value, what] of [[0, '0'], [60001, '60001'], [1.5, '1.5'], ['2000', 'the string "2000"'], [-5, '-5']] as const) {
    const err = await startupError({ default: { origins: fn, originTimeout: value } })
    t.match(err, { code: 'FST_CORS_POLICY_INVALID', problems: [{ where: 'default policy', path: '/originTimeout' }] }, what)
    t.match((err as Error).message, /originTimeout is a whole number of milliseconds from 1 to 60000/, what)
  }
  for (const origins of [[APP], '*', /^https:\/\/a\.example$/] as const) {
    const err = await startupError({ default: { origins, originTimeout: 500 } })
    t.match(err, { problems: [{ path: '/originTimeout', message: /applies only to an origins function/ }] }, String(origins))
  }
  t.equal(await startupError({ default: { origins: fn, originTimeout: 1 } }), null)
  t.equal(await startupError({ default: { origins: fn, originTimeout: 60000 } }), null)
  t.equal(await startupError({ default: { origins: fn } }, { origins: fn, originTimeout: 100 }), null, 'inline policies too')
})

t.test('by default a function has 2000 ms to answer', async (t) => {
  const { checkPolicy } = await import('../../lib/policy/policy.ts')
  t.equal(checkPolicy({ origins: () => true }, 'policy "p"', [])?.originTimeout, 2000)
  t.equal(checkPolicy({ origins: () => true, originTimeout: 50 }, 'policy "p"', [])?.originTimeout, 50)
})

t.test('handlerTimeout: a late answer leaves the 503 alone and the server up (actual request)', async (t) => {
  const asked = deferred()
  let calls = 0
  const { app } = await appWith(t, {
    origins: async () => {
      calls++
      await sleep(40)
      if (calls === 2) asked.resolve()
      return true
    },
  }, { handlerTimeout: 15 })

  const res = await app.inject({ method: 'GET', url: '/r', headers: { origin: APP } })
  t.equal(res.statusCode, 503, 'the handler timeout answered')
  t.match(JSON.parse(res.body), { code: 'FST_ERR_HANDLER_TIMEOUT' }, 'with its own body: the late answer for the first response wrote nothing')
  t.equal(res.headers['access-control-allow-origin'], APP, 'with the headers of an allowed origin (rule 7)')
  await asked.promise
  await sleep(60)
  const again = await app.inject({ method: 'GET', url: '/r', headers: { origin: APP } })
  t.equal(again.statusCode, 503, 'the server is still up')
})

t.test('handlerTimeout: a late answer to a preflight leaves the 503 alone', async (t) => {
  let answered = 0
  const { app } = await appWith(t, {
    origins: async () => { await sleep(40); answered++; return true },
  }, {}, { handlerTimeout: 15 })

  const res = await app.inject(preflight('/r', APP, 'PUT'))
  t.equal(res.statusCode, 503)
  await sleep(60)
  t.equal(answered, 1, 'the function answered late')
  t.equal((await app.inject({ url: '/r' })).statusCode, 200, 'the server is still up')
})

t.test('an invalid header set by the handler reaches Fastify\'s error handling after an async answer', async (t) => {
  const { logger, lines } = logCapture()
  const app = await build({ default: { origins: async () => true } }, (app) => {
    app.get('/bad', async (_request, reply) => {
      reply.header('x-a', 'a\nb')
      return 'bad'
    })
  }, { logger })
  t.teardown(() => app.close())

  const res = await app.inject({ method: 'GET', url: '/bad', headers: { origin: APP } })
  t.equal(res.statusCode, 500)
  t.ok(lines.some((line) => line.level === 50 && line.err?.code === 'ERR_INVALID_CHAR'), 'logged as a request error')
  t.equal((await app.inject({ method: 'GET', url: '/bad' })).statusCode, 500, 'the server is still up')
})

t.test('an async preflight answer runs no onRequest hook added after the plugin', async (t) => {
  let authCalls = 0
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(cors, { default: { origins: async (origin: string) => { await sleep(5); return origin === APP } } })
  app.addHook('onRequest', async (_request, reply) => {
    authCalls++
    return reply.code(401).send({ error: 'login first' })
  })
  // An onSend hook that takes its time: the preflight's answer is not out when the origin function's promise settles.
  app.addHook('onSend', async (_request, _reply, payload) => { await sleep(10); return payload })
  app.put('/r', async () => 'r')
  await app.ready()

  const allowed = await app.inject(preflight('/r', APP, 'PUT'))
  t.equal(allowed.statusCode, 204)
  t.strictSame(corsHeaders(allowed.headers), {
    'access-control-allow-origin': APP,
    'access-control-allow-methods': 'PUT',
    vary: PREFLIGHT_VARY,
  })
  const refused = await app.inject(preflight('/r', 'https://other.example', 'PUT'))
  t.equal(refused.statusCode, 403)
  t.equal(authCalls, 0, 'the authentication hook never saw a preflight')
  t.equal((await app.inject({ method: 'PUT', url: '/r', headers: { origin: APP } })).statusCode, 401, 'it still guards actual requests')
})

t.test('a 404 under a default with an async origin function carries its headers once the function answers', async (t) => {
  const app = await build({ default: { origins: async (origin: string) => { await sleep(5); return origin === APP } } }, () => {})
  t.teardown(() => app.close())
  const allowed = await app.inject({ url: '/missing', headers: { origin: APP } })
  t.equal(allowed.statusCode, 404)
  t.strictSame(corsHeaders(allowed.headers), { 'access-control-allow-origin': APP, vary: 'Origin' })
  const refused = await app.inject({ url: '/missing', headers: { origin: 'https://other.example' } })
  t.strictSame(corsHeaders(refused.headers), { vary: 'Origin' })
})

t.test('a thenable whose then throws means not allowed, logged', async (t) => {
  const thenable = { then () { throw new Error('broken thenable') } } as unknown as Promise<boolean>
  const { app, lines } = await appWith(t, { origins: () => thenable })
  t.equal((await app.inject({ url: '/r', headers: { origin: APP } })).headers['access-control-allow-origin'], undefined)
  t.equal((await app.inject(preflight('/r', APP, 'PUT'))).statusCode, 403)
  t.match(errorsOf(lines), [
    { cors: { reason: 'origin_function_failed', route: 'GET /r' }, err: { message: 'broken thenable' } },
    { cors: { reason: 'origin_function_failed', route: 'PUT /r' }, err: { message: 'broken thenable' } },
  ])
})
