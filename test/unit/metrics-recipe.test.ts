import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import Fastify from 'fastify'
import { Counter, Registry } from 'prom-client'
import cors, { CORS_DECISION_CHANNEL, type CorsDecisionEvent } from '../../lib/index.ts'
import { APP, EVIL, preflight } from '../helpers.ts'

// The recipe "CORS decisions as Prometheus metrics" of docs/observability.md, as written there: a counter by route,
// allowed and reason (never by origin), scraped over HTTP from /metrics.

t.test('the metrics recipe: CORS decisions counted by route, allowed and reason, scraped from /metrics', async (t) => {
  // --- the recipe ---
  const registry = new Registry()
  const decisions = new Counter({
    name: 'cors_decisions_total',
    help: 'CORS decisions of fastify-cors-policy',
    labelNames: ['route', 'preflight', 'allowed', 'reason'] as const,
    registers: [registry],
  })
  const candidateDisagreements = new Counter({
    name: 'cors_report_only_disagreements_total',
    help: 'Requests on which a report-only candidate disagrees with the enforced policy',
    labelNames: ['route', 'policy', 'reason'] as const,
    registers: [registry],
  })
  const onDecision = (message: unknown): void => {
    const event = message as CorsDecisionEvent
    // Never label by event.origin or event.url: whoever sends the request chooses them.
    if (event.reportOnly) {
      candidateDisagreements.inc({ route: event.route ?? 'none', policy: event.policy ?? 'inline', reason: event.reason ?? 'allowed' })
    } else {
      decisions.inc({ route: event.route ?? 'none', preflight: String(event.preflight), allowed: String(event.allowed), reason: event.reason ?? 'none' })
    }
  }
  subscribe(CORS_DECISION_CHANNEL, onDecision)

  const app = Fastify()
  await app.register(cors, { policies: { web: { origins: ['https://app.example.com'] } }, reportOnly: { web: { origins: ['https://app.example.com', 'https://new.example.com'] } } })
  app.get('/metrics', { config: { cors: false } }, async (_request, reply) => {
    reply.type(registry.contentType)
    return registry.metrics()
  })
  // --- end of the recipe ---
  t.teardown(async () => {
    unsubscribe(CORS_DECISION_CHANNEL, onDecision)
    await app.close()
  })
  app.put('/orders/:id', { config: { cors: 'web' } }, async () => 'ok')
  await app.listen({ host: '127.0.0.1', port: 0 })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

  for (let i = 0; i < 3; i++) await app.inject({ method: 'PUT', url: `/orders/${i}`, headers: { origin: APP } })
  await app.inject(preflight('/orders/1', APP, 'PUT'))
  await app.inject({ method: 'PUT', url: '/orders/1', headers: { origin: EVIL } })
  await app.inject({ method: 'PUT', url: '/orders/2', headers: { origin: 'https://new.example.com' } })
  await app.inject(preflight('/orders/1', EVIL, 'GET'))
  await app.inject({ method: 'PUT', url: '/orders/1' })

  const response = await fetch(`${base}/metrics`)
  t.equal(response.status, 200)
  const lines = (await response.text()).split('\n').filter((line) => line.startsWith('cors_'))
  t.same(lines.sort(), [
    'cors_decisions_total{route="PUT /orders/:id",preflight="false",allowed="false",reason="origin_not_allowed"} 2',
    'cors_decisions_total{route="PUT /orders/:id",preflight="false",allowed="true",reason="none"} 3',
    'cors_decisions_total{route="PUT /orders/:id",preflight="true",allowed="true",reason="none"} 1',
    'cors_decisions_total{route="none",preflight="true",allowed="false",reason="no_cors_route_for_method"} 1',
    'cors_report_only_disagreements_total{route="PUT /orders/:id",policy="web",reason="allowed"} 1',
  ].sort())
  t.notMatch(lines.join('\n'), /example/, 'no origin in any series')
})

t.test('the recipe in docs/observability.md is the code this test runs', async (t) => {
  const doc = readFileSync(new URL('../../docs/observability.md', import.meta.url), 'utf8')
  const block = /### Recipe: CORS decisions as Prometheus metrics[\s\S]*?```ts\n([\s\S]*?)```/.exec(doc)?.[1] ?? ''
  const documented = block.split('\n').filter((line) => !line.startsWith('import ') && !line.startsWith('// cors_') && line.trim() !== '')
  const test = readFileSync(new URL(import.meta.url), 'utf8')
  const tested = (/\/\/ --- the recipe ---\n([\s\S]*?)\n\s*\/\/ --- end of the recipe ---/.exec(test)?.[1] ?? '')
    .split('\n').filter((line) => line.trim() !== '').map((line) => line.replace(/^ {2}/, ''))
  t.ok(documented.length > 20, 'the recipe is found in the docs')
  t.strictSame(documented, tested)
})
