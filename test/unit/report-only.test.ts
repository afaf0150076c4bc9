import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import cors, { CorsPolicyError, type CorsPluginOptions } from '../../lib/index.ts'
import { APP, EVIL, corsHeaders, listenDecisions, logCapture, preflight, startupError } from '../helpers.ts'

// A report-only candidate is judged beside the enforced policy on every request that policy governs:
// the response follows the enforced policy, disagreements are logged (rate-limited) and published.

const PARTNER = 'https://shop.partner.example'

/** Moves Date.now by `ms` for the rest of the test. */
function clock (t: Test): (ms: number) => void {
  const realNow = Date.now
  let offset = 0
  Date.now = () => realNow() + offset
  t.teardown(() => { Date.now = realNow })
  return (ms) => { offset += ms }
}

async function app (t: Test, options: CorsPluginOptions, routes?: (app: FastifyInstance) => void) {
  const { logger, lines } = logCapture('warn')
  const app = Fastify({ logger })
  await app.register(cors, options)
  if (routes !== undefined) routes(app)
  else {
    app.get('/orders', { config: { cors: 'web' } }, async () => 'orders')
    app.put('/orders', { config: { cors: 'web' } }, async () => 'put')
  }
  await app.ready()
  t.teardown(() => app.close())
  const warnings = () => lines.filter((line) => line.level === 40 && line.cors?.reportOnly === true).map((line) => line.cors)
  return { app, lines, warnings }
}

const get = (origin: string, url = '/orders') => ({ method: 'GET' as const, url, headers: { origin } })

t.test('the response follows the enforced policy; a disagreement is logged at warn and published with reportOnly: true', async (t) => {
  const { app: a, warnings, lines } = await app(t, {
    policies: { web: { origins: '*' } },
    reportOnly: { web: { origins: [APP] } },
  })
  const events = listenDecisions(t)
  const withCandidate = await a.inject(get(EVIL))
  t.same(corsHeaders(withCandidate.headers), { 'access-control-allow-origin': '*' }, 'enforced: the public policy answers')
  await a.inject(get(APP))
  t.same(events, [
    { route: 'GET /orders', url: '/orders', origin: EVIL, preflight: false, allowed: true, reason: null, policy: 'web', reportOnly: false },
    { route: 'GET /orders', url: '/orders', origin: EVIL, preflight: false, allowed: false, reason: 'origin_not_allowed', policy: 'web', reportOnly: true },
    { route: 'GET /orders', url: '/orders', origin: APP, preflight: false, allowed: true, reason: null, policy: 'web', reportOnly: false },
  ], 'the agreeing request publishes the enforced decision only')
  t.same(warnings(), [{
    reportOnly: true,
    route: 'GET /orders',
    policy: 'policy "web"',
    origin: EVIL,
    preflight: false,
    enforced: { allowed: true, reason: null },
    candidate: { allowed: false, reason: 'origin_not_allowed' },
    suppressed: 0,
  }])
  t.match(lines.find((line) => line.level === 40)?.msg,
    'CORS report-only: the report-only candidate for policy "web" would refuse the request from "https://evil.example" to GET /orders (origin_not_allowed), which the enforced policy allows')
})

t.test('a candidate that allows what the enforced policy refuses is reported too, for preflights as for requests', async (t) => {
  const { app: a, warnings } = await app(t, {
    policies: { web: { origins: [APP], allowHeaders: ['x-a'] } },
    reportOnly: { web: { origins: [APP, PARTNER], allowHeaders: ['x-a', 'x-b'], methods: ['GET'] } },
  })
  const events = listenDecisions(t)
  const refused = await a.inject(preflight('/orders', PARTNER, 'GET', 'x-a'))
  t.equal(refused.statusCode, 403, 'enforced: refused')
  await a.inject(preflight('/orders', APP, 'GET', 'x-b'))
  await a.inject(preflight('/orders', APP, 'PUT'))
  await a.inject(preflight('/orders', APP, 'GET', 'x-a'))
  await a.inject(preflight('/orders', APP, 'GET', 'x-c'))
  await a.inject({ method: 'PUT', url: '/orders', headers: { origin: APP } })
  t.same(events.filter((e) => e.reportOnly).map((e) => [e.preflight, e.origin, e.allowed, e.reason]), [
    [true, PARTNER, true, null],
    [true, APP, true, null],
    [true, APP, false, 'method_not_allowed'],
    [false, APP, false, 'method_not_allowed'],
  ])
  t.same(warnings().map((w) => [w.preflight, w.origin, w.enforced.reason, w.candidate.reason]), [
    [true, PARTNER, 'origin_not_allowed', null],
    [true, APP, 'header_not_allowed', null],
    [true, APP, null, 'method_not_allowed'],
  ], 'the PUT that follows its preflight is the same origin and route within the minute: published, not logged again')
})

