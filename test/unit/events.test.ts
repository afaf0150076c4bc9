import { channel, subscribe, unsubscribe } from 'node:diagnostics_channel'
import t, { type Test } from 'tap'
import Fastify from 'fastify'
import cors, { CORS_DECISION_CHANNEL, CORS_REFUSAL_REASONS } from '../../lib/index.ts'
import { APP, EVIL, build, keepRepeatedOrigins, listenDecisions, preflight } from '../helpers.ts'

// Every CORS decision is published on a diagnostics channel, for metrics and audits; nothing is
// published for requests without Origin, and nothing is built while nobody listens.

async function app (t: Test) {
  const app = await build({
    policies: {
      partners: { origins: ['https://*.partner.example'], allowHeaders: ['x-api-key'], methods: ['GET', 'PUT'] },
      open: { origins: '*', methods: ['GET'] },
      slow: { origins: async (origin) => origin === APP },
    },
    default: { origins: [APP] },
  }, (app) => {
    app.route({ method: ['GET', 'PUT', 'DELETE'], url: '/orders/:id', config: { cors: 'partners' }, handler: async () => 'order' })
    app.post('/orders/:id', { config: { cors: { origins: [APP] } } }, async () => 'inline')
    app.patch('/orders/:id', { config: { cors: false } }, async () => 'not CORS')
    app.route({ method: ['GET', 'POST'], url: '/status', config: { cors: 'open' }, handler: async () => 'ok' })
    app.get('/slow', { config: { cors: 'slow' } }, async () => 'slow')
    app.get('/me', async () => 'me')
  })
  t.teardown(() => app.close())
  return app
}

t.test('the channel name is exported, and the event names one of the refusal reasons', async (t) => {
  t.equal(CORS_DECISION_CHANNEL, 'fastify-cors-policy:decision')
})

t.test('each actual request with an Origin publishes one decision: route, url, origin, policy, allowed and why', async (t) => {
  const a = await app(t)
  const events = listenDecisions(t)
  const send = (method: 'GET' | 'PUT' | 'DELETE' | 'POST' | 'PATCH', url: string, origin: string | string[]) =>
    a.inject({ method, url, headers: { origin } as Record<string, string> })
  await send('GET', '/orders/1?x=1', 'https://shop.partner.example')
  await send('GET', '/orders/1', EVIL)
  await send('DELETE', '/orders/1', 'https://shop.partner.example')
  await send('POST', '/orders/1', APP)
  await send('PATCH', '/orders/1', APP)
  await send('GET', '/me', [APP, EVIL])
  await send('GET', '/status', 'anything at all')
  await send('POST', '/status', APP)
  await send('GET', '/slow', APP)
  await send('GET', '/slow', EVIL)
  await a.inject({ method: 'GET', url: '/nowhere', headers: { origin: APP } })
  const event = (route: string | null, url: string, origin: string, allowed: boolean, reason: string | null, policy: string | null) =>
    ({ route, url, origin, preflight: false, allowed, reason, policy, reportOnly: false })
  t.same(events, [
    event('GET,PUT,DELETE /orders/:id', '/orders/1?x=1', 'https://shop.partner.example', true, null, 'partners'),
    event('GET,PUT,DELETE /orders/:id', '/orders/1', EVIL, false, 'origin_not_allowed', 'partners'),
    event('GET,PUT,DELETE /orders/:id', '/orders/1', 'https://shop.partner.example', false, 'method_not_allowed', 'partners'),
    event('POST /orders/:id', '/orders/1', APP, true, null, null),
    // PATCH is not CORS-enabled: no decision, no event.
    event('GET /me', '/me', `${APP}, ${EVIL}`, false, 'origin_not_allowed', null),
    event('GET,POST /status', '/status', 'anything at all', true, null, 'open'),
    event('GET,POST /status', '/status', APP, false, 'method_not_allowed', 'open'),
    event('GET /slow', '/slow', APP, true, null, 'slow'),
    event('GET /slow', '/slow', EVIL, false, 'origin_not_allowed', 'slow'),
    event('not found', '/nowhere', APP, true, null, null),
  ])
  for (const e of events) t.ok(e.reason === null || CORS_REFUSAL_REASONS.includes(e.reason), `${String(e.reason)} is a refusal reason`)
})

