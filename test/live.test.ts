import t from 'tap'
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { CorsPolicyError, type CorsPolicy } from '../lib/index.ts'
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
