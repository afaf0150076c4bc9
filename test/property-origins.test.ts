import fc from 'fast-check'
import Fastify, { type FastifyRequest } from 'fastify'
import t from 'tap'
import cors from '../lib/index.ts'
import { CompiledPolicy } from '../lib/policy/compile.ts'
import { deciderOf, type Decider } from '../lib/decision/decider.ts'
import { decidePreflight } from '../lib/decision/preflight.ts'
import { askOriginFunction } from '../lib/fastify/origin-function.ts'
import { checkPolicy, type CorsPolicy } from '../lib/policy/policy.ts'
import { isSerializedOrigin } from '../lib/policy/origin.ts'
import type { CorsPolicyProblem } from '../lib/policy/errors.ts'
import { listPolicy, originsFor, serializedOrigin, nearMiss } from './arbitraries.ts'
import { modelAllowOrigin, modelAllows, render, serializedParts, type ModelPolicy } from './cors-model.ts'
import { SEED, check, checkAsync } from './property.ts'
import { corsHeaders } from './helpers.ts'

// Origin matching (rules 15–18) against the model in cors-model.ts: the plugin allows an origin
// exactly when the model does, for random policies and random, valid and near-miss origins.

const request = { log: { error () {} } } as unknown as FastifyRequest
const route = { label: 'PUT /p', policyName: 'random', policyLabel: 'policy "random"', governed: true }

/** Whether a preflight from `origin` is allowed (its origin function asked, when the policy has one). */
function allows (decider: Decider, origin: string): boolean {
  const decision = decidePreflight(decider, 'PUT', undefined, origin)
  if (!decision.confirm) return decision.allowed
  return askOriginFunction(decider.policy, origin, request, route) === true
}

function toPolicy (model: ModelPolicy): CorsPolicy {
  if (model.origins === '*') return { origins: '*' }
  if (model.fn !== undefined) return { origins: model.fn }
  return { origins: [...model.origins.map(render), ...(model.regexps ?? [])] }
}

function compile (model: ModelPolicy): Decider {
  const problems: CorsPolicyProblem[] = []
  const normalized = checkPolicy(toPolicy(model), 'policy "random"', problems)
  if (normalized === null) throw new Error(`the generated policy was refused: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`)
  return deciderOf(new CompiledPolicy(normalized, 'policy "random"'))
}

const policyWithOrigins = listPolicy.chain((policy) =>
  fc.tuple(fc.constant(policy), fc.array(originsFor(policy), { minLength: 1, maxLength: 30 })))

t.test('a list policy (exact origins, patterns, any-port, null, RegExps) allows exactly what the model allows', async (t) => {
  check(fc.property(policyWithOrigins, ([model, origins]) => {
    const compiled = compile(model)
    for (const origin of origins) {
      const expected = modelAllows(model, origin)
      if (allows(compiled, origin) !== expected) {
        throw new Error(`${JSON.stringify(origin)}: the plugin says ${!expected}, the model ${expected}`)
      }
    }
  }))
  t.pass(`1000 policies, seed ${SEED}`)
})

const anyOrigin = fc.oneof(serializedOrigin, nearMiss(serializedOrigin), nearMiss(nearMiss(serializedOrigin)),
  fc.constantFrom('null', 'NULL', ''), fc.string({ unit: 'binary', maxLength: 40 }))

t.test('for preflights, a public policy allows every well-formed origin and null, and nothing else', async (t) => {
  const model: ModelPolicy = { origins: '*' }
  const compiled = compile(model)
  check(fc.property(anyOrigin, (origin) => allows(compiled, origin) === modelAllows(model, origin)), 5000)
  t.pass(`5000 origins, seed ${SEED}`)
})

t.test('an origin function is asked only about well-formed origins other than null', async (t) => {
  const seen: string[] = []
  const fn = (origin: string): boolean => { seen.push(origin); return true }
  const model: ModelPolicy = { origins: [], fn: () => true }
  const compiled = compile({ origins: [], fn })
  check(fc.property(anyOrigin, (origin) => {
    seen.length = 0
    const allowed = allows(compiled, origin)
    return allowed === modelAllows(model, origin) && seen.length === (allowed ? 1 : 0)
  }), 5000)
  t.pass(`5000 origins, seed ${SEED}`)
})