t.test('each preflight publishes one decision, judged by the route of its actual request', async (t) => {
  const a = await app(t)
  const events = listenDecisions(t)
  await a.inject(preflight('/orders/1', 'https://shop.partner.example', 'PUT', 'x-api-key'))
  await a.inject(preflight('/orders/1', 'https://shop.partner.example', 'PUT', 'x-other'))
  await a.inject(preflight('/orders/1', EVIL, 'GET'))
  await a.inject(preflight('/orders/1', APP, 'PATCH'))
  await a.inject(preflight('/orders/1', APP, 'OPTIONS'))
  await a.inject(preflight('/orders/1', APP, 'G E T'))
  await a.inject(preflight('/slow', EVIL, 'GET'))
  const event = (route: string | null, origin: string, allowed: boolean, reason: string | null, policy: string | null) =>
    ({ route, url: route === 'GET /slow' ? '/slow' : '/orders/1', origin, preflight: true, allowed, reason, policy, reportOnly: false })
  t.same(events, [
    event('GET,PUT,DELETE /orders/:id', 'https://shop.partner.example', true, null, 'partners'),
    event('GET,PUT,DELETE /orders/:id', 'https://shop.partner.example', false, 'header_not_allowed', 'partners'),
    event('GET,PUT,DELETE /orders/:id', EVIL, false, 'origin_not_allowed', 'partners'),
    event('PATCH /orders/:id', APP, false, 'route_not_cors_enabled', null),
    event(null, APP, false, 'no_cors_route_for_method', null),
    event(null, APP, false, 'malformed_request', null),
    event('GET /slow', EVIL, false, 'origin_not_allowed', 'slow'),
  ])
})

t.test('requests without Origin publish nothing, even on a public policy that answers them', async (t) => {
  const a = await app(t)
  const events = listenDecisions(t)
  t.equal((await a.inject({ method: 'GET', url: '/status' })).headers['access-control-allow-origin'], '*')
  await a.inject({ method: 'GET', url: '/orders/1' })
  await a.inject({ method: 'OPTIONS', url: '/orders/1' })
  t.same(events, [])
})

t.test('a preflight aimed at a route no registration governs names no route: its label would carry the path', async (t) => {
  const app = Fastify()
  await app.register(async (scope) => {
    await scope.register(cors, { default: { origins: [APP] } })
    scope.put('/items/:id', async () => 'governed')
  })
  app.put('/items/special', async () => 'not governed')
  await app.ready()
  t.teardown(() => app.close())
  const events = listenDecisions(t)
  await app.inject(preflight('/items/special', APP, 'PUT'))
  t.same(events.map((e) => [e.route, e.reason]), [[null, 'route_not_cors_enabled']])
})

t.test('a repeated Origin that reaches the plugin as a list is published joined, as malformed', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  keepRepeatedOrigins(app)
  await app.register(cors, { default: { origins: [APP] } })
  app.get('/x', async () => 'x')
  await app.ready()
  const events = listenDecisions(t)
  await app.inject({ method: 'GET', url: '/x', headers: { origin: [APP, EVIL] } as unknown as Record<string, string> })
  await app.inject(preflight('/x', [APP, EVIL] as unknown as string, 'GET'))
  t.same(events.map((e) => [e.origin, e.preflight, e.reason]), [
    [`${APP}, ${EVIL}`, false, 'malformed_request'],
    [`${APP}, ${EVIL}`, true, 'malformed_request'],
  ])
})

t.test('nothing is published, and the answer is the same, once the last subscriber leaves', async (t) => {
  const a = await app(t)
  const events: unknown[] = []
  const onEvent = (message: unknown): void => { events.push(message) }
  subscribe(CORS_DECISION_CHANNEL, onEvent)
  const subscribed = await a.inject({ method: 'GET', url: '/orders/1', headers: { origin: 'https://shop.partner.example' } })
  unsubscribe(CORS_DECISION_CHANNEL, onEvent)
  t.equal(channel(CORS_DECISION_CHANNEL).hasSubscribers, false)
  const unsubscribed = await a.inject({ method: 'GET', url: '/orders/1', headers: { origin: 'https://shop.partner.example' } })
  t.equal(events.length, 1)
  t.same(unsubscribed.headers, { ...subscribed.headers, date: unsubscribed.headers.date })
})
