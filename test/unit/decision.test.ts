import t from 'tap'
import { decideActual } from '../../lib/decision/actual.ts'
import { deciderOf, type Decider } from '../../lib/decision/decider.ts'
import type { Decision } from '../../lib/decision/decision.ts'
import { PREFLIGHT_MALFORMED, PREFLIGHT_NO_ROUTE, PREFLIGHT_NOT_CORS_ENABLED, decidePreflight, isWellFormedPreflight } from '../../lib/decision/preflight.ts'
import { CompiledPolicy } from '../../lib/policy/compile.ts'
import type { CorsPolicyProblem } from '../../lib/policy/errors.ts'
import { checkPolicy, type CorsPolicy } from '../../lib/policy/policy.ts'
import { APP, EVIL } from '../helpers.ts'

// The decision functions alone: a compiled policy and what the request carries in, one decision out,
// with what the response must carry. Enforcement, report-only, events, logs and the census all read these.

function decider (policy: CorsPolicy): Decider {
  const problems: CorsPolicyProblem[] = []
  const normalized = checkPolicy(policy, 'policy "test"', problems)
  if (normalized === null) throw new Error(problems.map((p) => p.message).join('; '))
  return deciderOf(new CompiledPolicy(normalized, 'policy "test"'))
}

/** The parts of a decision a test states; the rest must be empty. */
function sent (decision: Decision): Record<string, unknown> {
  return {
    preflight: decision.preflight,
    allowed: decision.allowed,
    reason: decision.reason,
    ...(decision.detail === null ? {} : { detail: decision.detail }),
    ...(decision.header === null ? {} : { header: decision.header }),
    ...(decision.confirm ? { confirm: true } : {}),
    ...(decision.allowOrigin === null ? {} : { allowOrigin: decision.allowOrigin }),
    ...(decision.allowCredentials ? { allowCredentials: true } : {}),
    ...(decision.exposeHeaders === null ? {} : { exposeHeaders: decision.exposeHeaders }),
    ...(decision.allowHeaders === null ? {} : { allowHeaders: decision.allowHeaders }),
    ...(decision.maxAge === null ? {} : { maxAge: decision.maxAge }),
    vary: decision.vary?.value ?? null,
  }
}

const PREFLIGHT_VARY = 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers'

t.test('actual requests: allowed or the reason, and what the response carries', async (t) => {
  const list = decider({ origins: [APP, 'https://*.partner.example'], credentials: true, exposeHeaders: ['x-total', 'x-page'], methods: ['GET', 'PUT'] })
  const open = decider({ origins: '*', exposeHeaders: ['x-total'], methods: ['GET'] })
  const fn = decider({ origins: (origin) => origin === APP })
  const cases: Array<[string, Decider, string, unknown, Record<string, unknown>]> = [
    ['listed origin', list, 'GET', APP,
      { preflight: false, allowed: true, reason: null, allowCredentials: true, exposeHeaders: 'x-total, x-page', vary: 'Origin' }],
    ['pattern, HEAD follows GET', list, 'HEAD', 'https://a.b.partner.example',
      { preflight: false, allowed: true, reason: null, allowCredentials: true, exposeHeaders: 'x-total, x-page', vary: 'Origin' }],
    ['origin not listed', list, 'GET', EVIL, { preflight: false, allowed: false, reason: 'origin_not_allowed', vary: 'Origin' }],
    ['null origin not listed', list, 'GET', 'null', { preflight: false, allowed: false, reason: 'origin_not_allowed', vary: 'Origin' }],
    ['method outside methods', list, 'DELETE', APP, { preflight: false, allowed: false, reason: 'method_not_allowed', vary: 'Origin' }],
    ['no Origin: no CORS request, Vary all the same', list, 'GET', undefined, { preflight: false, allowed: false, reason: null, vary: 'Origin' }],
    ['repeated Origin', list, 'GET', [APP, APP],
      { preflight: false, allowed: false, reason: 'malformed_request', detail: 'the Origin header is repeated', vary: 'Origin' }],
    ['public, any origin', open, 'GET', EVIL, { preflight: false, allowed: true, reason: null, allowOrigin: '*', exposeHeaders: 'x-total', vary: null }],
    ['public, no Origin', open, 'GET', undefined, { preflight: false, allowed: true, reason: null, allowOrigin: '*', exposeHeaders: 'x-total', vary: null }],
    ['public, malformed Origin', open, 'GET', 'not an origin', { preflight: false, allowed: true, reason: null, allowOrigin: '*', exposeHeaders: 'x-total', vary: null }],
    ['public, method outside methods', open, 'POST', APP, { preflight: false, allowed: false, reason: 'method_not_allowed', vary: null }],
    ['function: allowed if it agrees', fn, 'GET', EVIL, { preflight: false, allowed: true, reason: null, confirm: true, vary: 'Origin' }],
    ['function: never asked about null', fn, 'GET', 'null', { preflight: false, allowed: false, reason: 'origin_not_allowed', vary: 'Origin' }],
    ['function: never asked about a malformed origin', fn, 'GET', 'https://a..example', { preflight: false, allowed: false, reason: 'origin_not_allowed', vary: 'Origin' }],
  ]
  for (const [name, policy, method, origin, expected] of cases) {
    t.strictSame(sent(decideActual(policy, method, origin)), expected, name)
  }
})

