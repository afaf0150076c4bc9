import fc from 'fast-check'
import Fastify, { type InjectOptions } from 'fastify'
import t from 'tap'
import cors, { type CorsPolicy } from '../lib/index.ts'
import { decideActual } from '../lib/decision/actual.ts'
import { deciderOf, type Decider } from '../lib/decision/decider.ts'
import type { Decision } from '../lib/decision/decision.ts'
import { decidePreflight, isWellFormedPreflight } from '../lib/decision/preflight.ts'
import { CompiledPolicy } from '../lib/policy/compile.ts'
import type { CorsPolicyProblem } from '../lib/policy/errors.ts'
import { checkPolicy } from '../lib/policy/policy.ts'
import { acrh, acrmFor, listPolicy, originsFor } from './arbitraries.ts'
import { render, type ModelPolicy } from './cors-model.ts'
import { APP, EVIL, listenDecisions, logCapture, preflight } from './helpers.ts'
import { SEED, check } from './property.ts'

// Report-only judges a candidate with the decision functions enforcement uses: a candidate equal to
// the enforced policy can never disagree with it, over random policies and requests, and over the
// requests of every rule through the plugin.

const METHODS = ['GET', 'PUT', 'DELETE']

/** A policy of the generators, with random methods and request headers beside its origins. */
const policyArbitrary = fc.record({
  model: listPolicy,
  methods: fc.option(fc.subarray(METHODS, { minLength: 1 }), { nil: undefined }),
  allowHeaders: fc.subarray(['x-a', 'content-type', 'authorization', '*']),
  exposeHeaders: fc.subarray(['x-total', 'x-page']),
  maxAge: fc.option(fc.nat(86400), { nil: undefined }),
}).map(({ model, ...fields }) => ({ model, make: (): CorsPolicy => ({ ...fields, origins: originsOf(model) }) }))

function originsOf (model: ModelPolicy): CorsPolicy['origins'] {
  return model.origins === '*' ? '*' : [...model.origins.map(render), ...(model.regexps ?? [])]
}

/** Compiles a policy on its own, outside any cache: two calls give two compiled policies. */
function compileAlone (policy: CorsPolicy): Decider {
  const problems: CorsPolicyProblem[] = []
  const normalized = checkPolicy(policy, 'policy "random"', problems)
  if (normalized === null) throw new Error(problems.map((p) => `${p.path} ${p.message}`).join('; '))
  return deciderOf(new CompiledPolicy(normalized, 'policy "random"'))
}

const fields = (d: Decision): unknown[] => [d.preflight, d.allowed, d.reason, d.detail, d.header, d.confirm, d.allowOrigin,
  d.allowCredentials, d.exposeHeaders, d.allowHeaders, d.maxAge, d.vary?.value]

t.test('an equal candidate compiled apart decides every random request as the enforced policy does', async (t) => {
  const request = policyArbitrary.chain(({ model, make }) => fc.tuple(
    fc.constant(make),
    fc.array(fc.tuple(fc.boolean(), acrmFor(METHODS), acrh, fc.oneof(
      { weight: 8, arbitrary: originsFor(model) },
      { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, [APP, APP]) })), { minLength: 1, maxLength: 20 })))
  let allowed = 0
  let refused = 0
  check(fc.property(request, ([make, requests]) => {
    const enforced = compileAlone(make())
    const candidate = compileAlone(make())
    if (enforced.policy === candidate.policy) throw new Error('compiled apart, the two must be two objects')
    for (const [isPreflight, method, requestHeaders, origin] of requests) {
      const decide = (decider: Decider): Decision => isPreflight && isWellFormedPreflight(origin, method)
        ? decidePreflight(decider, method, requestHeaders, origin as string)
        : decideActual(decider, method, origin)
      const [a, b] = [decide(enforced), decide(candidate)]
      if (JSON.stringify(fields(a)) !== JSON.stringify(fields(b))) {
        throw new Error(`${JSON.stringify([isPreflight, method, requestHeaders, origin])}: ${JSON.stringify(fields(a))} vs ${JSON.stringify(fields(b))}`)
      }
      if (a.allowed) allowed++
      else refused++
    }
  }))
  t.ok(allowed > 100 && refused > 100, `both outcomes were decided often (${allowed} allowed, ${refused} refused; seed ${SEED})`)
})

