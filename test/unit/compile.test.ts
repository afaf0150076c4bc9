import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import cors, { type CorsPluginOptions, type CorsPolicy } from '../../lib/index.ts'
import { compiledPolicyCount } from '../../lib/policy/compile.ts'
import { APP } from '../helpers.ts'

// Each distinct policy is compiled once, at startup, however many routes share it (style.md, 4).

/** How many policies were compiled while this app was built and started. */
async function compiledWhile (options: CorsPluginOptions, routes: (app: FastifyInstance) => void): Promise<{ count: number, app: FastifyInstance }> {
  const before = compiledPolicyCount()
  const app = Fastify()
  await app.register(cors, options)
  routes(app)
  await app.ready()
  return { count: compiledPolicyCount() - before, app }
}

t.test('a named policy used by 100 routes, their HEAD routes included, is compiled once', async (t) => {
  const { count, app } = await compiledWhile({ policies: { partners: { origins: ['https://*.partner.example'], maxAge: 600 } } }, (app) => {
    for (let i = 0; i < 50; i++) {
      app.get(`/items/${i}`, { config: { cors: 'partners' } }, async () => 'item')
      app.post(`/items/${i}`, { schema: { cors: 'partners' } }, async () => 'created')
    }
  })
  t.teardown(() => app.close())
  t.equal(count, 1)
  t.equal(app.hasRoute({ method: 'HEAD', url: '/items/49' }), true, 'HEAD routes went through onRoute too')
  const head = await app.inject({ method: 'HEAD', url: '/items/7', headers: { origin: 'https://a.partner.example' } })
  t.equal(head.headers['access-control-allow-origin'], 'https://a.partner.example')
})

t.test('a default policy is compiled once for every route that falls back to it', async (t) => {
  const { count, app } = await compiledWhile({ default: { origins: [APP], credentials: true } }, (app) => {
    for (let i = 0; i < 100; i++) app.get(`/page/${i}`, async () => 'page')
  })
  t.teardown(() => app.close())
  t.equal(count, 1)
})

t.test('equal inline policies on many routes are compiled once', async (t) => {
  const { count, app } = await compiledWhile({}, (app) => {
    for (let i = 0; i < 100; i++) {
      app.put(`/me/${i}`, { config: { cors: { origins: [APP], credentials: true, allowHeaders: ['content-type'] } } }, async () => 'me')
    }
  })
  t.teardown(() => app.close())
  t.equal(count, 1)
})

t.test('an inline policy equal to a named one, or written in another scope, shares its compiled form', async (t) => {
  const { count, app } = await compiledWhile({ policies: { public: { origins: '*' } } }, (app) => {
    app.get('/a', { config: { cors: 'public' } }, async () => 'a')
    app.get('/b', { config: { cors: { origins: '*' } } }, async () => 'b')
    app.register(async (child) => {
      await child.register(cors, { default: { origins: '*' } })
      child.get('/c', async () => 'c')
    })
  })
  t.teardown(() => app.close())
  t.equal(count, 1)
})

t.test('the same policy object reused is compiled once, an origin function included', async (t) => {
  const policy: CorsPolicy = { origins: (origin) => origin === APP, credentials: true }
  const { count, app } = await compiledWhile({ policies: { tenants: policy }, default: policy }, (app) => {
    for (let i = 0; i < 20; i++) app.get(`/tenant/${i}`, { config: { cors: policy } }, async () => 'tenant')
    app.get('/named', { config: { cors: 'tenants' } }, async () => 'named')
    app.get('/default', async () => 'default')
  })
  t.teardown(() => app.close())
  t.equal(count, 1)
})

t.test('two different policies are compiled twice', async (t) => {
  const { count, app } = await compiledWhile({}, (app) => {
    for (let i = 0; i < 10; i++) {
      app.get(`/open/${i}`, { config: { cors: { origins: [APP] } } }, async () => 'open')
      app.get(`/closed/${i}`, { config: { cors: { origins: [APP], credentials: true } } }, async () => 'closed')
    }
  })
  t.teardown(() => app.close())
  t.equal(count, 2)
})

t.test('long policies (thousands of origins, kept by a digest of their key) are shared when equal and compiled apart when not', async (t) => {
  const list = (n: number): string[] => Array.from({ length: n }, (_, i) => `https://app${i}.customer.example`)
  const { count, app } = await compiledWhile({}, (app) => {
    // Equal lists in different objects, then lists that differ in one origin, in credentials, or in order only.
    for (let i = 0; i < 5; i++) app.get(`/same/${i}`, { config: { cors: { origins: list(2000) } } }, async () => 'same')
    app.get('/longer', { config: { cors: { origins: list(2001) } } }, async () => 'longer')
    app.get('/credentials', { config: { cors: { origins: list(2000), credentials: true } } }, async () => 'credentials')
    app.get('/reversed', { config: { cors: { origins: list(2000).reverse() } } }, async () => 'reversed')
  })
  t.teardown(() => app.close())
  t.equal(count, 4)
  const answer = async (url: string, origin: string): Promise<string | undefined> =>
    (await app.inject({ url, headers: { origin } })).headers['access-control-allow-origin'] as string | undefined
  t.equal(await answer('/same/3', 'https://app1999.customer.example'), 'https://app1999.customer.example')
  t.equal(await answer('/same/3', 'https://app2000.customer.example'), undefined, 'the shared policy is the 2,000-origin one')
  t.equal(await answer('/longer', 'https://app2000.customer.example'), 'https://app2000.customer.example', 'the longer list has its own')
})

t.test('RegExp origins take part in equality by their source and flags', async (t) => {
  const { count, app } = await compiledWhile({}, (app) => {
    app.get('/a', { config: { cors: { origins: /^https:\/\/a\.example$/ } } }, async () => 'a')
    app.get('/b', { config: { cors: { origins: /^https:\/\/a\.example$/ } } }, async () => 'b')
    app.get('/c', { config: { cors: { origins: /^https:\/\/a\.example$/i } } }, async () => 'c')
  })
  t.teardown(() => app.close())
  t.equal(count, 2)
})

t.test('each server compiles its own policies', async (t) => {
  const options = { policies: { public: { origins: '*' } } } satisfies CorsPluginOptions
  const first = await compiledWhile(options, () => {})
  const second = await compiledWhile(options, () => {})
  t.teardown(() => first.app.close())
  t.teardown(() => second.app.close())
  t.equal(first.count, 1)
  t.equal(second.count, 1)
})
