import t from 'tap'
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import v8 from 'node:v8'
import vm from 'node:vm'
import { CorsPolicyError, type CorsPolicy } from '../lib/index.ts'
import { compiledPolicyCount } from '../lib/policy/compile.ts'
import { APP, EVIL, build, corsHeaders, preflight } from './helpers.ts'

const OTHER = 'https://other.example'

t.test('replace swaps a named policy for every route that names it, preflights included', async (t) => {
  const app = await build({ default: 'tenants', policies: { tenants: { origins: [APP] }, fixed: { origins: [APP] } } }, (app) => {
    app.get('/a', async () => 'a')
    app.put('/b', { config: { cors: 'tenants' } }, async () => 'b')
    app.get('/c', { config: { cors: 'fixed' } }, async () => 'c')
  })
  t.teardown(() => app.close())
  t.same(app.corsPolicies.names(), ['tenants', 'fixed'])

  app.corsPolicies.replace('tenants', { origins: [OTHER], allowHeaders: ['x-tenant'], maxAge: 60 })
  const a = await app.inject({ url: '/a', headers: { origin: OTHER } })
  t.equal(a.headers['access-control-allow-origin'], OTHER, 'the default route follows the new policy')
  t.equal((await app.inject({ url: '/a', headers: { origin: APP } })).headers['access-control-allow-origin'], undefined, 'the old origin is gone')
  const pre = await app.inject(preflight('/b', OTHER, 'PUT', 'x-tenant'))
  t.equal(pre.statusCode, 204)
  t.strictSame(corsHeaders(pre.headers), {
    'access-control-allow-origin': OTHER,
    'access-control-allow-methods': 'PUT',
    'access-control-allow-headers': 'x-tenant',
    'access-control-max-age': '60',
    vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
  })
  const notFound = await app.inject({ url: '/nope', headers: { origin: OTHER } })
  t.equal(notFound.headers['access-control-allow-origin'], OTHER, 'the not-found handler follows the named default too')
  t.equal((await app.inject({ url: '/c', headers: { origin: APP } })).headers['access-control-allow-origin'], APP, 'an equal policy under another name is left alone')

  app.corsPolicies.replace('tenants', { origins: '*' })
  const now = await app.inject({ url: '/a', headers: { origin: EVIL } })
  t.strictSame(corsHeaders(now.headers), { 'access-control-allow-origin': '*' }, 'a public policy: no Vary: Origin any more')
})

t.test('an invalid replacement throws and keeps the old policy', async (t) => {
  const app = await build({ policies: { tenants: { origins: [APP] } } }, (app) => {
    app.get('/a', { config: { cors: 'tenants' } }, async () => 'a')
  })
  t.teardown(() => app.close())
  t.throws(() => app.corsPolicies.replace('tenants', { origins: ['https://app.example.com/'] } as CorsPolicy),
    { name: 'CorsPolicyError', message: /^policy "tenants": \/origins\/0 "https:\/\/app.example.com\/" has a path/ })
  t.throws(() => app.corsPolicies.replace('tenant', { origins: [APP] }),
    new CorsPolicyError([{ where: 'corsPolicies.replace', path: '', message: 'names the unknown policy "tenant"; known policies: "tenants"' }]))
  t.equal((await app.inject({ url: '/a', headers: { origin: APP } })).headers['access-control-allow-origin'], APP)
})

t.test('declared gives back what the options declared for a name, whatever replace and tryCandidate did since', async (t) => {
  const tenants = { origins: [APP], credentials: true }
  const candidate = { origins: [APP, OTHER], credentials: true }
  const fixed = { origins: /^https:\/\/[a-z]+\.example\.com$/ }
  const app = await build({ policies: { tenants, fixed }, reportOnly: { tenants: candidate } }, (app) => {
    app.get('/a', { config: { cors: 'tenants' } }, async () => 'a')
  })
  t.teardown(() => app.close())
  app.corsPolicies.replace('tenants', { origins: [OTHER] })
  app.corsPolicies.clearCandidate('tenants')
  app.corsPolicies.tryCandidate('fixed', { origins: [OTHER] })
  const declared = app.corsPolicies.declared('tenants')
  t.equal(declared.policy, tenants, 'the policy object passed under policies')
  t.equal(declared.candidate, candidate, 'the candidate object passed under reportOnly')
  t.ok(Object.isFrozen(declared), 'frozen')
  t.strictSame(app.corsPolicies.declared('fixed'), { policy: fixed, candidate: null }, 'no reportOnly candidate: null, not the one attached later')
  t.equal((await app.inject({ url: '/a', headers: { origin: OTHER } })).headers['access-control-allow-origin'], OTHER, 'the replacement stays in force')
  t.throws(() => app.corsPolicies.declared('tenant'),
    new CorsPolicyError([{ where: 'corsPolicies.declared', path: '', message: 'names the unknown policy "tenant"; known policies: "tenants", "fixed"' }]))
})

