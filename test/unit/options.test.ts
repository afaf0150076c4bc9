import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import cors, { CorsPolicyError, type CorsPluginOptions, type CorsRouteOption } from '../../lib/index.ts'
import { APP, startupError } from '../helpers.ts'

// Startup errors of the plugin options and of routes (cors-behaviour.md, "Startup errors"): unknown
// options and names, a route declaring its policy twice, the plugin registered twice in one scope.

/** Asserts `err` is the plugin's error with exactly these lines. */
function assertLines (t: Test, err: unknown, lines: readonly string[]): void {
  t.type(err, CorsPolicyError)
  t.match(err, { code: 'FST_CORS_POLICY_INVALID', name: 'CorsPolicyError', statusCode: 500 })
  t.same((err as Error).message.split('\n'), lines)
  t.equal((err as CorsPolicyError).problems.length, lines.length)
}

/** Declares one route after the plugin, at top level, and returns what `app.<method>()` threw. */
async function routeError (t: Test, options: CorsPluginOptions, declare: (app: FastifyInstance) => void): Promise<unknown> {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(cors, options)
  try {
    declare(app)
  } catch (err) {
    return err
  }
  return null
}

const KNOWN = { policies: { public: { origins: '*' }, partners: { origins: ['https://*.partner.example'] } } } satisfies CorsPluginOptions

t.test('plugin options that are not an object are refused', async (t) => {
  const fix = "pass an object such as { default: { origins: ['https://app.example.com'] } }"
  for (const [options, what] of [[42, 'the number 42'], ['*', 'the string "*"'], [[APP], 'an array'], [true, 'true']] as const) {
    assertLines(t, await startupError(options), [`plugin options: are ${what}; ${fix}`])
  }
})

t.test('an unknown option is refused, each one named', async (t) => {
  assertLines(t, await startupError({ origin: '*', credentials: true, default: false }), [
    'plugin options: /origin has the unknown option "origin"; the options are default, policies, openapiExtension, reportOnly and census',
    'plugin options: /credentials has the unknown option "credentials"; the options are default, policies, openapiExtension, reportOnly and census',
  ])
})

t.test('policies must be an object of name: policy', async (t) => {
  for (const [policies, what] of [[[{ origins: '*' }], 'an array'], ['public', 'the string "public"'], [null, 'null']] as const) {
    assertLines(t, await startupError({ policies }), [`plugin options: /policies is ${what}; policies is an object of name: policy`])
  }
})

t.test('a default naming an unknown policy is refused, with the known names', async (t) => {
  assertLines(t, await startupError({ ...KNOWN, default: 'partner' }), [
    'plugin options: /default names the unknown policy "partner"; known policies: "public", "partners"',
  ])
  assertLines(t, await startupError({ default: 'public' }), [
    'plugin options: /default names the unknown policy "public"; no named policies are registered in this scope (add it under `policies`)',
  ])
})

t.test('a default naming a declared but invalid policy reports that policy only', async (t) => {
  assertLines(t, await startupError({ default: 'partners', policies: { partners: { origins: [] } } }), [
    'policy "partners": /origins is empty, so no origin could ever be allowed; list origins, or declare cors: false on the route to turn CORS off',
  ])
})

t.test('a default that is not a policy is refused', async (t) => {
  assertLines(t, await startupError({ default: true }), [
    "default policy: is true; a policy is an object such as { origins: ['https://app.example.com'] }",
  ])
  assertLines(t, await startupError({ default: { origins: ['https://app.example.com:443'] } }), [
    'default policy: /origins/0 "https://app.example.com:443" has the default port :443; browsers leave it out: write "https://app.example.com"',
  ])
})

t.test('every problem of the options is reported in one error', async (t) => {
  assertLines(t, await startupError({
    default: 'missing',
    policies: { partners: { origins: [APP], credential: true }, broken: 'public' },
    credentials: true,
  }), [
    'plugin options: /credentials has the unknown option "credentials"; the options are default, policies, openapiExtension, reportOnly and census',
    'policy "partners": /credential is not a policy field; did you mean "credentials"? (the fields are origins, credentials, methods, allowHeaders, exposeHeaders, maxAge, headersFromSchema, dangerouslyAllowInsecureOrigins, originTimeout)',
    "policy \"broken\": is the string \"public\"; a policy is an object such as { origins: ['https://app.example.com'] }",
    'plugin options: /default names the unknown policy "missing"; no named policies are registered in this scope (add it under `policies`)',
  ])
})

