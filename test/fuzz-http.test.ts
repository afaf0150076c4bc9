import http from 'node:http'
import type { AddressInfo } from 'node:net'
import fc from 'fast-check'
import Fastify from 'fastify'
import t from 'tap'
import cors from '../lib/index.ts'
import { originsFor, padTo } from './arbitraries.ts'
import { modelAllowOrigin, render, type ModelEntry, type ModelPolicy } from './cors-model.ts'
import { SEED } from './property.ts'

// Generated requests over real HTTP to an app with several policies: random methods and paths,
// repeated and oversized Origin / Access-Control-Request-* headers. Each answer: no 5xx, no
// Access-Control-Allow-Origin that the policy (per the model) would not give; the server stays up.

const REQUESTS = 3000
const DEADLINE_MS = 12_000
const CONCURRENCY = 16

const exact = (origin: string): ModelEntry => ({ kind: 'exact', origin })
const POLICIES: Record<string, { model: ModelPolicy | null, credentials: boolean }> = {
  default: {
    model: { origins: [exact('https://app.example.com'), { kind: 'subdomains', scheme: 'https', base: 'example.com', port: null }, { kind: 'anyPort', scheme: 'http', host: 'localhost' }] },
    credentials: true,
  },
  public: { model: { origins: '*' }, credentials: false },
  partners: {
    model: { origins: [{ kind: 'subdomains', scheme: 'https', base: 'partner.example', port: '8443' }, exact('null'), exact('capacitor://localhost'), exact('http://[::1]:3000')] },
    credentials: false,
  },
  regex: { model: { origins: [], regexps: [/^https:\/\/[a-z0-9-]+\.regex\.example$/] }, credentials: true },
  tenants: { model: { origins: [], fn: (origin) => origin.startsWith('https://') && origin.endsWith('.tenant.example') }, credentials: true },
  off: { model: null, credentials: false },
}
const tenantFn = async (origin: string): Promise<boolean> => POLICIES.tenants?.model?.fn?.(origin) === true

const ROUTES: Array<{ method: string[], url: string, policy: keyof typeof POLICIES }> = [
  { method: ['GET', 'POST'], url: '/public', policy: 'public' },
  { method: ['GET', 'PUT', 'DELETE'], url: '/partners/:id', policy: 'partners' },
  { method: ['GET', 'PATCH'], url: '/regex', policy: 'regex' },
  { method: ['GET', 'POST'], url: '/tenants', policy: 'tenants' },
  { method: ['GET'], url: '/off', policy: 'off' },
  { method: ['GET', 'POST', 'DELETE'], url: '/default', policy: 'default' },
  { method: ['GET'], url: '/files/*', policy: 'default' },
]
const POLICY_OF_URL = new Map(ROUTES.map((r) => [r.url, r.policy]))

function corsOption (name: keyof typeof POLICIES): unknown {
  const { model, credentials } = POLICIES[name] as { model: ModelPolicy | null, credentials: boolean }
  if (model === null) return false
  if (name === 'tenants') return { origins: tenantFn, credentials }
  if (model.origins === '*') return { origins: '*', allowHeaders: ['*'], exposeHeaders: ['x-request-id'] }
  return { origins: [...model.origins.map(render), ...(model.regexps ?? [])], credentials, allowHeaders: ['x-api-key', 'content-type'], maxAge: 600 }
}

// Origins near every policy's: the union of their entries, plus the tenants' and the RegExp's.
const everyOrigin = originsFor({
  origins: [...Object.values(POLICIES).flatMap((p) => p.model === null || p.model.origins === '*' ? [] : p.model.origins),
    { kind: 'subdomains', scheme: 'https', base: 'tenant.example', port: null }],
  regexps: POLICIES.regex?.model?.regexps ?? [],
})

/** Node's client refuses control characters in header values, except tab; what it lets through stays. */
function sendable (value: string): string {
  let out = ''
  for (const c of value) {
    const code = c.charCodeAt(0)
    out += code === 9 || (code >= 0x20 && code !== 0x7f && code <= 0xff) ? c : code > 0xff ? String.fromCharCode(0x80 | (code & 0x7f)) : ''
  }
  return out
}

const originValue = fc.oneof(
  { weight: 12, arbitrary: everyOrigin },
  {
    weight: 4,
    arbitrary: fc.constantFrom('https://app.example.com', 'https://a.b.example.com', 'http://localhost:3000', 'https://x.partner.example:8443',
      'null', 'capacitor://localhost', 'http://[::1]:3000', 'https://a.regex.example', 'https://acme.tenant.example')
  },
  { weight: 1, arbitrary: fc.constantFrom(3000, 9000).map((n) => padTo('https://a.example.com', n)) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', 'null', 'https://app.example.com\t', '\thttps://app.example.com', 'https://app.example.com, https://evil.example') })
const token = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,10}$/)
const methodValue = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('GET', 'GET', 'OPTIONS', 'OPTIONS', 'OPTIONS', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD') },
  { weight: 1, arbitrary: fc.constantFrom('get', 'patch', 'PROPFIND', 'TRACE', 'FOO') },
  { weight: 1, arbitrary: token.filter((m) => m.toUpperCase() !== 'CONNECT') })