t.test('replacing the object registered at startup after changing it takes the change', async (t) => {
  const tenants = { origins: [APP] }
  const app = await build({ policies: { tenants } }, (app) => {
    app.get('/a', { config: { cors: 'tenants' } }, async () => 'a')
  })
  t.teardown(() => app.close())
  tenants.origins.push(OTHER)
  app.corsPolicies.replace('tenants', tenants)
  t.equal((await app.inject({ url: '/a', headers: { origin: OTHER } })).headers['access-control-allow-origin'], OTHER)
})

t.test('a child scope registering the plugin has its own corsPolicies', async (t) => {
  const app = await build({ policies: { p: { origins: [APP] } } }, (app) => {
    app.get('/parent', { config: { cors: 'p' } }, async () => 'parent')
    app.register(async (child) => {
      await child.register((await import('../lib/index.ts')).default, { policies: { p: { origins: [APP] } } })
      child.get('/child', { config: { cors: 'p' } }, async () => 'child')
      child.after(() => { child.corsPolicies.replace('p', { origins: [OTHER] }) })
    })
  })
  t.teardown(() => app.close())
  t.equal((await app.inject({ url: '/child', headers: { origin: OTHER } })).headers['access-control-allow-origin'], OTHER)
  t.equal((await app.inject({ url: '/parent', headers: { origin: APP } })).headers['access-control-allow-origin'], APP, "the parent's policy of the same name is untouched")
})

t.test('under concurrent load, each response carries the whole old or the whole new policy', async (t) => {
  // Version A decides its origin asynchronously, so swaps land while decisions are pending.
  const versionA: CorsPolicy = {
    origins: async (origin) => { await new Promise((resolve) => setImmediate(resolve)); return origin === APP },
    exposeHeaders: ['x-version-a'],
  }
  const versionB: CorsPolicy = { origins: [APP], credentials: true, exposeHeaders: ['x-version-b'] }
  const app = await build({ policies: { live: versionA } }, (app) => {
    app.get('/data', { config: { cors: 'live' } }, async () => {
      await new Promise((resolve) => setImmediate(resolve))
      return 'ok'
    })
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const port = (app.server.address() as AddressInfo).port

  let swaps = 0
  const swapper = setInterval(() => { app.corsPolicies.replace('live', ++swaps % 2 === 0 ? versionA : versionB) }, 1)
  const seen = { a: 0, b: 0 }
  const get = () => new Promise<Record<string, unknown>>((resolve, reject) => {
    httpRequest({ port, host: '127.0.0.1', path: '/data', headers: { origin: APP } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.headers))
    }).on('error', reject).end()
  })
  for (let round = 0; round < 20; round++) {
    const batch = await Promise.all(Array.from({ length: 25 }, get))
    for (const headers of batch) {
      const expose = headers['access-control-expose-headers']
      if (expose === 'x-version-a') {
        seen.a++
        if (headers['access-control-allow-credentials'] !== undefined) t.fail('version A answered with version B\'s credentials')
      } else if (expose === 'x-version-b') {
        seen.b++
        if (headers['access-control-allow-credentials'] !== 'true') t.fail('version B answered without its credentials')
      } else {
        t.fail(`a response with neither version: ${JSON.stringify(headers)}`)
      }
    }
  }
  clearInterval(swapper)
  t.ok(swaps > 10, `the policy was swapped ${swaps} times during the run`)
  t.ok(seen.a > 0 && seen.b > 0, `both versions answered (${seen.a} A, ${seen.b} B) and none mixed them`)
})

// Replaced policies must not pile up: a tenant list refreshed on a timer is the use case.
v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** Full GCs, with turns between them for the finalization callbacks they schedule. */
async function collect (): Promise<void> {
  for (let round = 0; round < 4; round++) {
    gc()
    await nextTurn()
  }
}

/** 50 origins no other list shares. */
const tenantList = (n: number): string[] => Array.from({ length: 50 }, (_, i) => `https://t${n}-${i}.tenant.example`)

