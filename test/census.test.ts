import type { AddressInfo } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import autocannon from 'autocannon'
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import cors, { CorsPolicyError, suggestCorsPolicy, type CorsCensusPolicy, type CorsPluginOptions } from '../lib/index.ts'
import { Census } from '../lib/observation/census.ts'
import { APP, EVIL, corsHeaders, preflight, startupError } from './helpers.ts'

// The origin census: which origins call each policy, how often, whether they were allowed and
// whether the candidate would allow them, in a fixed amount of memory.

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

async function app (t: Test, options: CorsPluginOptions, routes: (app: FastifyInstance) => void) {
  const app = Fastify()
  await app.register(cors, options)
  routes(app)
  await app.ready()
  t.teardown(() => app.close())
  return app
}

const get = (url: string, origin: string) => ({ method: 'GET' as const, url, headers: { origin } })
const policyOf = (census: ReturnType<FastifyInstance['corsPolicies']['census']>, label: string): CorsCensusPolicy =>
  census?.policies.find((p) => p.label === label) as CorsCensusPolicy

t.test('off by default: census() is null', async (t) => {
  const a = await app(t, { default: { origins: [APP] } }, (app) => { app.get('/', async () => 'x') })
  await a.inject(get('/', APP))
  t.equal(a.corsPolicies.census(), null)
})

t.test('per policy: each origin with its requests, whether it was allowed and whether the candidate would allow it', async (t) => {
  const a = await app(t, {
    census: true,
    policies: { web: { origins: [APP, 'https://b.example.com'] }, headers: { origins: [APP], headersFromSchema: true } },
    default: { origins: '*' },
    reportOnly: { web: { origins: [APP] } },
  }, (app) => {
    app.get('/web', { config: { cors: 'web' } }, async () => 'web')
    app.put('/web', { config: { cors: 'web' } }, async () => 'web')
    app.get('/inline', { config: { cors: { origins: [EVIL] } } }, async () => 'inline')
    app.get('/schema', { config: { cors: 'headers' }, schema: { headers: { type: 'object', properties: { 'x-key': { type: 'string' } } } } }, async () => 'schema')
    app.get('/default', async () => 'default')
  })
  for (let i = 0; i < 3; i++) await a.inject(get('/web', APP))
  await a.inject(preflight('/web', APP, 'PUT'))
  await a.inject(get('/web', 'https://b.example.com'))
  await a.inject(get('/web', EVIL))
  await a.inject(get('/inline', EVIL))
  await a.inject(get('/schema', APP))
  await a.inject(get('/default', EVIL))
  await a.inject(preflight('/default', EVIL, 'GET'))
  await a.inject({ method: 'GET', url: '/web' })
  const census = a.corsPolicies.census()
  t.equal(census?.size, 100)
  t.same(policyOf(census, 'policy "web"'), {
    policy: 'web',
    label: 'policy "web"',
    requests: 6,
    origins: [
      { origin: APP, requests: 4, allowed: true, candidateAllows: true },
      { origin: 'https://b.example.com', requests: 1, allowed: true, candidateAllows: false },
      { origin: EVIL, requests: 1, allowed: false, candidateAllows: false },
    ],
  }, 'preflights count; requests without Origin do not')
  t.same(policyOf(census, 'inline policy of route GET /inline').origins, [{ origin: EVIL, requests: 1, allowed: true, candidateAllows: null }])
  t.same(policyOf(census, 'policy "headers"').origins, [{ origin: APP, requests: 1, allowed: true, candidateAllows: null }], 'routes with schema headers count for their policy')
  t.same(policyOf(census, 'default policy'), { policy: null, label: 'default policy', requests: 2, origins: [{ origin: EVIL, requests: 2, allowed: true, candidateAllows: null }] })
})

t.test('a new origin gets in only by outweighing the lightest one kept', async (t) => {
  const a = await app(t, { census: { size: 2 }, default: { origins: '*' } }, (app) => { app.get('/', async () => 'x') })
  const seen = () => a.corsPolicies.census()?.policies[0]?.origins.map((o) => [o.origin, o.requests])
  const send = async (...origins: string[]) => { for (const origin of origins) await a.inject(get('/', origin)) }
  await send('https://a.example', 'https://b.example', 'https://a.example', 'https://b.example')
  t.same(seen(), [['https://a.example', 2], ['https://b.example', 2]])
  await send('https://c.example', 'https://c.example')
  t.same(seen(), [['https://a.example', 2], ['https://b.example', 2]], 'two requests do not outweigh two')
  await send('https://c.example')
  t.same(seen(), [['https://c.example', 3], ['https://b.example', 2]], 'three do: the lightest (by then, the first of the two) leaves')
})