t.test('preflights: allowed or the reason, and what the answer carries', async (t) => {
  const list = decider({ origins: [APP], credentials: true, allowHeaders: ['x-api-key', 'Content-Type'], methods: ['GET', 'PUT'], maxAge: 600 })
  const star = decider({ origins: '*', allowHeaders: ['*'] })
  const cases: Array<[string, Decider, string, unknown, string, Record<string, unknown>]> = [
    ['no request headers', list, 'PUT', undefined, APP,
      { preflight: true, allowed: true, reason: null, allowCredentials: true, maxAge: '600', vary: PREFLIGHT_VARY }],
    ['request headers, lower case, each once', list, 'PUT', ' X-Api-Key ,content-type,,x-api-key', APP,
      { preflight: true, allowed: true, reason: null, allowCredentials: true, allowHeaders: 'x-api-key, content-type', maxAge: '600', vary: PREFLIGHT_VARY }],
    ['only empty items', list, 'PUT', ' , ,', APP,
      { preflight: true, allowed: true, reason: null, allowCredentials: true, maxAge: '600', vary: PREFLIGHT_VARY }],
    ['method first', list, 'DELETE', 'x-secret', EVIL, { preflight: true, allowed: false, reason: 'method_not_allowed', vary: PREFLIGHT_VARY }],
    ['then the headers', list, 'PUT', 'x-secret', EVIL,
      { preflight: true, allowed: false, reason: 'header_not_allowed', detail: 'the request header x-secret is not allowed', header: 'x-secret', vary: PREFLIGHT_VARY }],
    ['then the origin', list, 'PUT', 'x-api-key', EVIL, { preflight: true, allowed: false, reason: 'origin_not_allowed', vary: PREFLIGHT_VARY }],
    ['repeated request headers', list, 'PUT', ['x-api-key', 'x-api-key'], APP,
      { preflight: true, allowed: false, reason: 'malformed_request', detail: 'the Access-Control-Request-Headers header is repeated', vary: PREFLIGHT_VARY }],
    ['a name that is no token', list, 'PUT', 'x-a;b', APP,
      { preflight: true, allowed: false, reason: 'malformed_request', detail: '"x-a;b" in Access-Control-Request-Headers is not a header name', header: 'x-a;b', vary: PREFLIGHT_VARY }],
    ['public: any name but authorization', star, 'PATCH', 'x-anything', EVIL,
      { preflight: true, allowed: true, reason: null, allowOrigin: '*', allowHeaders: 'x-anything', vary: 'Access-Control-Request-Method, Access-Control-Request-Headers' }],
    ['public: authorization by name only', star, 'PATCH', 'authorization', EVIL, {
      preflight: true,
      allowed: false,
      reason: 'header_not_allowed',
      header: 'authorization',
      detail: "the request header authorization is not allowed: '*' does not cover it, list it by name",
      vary: 'Access-Control-Request-Method, Access-Control-Request-Headers',
    }],
    ['public: a malformed origin', star, 'PATCH', undefined, 'https://a b', {
      preflight: true, allowed: false, reason: 'origin_not_allowed', vary: 'Access-Control-Request-Method, Access-Control-Request-Headers',
    }],
  ]
  for (const [name, policy, method, headers, origin, expected] of cases) {
    t.strictSame(sent(decidePreflight(policy, method, headers, origin)), expected, name)
  }
  t.equal(sent(decidePreflight(list, 'PUT', 'x,'.repeat(4097), APP)).detail, 'Access-Control-Request-Headers is longer than 8192 characters')
  t.equal(sent(decidePreflight(star, 'PATCH', Array.from({ length: 101 }, (_, i) => `x-${i}`).join(','), APP)).detail,
    'Access-Control-Request-Headers has more than 100 names')
})

