import fc from 'fast-check'
import Fastify from 'fastify'
import t from 'tap'
import cors from '../lib/index.ts'
import { CompiledPolicy } from '../lib/policy/compile.ts'
import type { CorsPolicyProblem } from '../lib/policy/errors.ts'
import { checkPolicy } from '../lib/policy/policy.ts'
import { deciderOf, type Decider } from '../lib/decision/decider.ts'
import { REQUEST_HEADER_NAMES, acrh, acrmFor } from './arbitraries.ts'
import { isMethodToken, modelRequestHeaders } from './cors-model.ts'
import { SEED, check, checkAsync } from './property.ts'

// Access-Control-Request-Headers and -Method (rules 8, 9 and 18) against the model in cors-model.ts:
// random values never throw, and the plugin accepts exactly what the model accepts.

const KNOWN = REQUEST_HEADER_NAMES
const allowHeaders = fc.subarray([...KNOWN, '*', 'Authorization', 'X-A'])

function compile (allow: string[]): Decider {
  const problems: CorsPolicyProblem[] = []
  const normalized = checkPolicy({ origins: '*', allowHeaders: allow }, 'policy "random"', problems)
  if (normalized === null) throw new Error(problems.map((p) => p.message).join('; '))
  return deciderOf(new CompiledPolicy(normalized, 'policy "random"'))
}

t.test('Access-Control-Request-Headers: the names the plugin allows are exactly the model\'s, and nothing throws', async (t) => {
  check(fc.property(allowHeaders, fc.array(acrh, { minLength: 1, maxLength: 10 }), (allow, values) => {
    const policy = compile(allow)
    const lower = allow.filter((h) => h !== '*').map((h) => h.toLowerCase())
    for (const value of values) {
      const expected = modelRequestHeaders(value, lower, allow.includes('*'))
      const decision = policy.requestHeaders(value)
      const got = decision.allowed ? decision.allowHeaders ?? '' : null
      if (got !== (expected === null ? null : expected.join(', '))) {
        throw new Error(`${JSON.stringify(value)} under ${JSON.stringify(allow)}: the plugin says ${JSON.stringify(got)}, the model ${JSON.stringify(expected)}`)
      }
    }
  }))
  t.pass(`1000 policies, up to 10 values each, seed ${SEED}`)
})

// The app's routes on one path; Fastify adds HEAD beside GET. A preflight for any other method
// (OPTIONS included: the generated OPTIONS route is not one of the application's) is refused.
const ROUTE_METHODS = ['GET', 'PUT', 'PATCH', 'DELETE', 'PROPFIND']
const TARGETS = new Set([...ROUTE_METHODS, 'HEAD'])
const acrm = acrmFor([...TARGETS])

t.test('preflights through the plugin: 204 exactly when the method is a route\'s and the model accepts the headers', async (t) => {
  const app = Fastify()
  app.addHttpMethod('PROPFIND', { hasBody: true })
  await app.register(cors, {
    policies: {
      listed: { origins: ['https://app.example.com'], allowHeaders: ['x-a', 'X-Request-Id', 'content-type', 'authorization'] },
      any: { origins: '*', allowHeaders: ['*'] },
    },
  })
  for (const [path, policy] of [['/listed', 'listed'], ['/any', 'any']] as const) {
    app.route({ method: ROUTE_METHODS, url: path, config: { cors: policy }, handler: async () => 'ok' })
  }
  await app.ready()
  t.teardown(() => app.close())

  await checkAsync(fc.asyncProperty(fc.boolean(), acrm, acrh, async (any, method, requestHeaders) => {
    const headers: Record<string, string | string[]> = { origin: 'https://app.example.com', 'access-control-request-method': method }
    if (requestHeaders !== undefined) headers['access-control-request-headers'] = requestHeaders as string | string[]
    const response = await app.inject({ method: 'OPTIONS', url: any ? '/any' : '/listed', headers })
    // The HTTP layer delivers a repeated header as one value, joined with ", " (as Node does).
    const delivered = Array.isArray(requestHeaders) ? requestHeaders.join(', ') : requestHeaders
    const names = modelRequestHeaders(delivered, any ? [] : ['x-a', 'x-request-id', 'content-type', 'authorization'], any)
    const allowed = isMethodToken(method) && TARGETS.has(method) && names !== null
    const expected = allowed
      ? { status: 204, method, headers: names.length > 0 ? names.join(', ') : undefined }
      : { status: 403, method: undefined, headers: undefined }
    const actual = {
      status: response.statusCode,
      method: response.headers['access-control-allow-methods'],
      headers: response.headers['access-control-allow-headers'],
    }
    if (actual.status !== expected.status || actual.method !== expected.method || actual.headers !== expected.headers) {
      throw new Error(`ACRM ${JSON.stringify(method)}, ACRH ${JSON.stringify(requestHeaders)} on ${any ? '/any' : '/listed'}: got ${JSON.stringify(actual)}, the model expects ${JSON.stringify(expected)}`)
    }
  }))
  t.pass(`1000 preflights, seed ${SEED}`)
})