t.test('census options are checked at startup', async (t) => {
  for (const [census, path] of [[{ size: 0 }, '/census/size'], [{ size: 1.5 }, '/census/size'], [{ size: 10_001 }, '/census/size'], [{ size: 'big' }, '/census/size'], [{ sise: 5 }, '/census'], ['yes', '/census'], [null, '/census']] as const) {
    const error = await startupError({ default: { origins: [APP] }, census }) as CorsPolicyError
    t.type(error, CorsPolicyError)
    t.same(error.problems.map((p) => p.path), [path], JSON.stringify(census))
  }
  t.equal(await startupError({ default: { origins: [APP] }, census: false }), null)
  t.equal(await startupError({ default: { origins: [APP] }, census: {} }), null)
})

t.test('a flood of 100,000 random origins neither grows the census nor pushes out the real callers', async (t) => {
  const a = await app(t, { census: { size: 50 }, policies: { web: { origins: '*' } } }, (app) => {
    app.get('/', { config: { cors: 'web' } }, async () => 'x')
  })
  await a.listen({ host: '127.0.0.1', port: 0 })
  const url = `http://127.0.0.1:${(a.server.address() as AddressInfo).port}/`
  // 20 real callers, caller i with 100 + 5i requests (0.1% to 0.2% of the traffic each), spread
  // through 100,000 requests from random origins.
  const real = Array.from({ length: 20 }, (_, i) => `https://caller${i}.example.com`)
  const schedule: string[] = []
  for (const [i, origin] of real.entries()) for (let n = 0; n < 100 + 5 * i; n++) schedule.push(origin)
  const every = Math.floor(100_000 / schedule.length)
  let sent = 0
  const flood = (amount: number) => autocannon({
    url,
    amount,
    connections: 10,
    pipelining: 10,
    requests: [{
      setupRequest: (request) => {
        const i = sent++
        const origin = i % every === 0 && i / every < schedule.length
          ? schedule[i / every] as string
          : `https://${Math.random().toString(36).slice(2)}.evil.example`
        return { ...request, headers: { origin } }
      },
    }],
  })
  const first = await flood(10_000)
  gc()
  const before = process.memoryUsage().heapUsed
  const rest = await flood(90_000)
  gc()
  const growth = (process.memoryUsage().heapUsed - before) / 2 ** 20
  t.same([first.errors + rest.errors, first.non2xx + rest.non2xx], [0, 0])
  const web = policyOf(a.corsPolicies.census(), 'policy "web"')
  t.equal(web.requests, 100_000)
  t.equal(web.origins.length, 50, 'never more than its size')
  t.same(web.origins.slice(0, 20).map((o) => o.origin).sort(), [...real].sort(), 'the 20 real callers are the top 20')
  // Never below the truth; above it by the sketch's noise, within its bound (e/width × requests: 34 for a size of 50).
  for (const [i, origin] of real.entries()) {
    const sentThere = 100 + 5 * i
    const seen = web.origins.find((o) => o.origin === origin)
    t.ok(seen !== undefined && seen.requests >= sentThere && seen.requests <= sentThere + 34, `${origin}: ${seen?.requests} requests counted, ${sentThere} sent`)
  }
  t.ok(growth < 1, `heap flat across 90,000 distinct origins: ${growth.toFixed(2)} MB`)
})

t.test('the sketch\'s rows are independent: no one-off origin takes a heavy origin\'s count in every row at once', async (t) => {
  // The smallest sketch (1,024 counters a row), one heavy origin and 2,000,000 one-off ones. Rows
  // drawn as (h1 + row·h2) masked would give about 4 of them the heavy origin's cell in all four rows
  // at once (1 pair in 1,024 × 512), hence its count; independent rows, 1 in 1,024⁴ (2·10⁻⁶ here).
  // The one-off origins lift the other counters to about 2,000 (2,000,000 / 1,024), far below.
  const census = new Census(1)
  for (let n = 0; n < 100_000; n++) census.count('https://heavy.example.com', 1)
  const inflated: string[] = []
  for (let i = 0; i < 2_000_000; i++) {
    const origin = `https://${i.toString(36)}.evil.example`
    if (census.count(origin, 1) >= 100_000) inflated.push(origin)
  }
  t.same(inflated, [], 'no one-off origin is counted as the heavy one')
})