t.test('a default given by name applies to the routes that declare nothing', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(cors, { ...KNOWN, default: 'public' })
  app.get('/status', async () => 'ok')
  app.get('/partners', { config: { cors: 'partners' } }, async () => 'ok')
  await app.ready()
  const status = await app.inject({ url: '/status', headers: { origin: APP } })
  t.equal(status.headers['access-control-allow-origin'], '*')
  const partners = await app.inject({ url: '/partners', headers: { origin: APP } })
  t.equal(partners.headers['access-control-allow-origin'], undefined)
})

t.test('default: false, or no default, leaves routes that declare nothing without CORS', async (t) => {
  for (const options of [{ default: false }, {}] satisfies CorsPluginOptions[]) {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(cors, options)
    app.get('/plain', async () => 'ok')
    app.get('/public', { config: { cors: { origins: '*' } } }, async () => 'ok')
    await app.ready()
    const plain = await app.inject({ url: '/plain', headers: { origin: APP } })
    t.equal(plain.headers['access-control-allow-origin'], undefined)
    const open = await app.inject({ url: '/public', headers: { origin: APP } })
    t.equal(open.headers['access-control-allow-origin'], '*')
  }
})

t.test('a route naming an unknown policy is refused, with the known names', async (t) => {
  assertLines(t, await routeError(t, KNOWN, (app) => app.get('/status', { config: { cors: 'pubic' } }, async () => 'ok')), [
    'route GET /status: config.cors names the unknown policy "pubic"; known policies: "public", "partners"',
  ])
  assertLines(t, await routeError(t, KNOWN, (app) => app.post('/orders', { schema: { cors: 'partner' } }, async () => 'ok')), [
    'route POST /orders: schema.cors names the unknown policy "partner"; known policies: "public", "partners"',
  ])
  assertLines(t, await routeError(t, {}, (app) => app.put('/me', { config: { cors: 'public' } }, async () => 'ok')), [
    'route PUT /me: config.cors names the unknown policy "public"; no named policies are registered in this scope (add it under `policies`)',
  ])
})

t.test('a route declaring both config.cors and schema.cors is refused', async (t) => {
  const both = 'declares its policy in both config.cors and schema.cors; keep one of them'
  assertLines(t, await routeError(t, KNOWN, (app) => app.get('/status', { config: { cors: 'public' }, schema: { cors: 'public' } }, async () => 'ok')), [
    `route GET /status: ${both}`,
  ])
  assertLines(t, await routeError(t, KNOWN, (app) => app.get('/status', { config: { cors: false }, schema: { cors: { origins: '*' } } }, async () => 'ok')), [
    `route GET /status: ${both}`,
  ])
})

t.test('a route cors that is neither a policy, a name nor false is refused', async (t) => {
  const fix = "a route's cors is a policy object, the name of a policy, or false (leave it out to use the scope's default)"
  const cases: Array<[value: unknown, what: string]> = [[true, 'true'], [42, 'the number 42'], [['public'], 'an array'], [null, 'null']]
  for (const [value, what] of cases) {
    const cors = value as CorsRouteOption
    assertLines(t, await routeError(t, KNOWN, (app) => app.get('/status', { config: { cors } }, async () => 'ok')), [
      `route GET /status: config.cors is ${what}; ${fix}`,
    ])
    assertLines(t, await routeError(t, KNOWN, (app) => app.get('/status', { schema: { cors } }, async () => 'ok')), [
      `route GET /status: schema.cors is ${what}; ${fix}`,
    ])
  }
})

t.test('an invalid inline policy is refused, naming the route with its methods and full URL', async (t) => {
  const policy = { origins: ['https://app.example.com/'], credential: true } as unknown as CorsRouteOption
  assertLines(t, await routeError(t, {}, (app) => app.put('/me', { config: { cors: policy } }, async () => 'ok')), [
    'route PUT /me: /credential is not a policy field; did you mean "credentials"? (the fields are origins, credentials, methods, allowHeaders, exposeHeaders, maxAge, headersFromSchema, dangerouslyAllowInsecureOrigins, originTimeout)',
    'route PUT /me: /origins/0 "https://app.example.com/" has a path (a trailing slash); an origin is scheme://host[:port], as browsers send it: write "https://app.example.com"',
  ])
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(cors, {})
  await app.register(async (api) => {
    t.throws(() => api.route({ method: ['GET', 'POST'], url: '/me', schema: { cors: { origins: [] } }, handler: async () => 'ok' }), {
      message: 'route GET,POST /v1/me: /origins is empty, so no origin could ever be allowed; list origins, or declare cors: false on the route to turn CORS off',
    })
  }, { prefix: '/v1' })
})