t.test('a candidate whose origins function answers later is reported once it answers', async (t) => {
  const { app: a, warnings } = await app(t, {
    policies: { web: { origins: async (origin) => origin === APP } },
    reportOnly: { web: { origins: async (origin) => origin === PARTNER } },
  })
  await a.inject(get(APP))
  await a.inject(preflight('/orders', PARTNER, 'GET'))
  await new Promise((resolve) => setImmediate(resolve))
  t.same(warnings().map((w) => [w.preflight, w.origin, w.enforced.allowed, w.candidate.allowed]), [
    [false, APP, true, false],
    [true, PARTNER, false, true],
  ])
})

t.test('a candidate judges a repeated Origin as malformed, and a public candidate allows it', async (t) => {
  const { app: a, warnings } = await app(t, {
    policies: { web: { origins: [APP] }, open: { origins: [APP] } },
    reportOnly: { web: { origins: [APP, PARTNER] }, open: { origins: '*', methods: ['GET'] } },
  }, (app) => {
    // An HTTP layer that keeps repeated headers apart instead of joining them.
    app.addHook('onRequest', async (request) => {
      const raw = request.raw.rawHeaders
      const values = raw.filter((value, i) => i % 2 === 1 && raw[i - 1]?.toLowerCase() === 'origin')
      if (values.length > 1) request.headers.origin = values as unknown as string
    })
    app.get('/web', { config: { cors: 'web' } }, async () => 'web')
    app.route({ method: ['GET', 'POST'], url: '/open', config: { cors: 'open' }, handler: async () => 'open' })
  })
  const twice = { origin: [APP, APP] } as unknown as Record<string, string>
  await a.inject({ method: 'GET', url: '/web', headers: twice })
  await a.inject({ method: 'GET', url: '/open', headers: twice })
  await a.inject({ method: 'POST', url: '/open', headers: { origin: APP } })
  t.same(warnings().map((w) => [w.route, w.origin, w.enforced.reason, w.candidate.reason]), [
    ['GET,POST /open', `${APP}, ${APP}`, 'malformed_request', null],
    ['GET,POST /open', APP, null, 'method_not_allowed'],
  ], 'GET /web: both refuse the malformed Origin, no disagreement')
})

t.test('disagreements are logged once per origin and route per minute; every one is published', async (t) => {
  const { app: a, warnings } = await app(t, {
    policies: { web: { origins: '*' } },
    reportOnly: { web: { origins: [APP] } },
  })
  const events = listenDecisions(t)
  const tick = clock(t)
  for (let i = 0; i < 5; i++) {
    await a.inject(get(EVIL))
    await a.inject({ method: 'PUT', url: '/orders', headers: { origin: EVIL } })
  }
  t.equal(events.filter((e) => e.reportOnly).length, 10, 'every disagreement published')
  t.same(warnings().map((w) => w.route), ['GET /orders', 'PUT /orders'], 'one line per route')
  tick(59_000)
  await a.inject(get(EVIL))
  t.equal(warnings().length, 2, 'still within the minute')
  tick(1_000)
  await a.inject(get(EVIL))
  t.equal(warnings().length, 3, 'a minute later, logged again')
})

t.test('a flood of distinct origins fills neither the logs nor the memory: 1,000 pairs remembered, the rest counted', async (t) => {
  const { app: a, warnings } = await app(t, {
    policies: { web: { origins: '*' } },
    reportOnly: { web: { origins: [APP] } },
  })
  const tick = clock(t)
  for (let i = 0; i < 1200; i++) await a.inject(get(`https://flood${i}.example`))
  t.equal(warnings().length, 1000, 'the first 1,000 pairs are logged, the next 200 are not')
  // A long origin takes a key of its first 256 characters.
  const long = 'https://' + 'a'.repeat(300) + '.example'
  tick(60_000)
  await a.inject(get(long))
  await a.inject(get(long.replace('.example', '.other')))
  const last = warnings().slice(1000)
  t.same(last.map((w) => [w.origin, w.suppressed]), [[long, 200]], 'the next line counts what was not logged; the second long origin shares its key')
})