t.test('3,000 replacements with distinct origin lists leave the heap where it was', async (t) => {
  const app = await build({ policies: { tenants: { origins: [APP] } } }, (app) => {
    app.get('/a', { config: { cors: 'tenants' } }, async () => 'a')
  })
  t.teardown(() => app.close())
  for (let n = 0; n < 100; n++) app.corsPolicies.replace('tenants', { origins: tenantList(n) })
  await collect()
  const before = process.memoryUsage().heapUsed
  for (let n = 100; n < 3100; n++) app.corsPolicies.replace('tenants', { origins: tenantList(n), credentials: true })
  await collect()
  const grown = (process.memoryUsage().heapUsed - before) / 1048576
  // Each compiled 50-origin policy kept alive costs about 10 KB: keeping them all grew the heap by about 32 MB.
  t.ok(grown < 5, `the heap grew by ${grown.toFixed(2)} MB`)
  const last = await app.inject({ url: '/a', headers: { origin: 'https://t3099-49.tenant.example' } })
  t.strictSame(corsHeaders(last.headers), {
    'access-control-allow-origin': 'https://t3099-49.tenant.example',
    'access-control-allow-credentials': 'true',
    vary: 'Origin',
  }, 'the last list is the one in force')
})

t.test('a replaced policy is released, and compiled again when it comes back', async (t) => {
  const first: CorsPolicy = { origins: tenantList(1), exposeHeaders: ['x-first'] }
  const app = await build({ policies: { tenants: { origins: [APP] } } }, (app) => {
    app.get('/a', { config: { cors: 'tenants' } }, async () => 'a')
  })
  t.teardown(() => app.close())
  app.corsPolicies.replace('tenants', { ...first })
  app.corsPolicies.replace('tenants', { origins: tenantList(2) })
  await collect()

  const before = compiledPolicyCount()
  app.corsPolicies.replace('tenants', { ...first })
  t.equal(compiledPolicyCount() - before, 1, 'no route used the first list any more: it was released and is compiled anew')
  const back = await app.inject({ url: '/a', headers: { origin: 'https://t1-7.tenant.example' } })
  t.strictSame(corsHeaders(back.headers), {
    'access-control-allow-origin': 'https://t1-7.tenant.example',
    'access-control-expose-headers': 'x-first',
    vary: 'Origin',
  })
  const pre = await app.inject(preflight('/a', 'https://t1-7.tenant.example', 'GET'))
  t.equal(pre.statusCode, 204)
  t.equal((await app.inject({ url: '/a', headers: { origin: 'https://t2-7.tenant.example' } })).headers['access-control-allow-origin'], undefined,
    'the list it replaced is gone')
})

t.test('a policy in use is compiled once, however often an equal one is swapped in and whatever the GC does', async (t) => {
  const shared: CorsPolicy = { origins: tenantList(3), credentials: true }
  const app = await build({ policies: { tenants: { origins: [APP] } } }, (app) => {
    app.get('/a', { config: { cors: 'tenants' } }, async () => 'a')
    for (let i = 0; i < 20; i++) app.get(`/inline/${i}`, { config: { cors: { ...shared } } }, async () => 'inline')
  })
  t.teardown(() => app.close())
  await collect()
  const before = compiledPolicyCount()
  for (let i = 0; i < 3; i++) {
    app.corsPolicies.replace('tenants', { ...shared })
    await collect()
  }
  t.equal(compiledPolicyCount() - before, 0, 'the inline routes keep it alive, and the named policy shares it')
  const a = await app.inject({ url: '/a', headers: { origin: 'https://t3-0.tenant.example' } })
  t.equal(a.headers['access-control-allow-credentials'], 'true')
})

t.test('a policy compiled again before the GC reports its old copy gone stays shared', async (t) => {
  const first: CorsPolicy = { origins: tenantList(4) }
  const app = await build({ policies: { tenants: { origins: [APP] } } }, (app) => {
    app.get('/a', { config: { cors: 'tenants' } }, async () => 'a')
  })
  t.teardown(() => app.close())
  app.corsPolicies.replace('tenants', { ...first })
  app.corsPolicies.replace('tenants', { origins: tenantList(5) })
  await nextTurn()
  const before = compiledPolicyCount()
  // The first list's compiled policy is collected here; the news of it comes in a later turn.
  gc()
  app.corsPolicies.replace('tenants', { ...first })
  t.equal(compiledPolicyCount() - before, 1, 'the first list was collected, and is compiled anew')
  await collect()
  app.corsPolicies.replace('tenants', { ...first })
  t.equal(compiledPolicyCount() - before, 1, 'the late news of the old copy did not drop the new one')
  t.equal((await app.inject({ url: '/a', headers: { origin: 'https://t4-1.tenant.example' } })).headers['access-control-allow-origin'], 'https://t4-1.tenant.example')
})