t.test('a route declared at top level throws from app.get() itself', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(cors, KNOWN)
  t.throws(() => app.get('/status', { config: { cors: 'pubic' } }, async () => 'ok'), CorsPolicyError)
  t.throws(() => app.get('/other', { config: { cors: { origins: '*', credentials: true } } }, async () => 'ok'), {
    code: 'FST_CORS_POLICY_INVALID',
    message: "route GET /other: /credentials is true with origins '*'; browsers refuse credentials from a wildcard origin: list the origins instead",
  })
  // The app still starts with the routes that were accepted: the error is the caller's to handle.
  app.get('/fine', { config: { cors: 'public' } }, async () => 'ok')
  await app.ready()
  t.equal((await app.inject({ url: '/fine', headers: { origin: APP } })).headers['access-control-allow-origin'], '*')
})

t.test('a route declared inside a plugin makes app.ready() reject', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(cors, KNOWN)
  app.register(async (api) => {
    api.get('/status', { config: { cors: 'pubic' } }, async () => 'ok')
  }, { prefix: '/api' })
  await t.rejects(async () => { await app.ready() }, {
    code: 'FST_CORS_POLICY_INVALID',
    message: 'route GET /api/status: config.cors names the unknown policy "pubic"; known policies: "public", "partners"',
  })
})

t.test('invalid options make app.register() and app.ready() reject, never crash the process', async (t) => {
  const awaited = Fastify()
  t.teardown(() => awaited.close())
  await t.rejects(async () => { await awaited.register(cors, { policies: { partners: { origins: [] } } }) }, CorsPolicyError)

  const notAwaited = Fastify()
  t.teardown(() => notAwaited.close())
  notAwaited.register(cors, { default: 'nothing' })
  notAwaited.get('/status', async () => 'ok')
  await t.rejects(async () => { await notAwaited.ready() }, { code: 'FST_CORS_POLICY_INVALID' })
})

t.test('names resolve in the registration that governs the route', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(cors, KNOWN)
  app.register(async (child) => {
    await child.register(cors, { policies: { internal: { origins: [APP] } } })
    child.get('/public', { config: { cors: 'public' } }, async () => 'ok')
  })
  await t.rejects(async () => { await app.ready() }, {
    message: 'route GET /public: config.cors names the unknown policy "public"; known policies: "internal"',
  })
})

t.test('registering the plugin twice in one scope is refused', async (t) => {
  const message = 'plugin options: fastify-cors-policy is registered twice in the same scope; ' +
    'register it once per scope (a child scope may register it again with its own options)'
  const awaited = Fastify()
  t.teardown(() => awaited.close())
  await awaited.register(cors, KNOWN)
  await t.rejects(async () => { await awaited.register(cors, {}) }, { code: 'FST_CORS_POLICY_INVALID', message })

  const inChild = Fastify()
  t.teardown(() => inChild.close())
  inChild.register(async (child) => {
    child.register(cors, {})
    child.register(cors, KNOWN)
  })
  await t.rejects(async () => { await inChild.ready() }, { code: 'FST_CORS_POLICY_INVALID', message })
})

t.test('a child scope and sibling scopes may each register the plugin once', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(cors, { default: { origins: '*' } })
  for (const prefix of ['/a', '/b']) {
    app.register(async (child) => {
      await child.register(cors, { default: { origins: [APP], credentials: true } })
      child.get('/me', async () => 'me')
    }, { prefix })
  }
  app.get('/status', async () => 'ok')
  await app.ready()
  const me = await app.inject({ url: '/b/me', headers: { origin: APP } })
  t.equal(me.headers['access-control-allow-credentials'], 'true')
  const status = await app.inject({ url: '/status', headers: { origin: APP } })
  t.equal(status.headers['access-control-allow-origin'], '*')
})