t.test('through the plugin: a candidate equal to each policy never disagrees, over the rules\' requests and random ones', async (t) => {
  const { logger, lines } = logCapture('warn')
  const random = fc.sample(policyArbitrary, { seed: SEED, numRuns: 20 }).map(({ make }) => make)
  const declared: Record<string, () => CorsPolicy> = {
    list: () => ({ origins: [APP, 'https://*.partner.example', 'null'], methods: ['GET', 'PUT'], allowHeaders: ['x-a'], exposeHeaders: ['x-total'], maxAge: 600 }),
    credentialed: () => ({ origins: [APP], credentials: true, allowHeaders: ['*'] }),
    public: () => ({ origins: '*', allowHeaders: ['*'], methods: ['GET', 'PUT'] }),
    regexp: () => ({ origins: /^https:\/\/[a-z]+\.example\.org$/ }),
    fn: () => ({ origins: (origin: string) => origin === APP }),
    asyncFn: () => ({ origins: async (origin: string) => origin.endsWith('.partner.example') }),
    fromSchema: () => ({ origins: [APP], headersFromSchema: true }),
    ...Object.fromEntries(random.map((make, i) => [`random${i}`, make])),
  }
  const names = Object.keys(declared)
  const app = Fastify({ logger })
  await app.register(cors, {
    policies: Object.fromEntries(names.map((name) => [name, (declared[name] as () => CorsPolicy)()])),
    reportOnly: Object.fromEntries(names.map((name) => [name, (declared[name] as () => CorsPolicy)()])),
  })
  for (const name of names) {
    const schema = name === 'fromSchema' ? { headers: { type: 'object', properties: { 'x-from-schema': { type: 'string' } } } } : {}
    app.route({ method: ['GET', 'PUT', 'DELETE'], url: `/${name}`, config: { cors: name }, schema, handler: async () => name })
    app.get(`/${name}/fail`, { config: { cors: name } }, async () => { throw new Error('fail') })
  }
  await app.ready()
  t.teardown(() => app.close())
  const events = listenDecisions(t)

  const origins = [APP, EVIL, 'null', 'https://a.partner.example', 'https://b.example.org', 'https://a..partner.example', 'not an origin', `${APP}, ${EVIL}`]
  const requests: InjectOptions[] = []
  for (const name of names) {
    for (const origin of origins) {
      for (const url of [`/${name}`, `/${name}/fail`]) {
        for (const method of ['GET', 'HEAD', 'PUT', 'DELETE'] as const) requests.push({ method, url, headers: { origin } })
      }
      for (const method of ['GET', 'PUT', 'DELETE', 'PATCH', 'patch']) {
        for (const headers of [undefined, 'x-a', 'X-A, content-type', 'authorization', 'x-from-schema', 'x-a;b']) {
          requests.push(preflight(`/${name}`, origin, method, headers))
        }
      }
    }
  }
  for (const [isPreflight, method, requestHeaders, origin] of fc.sample(fc.tuple(fc.boolean(), acrmFor(METHODS), acrh, originsFor({ origins: [] })), { seed: SEED, numRuns: 300 })) {
    const name = names[requests.length % names.length] as string
    // Only values a client can put on the wire; the rest are decided above, in the functions themselves.
    if (/[^\t\x20-\x7e]/.test(`${origin}${method}${String(requestHeaders)}`) || Array.isArray(requestHeaders)) continue
    requests.push(isPreflight
      ? preflight(`/${name}`, origin, method, requestHeaders as string | undefined)
      : { method: 'GET', url: `/${name}`, headers: { origin } })
  }
  for (const request of requests) await app.inject(request)
  await new Promise((resolve) => setTimeout(resolve, 10))

  const enforced = events.filter((event) => !event.reportOnly)
  t.ok(enforced.some((event) => event.allowed) && enforced.some((event) => !event.allowed),
    `${requests.length} requests, ${enforced.length} decisions, allowed and refused ones among them`)
  t.strictSame(events.filter((event) => event.reportOnly), [], 'no disagreement published')
  t.strictSame(lines.filter((line) => line.cors?.reportOnly === true), [], 'no disagreement logged')
})