const acrmValue = fc.oneof(methodValue, fc.constantFrom('', 'GET, PUT', ' PUT ', 'P\u00dcT', 'PU T', 'GET\t'))
const nameValue = fc.oneof(fc.constantFrom('x-api-key', 'Content-Type', 'authorization', 'x-other', '*', 'x-a;b', 'x a', ''), token)
const acrhValue = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.array(nameValue, { maxLength: 6 }), fc.constantFrom(',', ', ', ' , ', ',,')).map(([names, comma]) => names.join(comma)) },
  { weight: 1, arbitrary: fc.constantFrom(101, 2000).map((n) => Array.from({ length: n }, () => 'x-api-key').join(',')) },
  { weight: 1, arbitrary: fc.constant('x-api-key' + ' '.repeat(9000)) })

const KNOWN_PATHS = ['/public', '/partners/1', '/partners/%E2%82%AC', '/regex', '/tenants', '/off', '/default', '/files/a/b.txt', '/nowhere', '/']
const pathValue = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(...KNOWN_PATHS) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('/p%75blic', '/public/', '//public', '/public/..', '/../public', '/files/../default', '/files/%2e%2e/off',
      '/%zz', '/%', '/public%00', '/partners/%2F', '/public?x=1&y', '/public#f', '/public;a=b', '/PUBLIC', '*', '/files/' + 'a/'.repeat(3000))
  },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...KNOWN_PATHS), fc.webPath()).map(([a, b]) => a + b) },
  { weight: 1, arbitrary: fc.constantFrom(150, 5000, 20000).map((n) => '/partners/' + 'x'.repeat(n)) })

interface FuzzRequest { method: string, path: string, headers: string[] }

const request: fc.Arbitrary<FuzzRequest> = fc.record({
  method: methodValue,
  path: pathValue,
  origins: fc.oneof({ weight: 2, arbitrary: fc.constant([]) }, { weight: 10, arbitrary: fc.array(originValue, { minLength: 1, maxLength: 1 }) }, { weight: 2, arbitrary: fc.array(originValue, { minLength: 2, maxLength: 3 }) }),
  acrm: fc.oneof({ weight: 1, arbitrary: fc.constant([]) }, { weight: 4, arbitrary: fc.array(acrmValue, { minLength: 1, maxLength: 1 }) }, { weight: 1, arbitrary: fc.array(acrmValue, { minLength: 2, maxLength: 2 }) }),
  acrh: fc.oneof({ weight: 2, arbitrary: fc.constant([]) }, { weight: 2, arbitrary: fc.array(acrhValue, { minLength: 1, maxLength: 2 }) }),
}).map(({ method, path, origins, acrm, acrh }) => {
  const headers = ['Host', '127.0.0.1']
  for (const o of origins) headers.push('Origin', sendable(o))
  // Preflight headers mostly on OPTIONS, sometimes elsewhere.
  if (method === 'OPTIONS' || acrm.length > 1) for (const m of acrm) headers.push('Access-Control-Request-Method', sendable(m))
  for (const h of acrh) headers.push('Access-Control-Request-Headers', sendable(h))
  return { method, path, headers }
})

interface Outcome { status: number, headers: http.IncomingHttpHeaders }

function send (agent: http.Agent, port: number, req: FuzzRequest): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const outgoing = http.request({ host: '127.0.0.1', port, method: req.method, path: req.path, headers: req.headers, agent, timeout: 2000 }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }))
      res.on('error', reject)
    })
    outgoing.on('timeout', () => outgoing.destroy(new Error('timed out')))
    outgoing.on('error', reject)
    outgoing.end()
  })
}