t.test('suggestCorsPolicy: exact origins, subdomain patterns only where no public suffix is involved, and it passes startup', async (t) => {
  const a = await app(t, { census: true, policies: { web: { origins: '*' } } }, (app) => {
    app.get('/', { config: { cors: 'web' } }, async () => 'x')
  })
  const seen = [
    APP, 'https://b.example.com', 'https://c.d.example.com', 'https://example.com',
    'https://one.github.io', 'https://two.github.io', 'https://three.github.io',
    'https://a.example.co.uk', 'https://b.example.co.uk',
    'http://a.example.org', 'http://b.example.org', 'http://c.example.org',
    'https://x.example.net:8443', 'https://y.example.net:8443', 'https://z.example.net:8443',
    'http://localhost:3000', 'capacitor://localhost', 'null', 'https://127.0.0.1',
  ]
  for (const origin of seen) await a.inject(get('/', origin))
  for (let i = 0; i < 5; i++) await a.inject(get('/', APP))
  await a.inject(get('/', 'not an origin'))
  const web = policyOf(a.corsPolicies.census(), 'policy "web"')

  const suggested = suggestCorsPolicy(web)
  t.same(suggested, {
    origins: [
      'capacitor://localhost', 'http://*.example.org', 'http://localhost:3000', 'https://*.example.com', 'https://127.0.0.1',
      'https://a.example.co.uk', 'https://b.example.co.uk', 'https://example.com',
      'https://one.github.io', 'https://three.github.io', 'https://two.github.io',
      'https://x.example.net:8443', 'https://y.example.net:8443', 'https://z.example.net:8443', 'null',
    ],
  })
  t.same(suggestCorsPolicy(web, { credentials: true, minSubdomains: 0, minRequests: 2 }), { origins: [APP], credentials: true })
  t.same(suggestCorsPolicy(web, { credentials: true, minSubdomains: 2 })?.origins.filter((o) => o.includes('*')), ['https://*.example.co.uk', 'https://*.example.com'],
    'with credentials, plain http is left out, so is its pattern')
  t.equal(suggestCorsPolicy(web, { minRequests: 100 }), null, 'nothing qualifies')

  // The suggestion passes the plugin's own startup checks.
  for (const policy of [suggested, suggestCorsPolicy(web, { credentials: true, minSubdomains: 2 })]) {
    const check = Fastify()
    await check.register(cors, { policies: { web: policy as NonNullable<typeof policy> } })
    await check.ready()
    await check.close()
  }
})

t.test('from reflect-any to an exact list in three steps', async (t) => {
  // Step 1: the permissive policy stays enforced; the census counts who calls.
  const a = await app(t, { census: true, policies: { web: { origins: '*' } } }, (app) => {
    app.get('/api', { config: { cors: 'web' } }, async () => 'api')
  })
  const traffic = async () => {
    for (let i = 0; i < 10; i++) await a.inject(get('/api', APP))
    for (let i = 0; i < 8; i++) await a.inject(get('/api', `https://tenant${i % 4}.example.com`))
    await a.inject(get('/api', EVIL))
  }
  await traffic()
  const suggested = suggestCorsPolicy(policyOf(a.corsPolicies.census(), 'policy "web"'), { minRequests: 2 })
  t.same(suggested, { origins: ['https://*.example.com'] }, 'the app and 4 tenants of example.com; the one-off caller is left out')

  // Step 2: the suggestion runs report-only beside the enforced policy.
  a.corsPolicies.tryCandidate('web', suggested as NonNullable<typeof suggested>)
  await traffic()
  const web = policyOf(a.corsPolicies.census(), 'policy "web"')
  t.same(web.origins.filter((o) => o.candidateAllows === false).map((o) => o.origin), [EVIL], 'only the one-off caller would lose access')
  t.same(corsHeaders((await a.inject(get('/api', EVIL))).headers), { 'access-control-allow-origin': '*' }, 'still enforced: anything goes')

  // Step 3: promote.
  a.corsPolicies.promote('web')
  t.same(corsHeaders((await a.inject(get('/api', EVIL))).headers), { vary: 'Origin' })
  t.same(corsHeaders((await a.inject(get('/api', 'https://tenant1.example.com'))).headers), { 'access-control-allow-origin': 'https://tenant1.example.com', vary: 'Origin' })
})