t.test('plugin options: candidates are checked at startup like any policy, naming the candidate', async (t) => {
  const error = await startupError({
    policies: { web: { origins: [APP] } },
    reportOnly: { web: { origins: ['https://app.example.com/'] }, webb: { origins: [APP] } },
  }) as CorsPolicyError
  t.type(error, CorsPolicyError)
  t.same(error.problems.map((p) => [p.where, p.path]), [
    ['report-only candidate for policy "web"', '/origins/0'],
    ['plugin options', '/reportOnly/webb'],
  ])
  t.match(error.message, /plugin options: \/reportOnly\/webb names the unknown policy "webb"; known policies: "web"/)
  const notObject = await startupError({ policies: { web: { origins: [APP] } }, reportOnly: ['web'] }) as CorsPolicyError
  t.same(notObject.problems.map((p) => [p.path, p.message]), [['/reportOnly', 'is an array; reportOnly is an object of policy name: candidate policy']])
  const invalidNamed = await startupError({ policies: { web: { origins: 'x' } }, reportOnly: { web: { origins: [APP] } } }) as CorsPolicyError
  t.same(invalidNamed.problems.map((p) => p.where), ['policy "web"'], 'a candidate for a policy with problems adds none of its own')
})

t.test('at run time: tryCandidate, candidates, clearCandidate and promote', async (t) => {
  const { app: a, warnings } = await app(t, {
    policies: { web: { origins: '*' }, other: { origins: [APP] } },
  })
  const cp = a.corsPolicies
  t.same(cp.candidates(), [])
  await a.inject(get(EVIL))
  t.same(warnings(), [], 'no candidate, no report')

  t.throws(() => { cp.tryCandidate('web', { origins: ['*.example.com'] }) }, { name: 'CorsPolicyError', problems: [{ where: 'report-only candidate for policy "web"', path: '/origins/0' }] })
  t.throws(() => { cp.tryCandidate('nope', { origins: [APP] }) }, { name: 'CorsPolicyError', problems: [{ where: 'corsPolicies.tryCandidate', message: /unknown policy "nope"/ }] })
  t.throws(() => { cp.clearCandidate('nope') }, { name: 'CorsPolicyError', problems: [{ where: 'corsPolicies.clearCandidate' }] })
  t.throws(() => { cp.promote('web') }, { name: 'CorsPolicyError', problems: [{ where: 'corsPolicies.promote', message: 'policy "web" has no report-only candidate to promote; attach one with tryCandidate or the reportOnly option' }] })
  t.throws(() => { cp.promote('nope') }, { name: 'CorsPolicyError', problems: [{ where: 'corsPolicies.promote', message: /unknown policy/ }] })

  cp.tryCandidate('web', { origins: [APP] })
  t.same(cp.candidates(), ['web'])
  await a.inject(get(EVIL))
  t.equal(warnings().length, 1, 'the candidate reports')
  cp.clearCandidate('web')
  cp.clearCandidate('web')
  t.same(cp.candidates(), [])
  await a.inject(get('https://another.example'))
  t.equal(warnings().length, 1, 'cleared: no more reports')

  cp.tryCandidate('web', { origins: [APP] })
  t.same(corsHeaders((await a.inject(get(EVIL))).headers), { 'access-control-allow-origin': '*' }, 'before promote: enforced is public')
  cp.promote('web')
  t.same(cp.candidates(), [], 'promoted: the candidate is gone')
  t.same(corsHeaders((await a.inject(get(EVIL))).headers), { vary: 'Origin' }, 'after promote: the candidate is enforced')
  t.same(corsHeaders((await a.inject(get(APP))).headers), { 'access-control-allow-origin': APP, vary: 'Origin' })
  t.equal(warnings().length, 1, 'the same request is no longer a disagreement')
})

t.test('routes whose policy takes headers from their schema judge the candidate with those headers too', async (t) => {
  const { app: a, warnings } = await app(t, {
    policies: { web: { origins: [APP], headersFromSchema: true } },
    reportOnly: { web: { origins: [PARTNER], headersFromSchema: true } },
  }, (app) => {
    app.put('/keys', { config: { cors: 'web' }, schema: { headers: { type: 'object', properties: { 'x-key': { type: 'string' } } } } }, async () => 'ok')
  })
  t.equal((await a.inject(preflight('/keys', APP, 'PUT', 'x-key'))).statusCode, 204)
  await a.inject(preflight('/keys', PARTNER, 'PUT', 'x-key'))
  t.same(warnings().map((w) => [w.origin, w.enforced.reason, w.candidate.reason]), [
    [APP, null, 'origin_not_allowed'],
    [PARTNER, 'origin_not_allowed', null],
  ])
  // Attached, replaced and promoted at run time, the derived routes follow.
  a.corsPolicies.tryCandidate('web', { origins: [EVIL], headersFromSchema: true })
  await a.inject(preflight('/keys', EVIL, 'PUT', 'x-key'))
  t.same(warnings().at(-1)?.candidate, { allowed: true, reason: null })
  a.corsPolicies.promote('web')
  t.equal((await a.inject(preflight('/keys', EVIL, 'PUT', 'x-key'))).statusCode, 204, 'the promoted candidate allows its schema header')
})