t.test(`${REQUESTS} generated requests over HTTP: no 5xx, no Access-Control-Allow-Origin the policy would not give`, async (t) => {
  const app = Fastify({ logger: false })
  app.addHttpMethod('PROPFIND')
  await app.register(cors, {
    default: corsOption('default') as never,
    policies: { public: corsOption('public') as never, partners: corsOption('partners') as never, tenants: corsOption('tenants') as never },
  })
  for (const route of ROUTES) {
    const cors = route.policy === 'default' ? undefined : ['public', 'partners', 'tenants'].includes(route.policy) ? route.policy : corsOption(route.policy)
    app.route({ method: route.method, url: route.url, config: cors === undefined ? {} : { cors: cors as never }, handler: async () => ({ ok: true }) })
  }
  // Tells the test which policy governed the answer, and which Origin value the server saw.
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-fuzz-policy', POLICY_OF_URL.get(request.routeOptions.url ?? '') ?? 'default')
    const origin = request.headers.origin
    if (typeof origin === 'string') reply.header('x-fuzz-origin', encodeURIComponent(origin))
    const options = request.method === 'OPTIONS'
    reply.header('x-fuzz-kind', !options ? 'actual' : origin !== undefined && request.headers['access-control-request-method'] !== undefined ? 'preflight' : 'plain-options')
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as AddressInfo).port
  // A connection per request: Node closes one after refusing a malformed request, and a reused one
  // would fail the next request for no fault of the plugin.
  const agent = new http.Agent({ keepAlive: false, maxSockets: CONCURRENCY })
  t.teardown(async () => {
    agent.destroy()
    await app.close()
  })

  const requests = fc.sample(request, { seed: SEED, numRuns: REQUESTS })
  const started = Date.now()
  const statuses = new Map<number, number>()
  const failures: string[] = []
  let sent = 0
  let allowed = 0
  let refusedByNode = 0
  const worker = async (): Promise<void> => {
    while (sent < requests.length && Date.now() - started < DEADLINE_MS) {
      const req = requests[sent++] as FuzzRequest
      const label = `${req.method} ${req.path.slice(0, 80)} ${JSON.stringify(req.headers.slice(2)).slice(0, 300)}`
      let outcome: Outcome
      try {
        outcome = await send(agent, port, req)
      } catch (err) {
        // When Node's own parser refuses a request (a request line over 16 KiB), the client may see a
        // reset or an answer it cannot parse: Node's doing, before Fastify or the plugin, and harmless as
        // long as the server still answers (checked at the end).
        const code = (err as NodeJS.ErrnoException).code ?? ''
        if (code === 'ECONNRESET' || code.startsWith('HPE_') || (err as Error).message === 'socket hang up') {
          refusedByNode++
          continue
        }
        failures.push(`${label}: ${(err as Error).message}`)
        continue
      }
      statuses.set(outcome.status, (statuses.get(outcome.status) ?? 0) + 1)
      const problem = judge(outcome)
      if (problem !== null) failures.push(`${label}: ${problem}`)
      if (outcome.headers['access-control-allow-origin'] !== undefined) allowed++
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  const elapsed = Date.now() - started

  t.same(failures.slice(0, 10), [], `no failures (seed ${SEED})`)
  t.ok(allowed > REQUESTS / 30, `some origins were allowed (${allowed}), so the check is not vacuous`)
  const alive = await send(agent, port, { method: 'GET', path: '/public', headers: ['Host', '127.0.0.1', 'Origin', 'https://app.example.com'] })
  t.equal(alive.status, 200, 'the server still answers')
  t.equal(alive.headers['access-control-allow-origin'], '*')
  t.ok(refusedByNode < REQUESTS / 20, `few requests refused by Node's parser without an answer (${refusedByNode})`)
  t.comment(`${sent} requests in ${elapsed} ms, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}, ` +
    `${refusedByNode} refused by Node's parser without an answer, seed ${SEED}`)
})

/** What is wrong with an answer, or null. */
function judge ({ status, headers }: Outcome): string | null {
  if (status >= 500) return `status ${status}`
  const acao = headers['access-control-allow-origin']
  const acac = headers['access-control-allow-credentials']
  const name = headers['x-fuzz-policy'] as string | undefined
  if (name === undefined) {
    // Answered by Node's HTTP parser (400, 431), before the application.
    return acao === undefined && acac === undefined ? null : `CORS headers on an answer Fastify never saw: ${String(acao)}`
  }
  const policy = POLICIES[name] as { model: ModelPolicy | null, credentials: boolean }
  const kind = headers['x-fuzz-kind']
  // Rule 3: a public policy answers every actual request alike, Origin or not (plain OPTIONS is rule 14's).
  if (acao === undefined && kind === 'actual' && policy.model?.origins === '*') return 'no Access-Control-Allow-Origin from a public policy'
  if (acao === undefined) return acac === undefined ? null : 'Access-Control-Allow-Credentials without Access-Control-Allow-Origin'
  const seen = headers['x-fuzz-origin']
  const origin = typeof seen === 'string' ? decodeURIComponent(seen) : undefined
  const expected = policy.model === null ? null : modelAllowOrigin(policy.model, origin, kind === 'preflight' ? 'preflight' : 'actual')
  if (acao !== expected) return `Access-Control-Allow-Origin ${JSON.stringify(acao)} from policy ${name} for the Origin ${JSON.stringify(origin)}; the model gives ${JSON.stringify(expected)}`
  if (acac !== (policy.credentials ? 'true' : undefined)) return `Access-Control-Allow-Credentials ${String(acac)} from policy ${name}`
  return null
}