t.test('through the plugin: actual requests and preflights answer with the origin exactly when the model allows it', async (t) => {
  // One app with a route per random policy; each run asks one route about one origin.
  const models = fc.sample(listPolicy, { seed: SEED, numRuns: 40 })
  const app = Fastify()
  await app.register(cors, {})
  models.forEach((model, index) => {
    app.put(`/p/${index}`, { config: { cors: toPolicy(model) } }, async () => 'ok')
  })
  await app.ready()
  t.teardown(() => app.close())

  const cases = fc.nat(models.length - 1).chain((index) =>
    fc.tuple(fc.constant(index), originsFor(models[index] as ModelPolicy), fc.boolean()))
  await checkAsync(fc.asyncProperty(cases, async ([index, origin, isPreflight]) => {
    const model = models[index] as ModelPolicy
    const expected = modelAllowOrigin(model, origin, isPreflight ? 'preflight' : 'actual')
    const response = await app.inject(isPreflight
      ? { method: 'OPTIONS', url: `/p/${index}`, headers: { origin, 'access-control-request-method': 'PUT' } }
      : { method: 'PUT', url: `/p/${index}`, headers: { origin } })
    const acao = response.headers['access-control-allow-origin'] ?? null
    const status = isPreflight ? (expected === null ? 403 : 204) : 200
    if (acao !== expected || response.statusCode !== status) {
      throw new Error(`${isPreflight ? 'preflight' : 'PUT'} /p/${index} from ${JSON.stringify(origin)}: ` +
        `status ${response.statusCode}, Access-Control-Allow-Origin ${JSON.stringify(acao)}; the model expects ${status}, ${JSON.stringify(expected)}`)
    }
  }))
  t.pass(`1000 requests over ${models.length} policies, seed ${SEED}`)
})

// Values light-my-request can carry in a header: no CR, LF or NUL.
const headerValue = anyOrigin.filter((origin) => /^[\t\x20-\x7e\x80-\xff]*$/.test(origin))

t.test('through the plugin: a public policy answers every actual request alike, whatever Origin holds or lacks', async (t) => {
  const app = Fastify()
  await app.register(cors, { default: { origins: '*', exposeHeaders: ['x-total'] } })
  app.route({ method: ['GET', 'POST', 'DELETE'], url: '/pub', handler: async () => 'ok' })
  app.get('/pub/error', async () => { throw new Error('boom') })
  await app.ready()
  t.teardown(() => app.close())

  const cases = fc.tuple(
    fc.option(fc.oneof(headerValue, fc.array(serializedOrigin, { minLength: 2, maxLength: 3 })), { nil: undefined }),
    fc.constantFrom('GET', 'HEAD', 'POST', 'DELETE') as fc.Arbitrary<'GET' | 'HEAD' | 'POST' | 'DELETE'>,
    fc.constantFrom('/pub', '/pub/error', '/nowhere'))
  await checkAsync(fc.asyncProperty(cases, async ([origin, method, url]) => {
    const response = await app.inject({ method, url, headers: origin === undefined ? {} : { origin } as Record<string, string> })
    const expected = { 'access-control-allow-origin': modelAllowOrigin({ origins: '*' }, origin, 'actual'), 'access-control-expose-headers': 'x-total' }
    const headers = corsHeaders(response.headers)
    if (JSON.stringify(Object.entries(headers).sort()) !== JSON.stringify(Object.entries(expected).sort())) {
      throw new Error(`${method} ${url} from ${JSON.stringify(origin)}: ${response.statusCode} ${JSON.stringify(headers)}; the model expects ${JSON.stringify(expected)}`)
    }
  }))
  t.pass(`1000 requests, seed ${SEED}`)
})

t.test('IP addresses are well-formed only in the form browsers send (counterexamples the properties found)', async (t) => {
  const cases: Array<[origin: string, wellFormed: boolean]> = [
    ['http://1.2.3.4', true], ['https://10.0.0.1:8443', true], ['http://1.example', true], ['http://a1.b2.example', true],
    ['http://1.2.3.04', false], ['http://0x7f.0.0.1', false], ['http://127.0.0.0x1', false], ['http://127.1', false],
    ['http://1.2.3.256', false], ['http://1.2.3.1000', false], ['http://a.1', false], ['http://1..2.3', false],
    ['capacitor://1.2.3.04', true], ['capacitor://0', true],
    ['https://[::1]', true], ['https://[1:2:3:4:5:6:7:8]:8443', true], ['capacitor://[::1]', true],
    ['https://[0:0::1]', false], ['https://[::ffff:1.2.3.4]', false], ['capacitor://[0::1]', false], ['http://[::1', false],
  ]
  for (const [origin, wellFormed] of cases) {
    t.equal(isSerializedOrigin(origin), wellFormed, origin)
    t.equal(serializedParts(origin) !== null, wellFormed, `the model agrees on ${origin}`)
  }
})