t.test('preflights no policy decides: malformed, no route, no CORS', async (t) => {
  t.equal(isWellFormedPreflight(APP, 'PUT'), true)
  for (const [origin, method] of [[[APP, APP], 'PUT'], [APP, ['PUT', 'PUT']], [APP, 'P UT'], [APP, '']]) {
    t.equal(isWellFormedPreflight(origin, method), false, JSON.stringify([origin, method]))
  }
  t.strictSame([PREFLIGHT_MALFORMED, PREFLIGHT_NO_ROUTE, PREFLIGHT_NOT_CORS_ENABLED].map(sent), [
    { preflight: true, allowed: false, reason: 'malformed_request', detail: 'the Origin or Access-Control-Request-Method header is repeated or malformed', vary: PREFLIGHT_VARY },
    { preflight: true, allowed: false, reason: 'no_cors_route_for_method', vary: PREFLIGHT_VARY },
    { preflight: true, allowed: false, reason: 'route_not_cors_enabled', vary: PREFLIGHT_VARY },
  ])
})

t.test('an origins function settles an allowed decision: it stands, or the origin is refused', async (t) => {
  const fn = decider({ origins: async () => true, allowHeaders: ['x-a'] })
  const actual = decideActual(fn, 'GET', APP)
  const preflight = decidePreflight(fn, 'PUT', 'x-a', APP)
  t.equal(fn.afterOriginFunction(actual, true), actual)
  t.equal(fn.afterOriginFunction(preflight, true), preflight)
  t.strictSame(sent(fn.afterOriginFunction(actual, false)), { preflight: false, allowed: false, reason: 'origin_not_allowed', vary: 'Origin' })
  t.strictSame(sent(fn.afterOriginFunction(preflight, false)), { preflight: true, allowed: false, reason: 'origin_not_allowed', vary: PREFLIGHT_VARY })
  t.equal(decidePreflight(fn, 'PUT', 'x-b', APP).confirm, false, 'a refusal asks nobody')
})

t.test('deciding allocates nothing: each outcome is one shared decision, per policy and request-headers value', async (t) => {
  const policy = decider({ origins: [APP, 'https://*.tenant.example'], allowHeaders: ['x-a', 'x-b'] })
  const allowed = new Set<Decision>()
  const refused = new Set<Decision>()
  for (let i = 0; i < 1000; i++) {
    allowed.add(decideActual(policy, 'GET', `https://t${i}.tenant.example`))
    refused.add(decideActual(policy, 'GET', `https://t${i}.evil.example`))
    allowed.add(decidePreflight(policy, 'PUT', 'x-a, x-b', `https://t${i}.tenant.example`))
  }
  t.equal(allowed.size, 2, 'one allowed actual decision, one per request-headers value')
  t.equal(refused.size, 1)
  t.equal(deciderOf(policy.policy), policy, 'a compiled policy has one decider')
  const long = `x-a,${' '.repeat(300)}x-b`
  t.not(decidePreflight(policy, 'PUT', long, APP), decidePreflight(policy, 'PUT', long, APP), 'values past 256 characters are decided afresh, never kept')
  t.strictSame(sent(decidePreflight(policy, 'PUT', long, APP)), sent(decidePreflight(policy, 'PUT', 'x-a, x-b', APP)))
})

t.test('the request-headers cache is emptied when full, and keeps answering', async (t) => {
  const policy = decider({ origins: [APP], allowHeaders: ['*'] })
  const first = decidePreflight(policy, 'PUT', 'x-0', APP)
  for (let i = 1; i <= 256; i++) decidePreflight(policy, 'PUT', `x-${i}`, APP)
  const again = decidePreflight(policy, 'PUT', 'x-0', APP)
  t.not(again, first, 'the first value was dropped with the rest')
  t.strictSame(sent(again), sent(first))
  t.equal(decidePreflight(policy, 'PUT', 'x-0', APP), again, 'and is kept again')
})

t.test('every decision has the same fields in the same order', async (t) => {
  const policy = decider({ origins: [APP], allowHeaders: ['x-a'] })
  const decisions = [
    decideActual(policy, 'GET', APP), decideActual(policy, 'GET', EVIL), decideActual(policy, 'GET', undefined),
    decidePreflight(policy, 'PUT', 'x-a', APP), decidePreflight(policy, 'PUT', 'x-b', APP), PREFLIGHT_NO_ROUTE,
  ]
  for (const decision of decisions) {
    t.strictSame(Object.keys(decision), Object.keys(PREFLIGHT_MALFORMED))
    t.ok(Object.isFrozen(decision))
  }
})
