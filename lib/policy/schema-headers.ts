import type { CompiledPolicy, PolicyCache } from './compile.ts'
import { CorsPolicyError, type CorsPolicyProblem } from './errors.ts'
import { FORBIDDEN_RESPONSE_HEADERS, type NormalizedPolicy } from './policy.ts'
import { isToken } from './headers.ts'

// `headersFromSchema: true`: the header names a route declares in its schema join its policy, so a
// route that declares `x-api-key` in `schema.headers` accepts it cross-origin without repeating it.

export interface SchemaHeaderNames {
  /** From `schema.headers`: join `allowHeaders`. */
  readonly request: readonly string[]
  /** From `schema.response[status].headers`: join `exposeHeaders`. */
  readonly response: readonly string[]
}

/** Reads and checks the header names of a route's schema; `where` names the route in errors. */
export function schemaHeaderNames (schema: Record<string, unknown> | undefined, where: string): SchemaHeaderNames {
  const problems: CorsPolicyProblem[] = []
  const request = namesOf(schema?.headers, '/schema/headers', where, problems)
  const response: string[] = []
  const responses = schema?.response
  if (typeof responses === 'object' && responses !== null) {
    for (const [status, value] of Object.entries(responses)) {
      const headers = (value as { headers?: unknown } | null)?.headers
      response.push(...namesOf(headers, `/schema/response/${status}/headers`, where, problems))
    }
  }
  // A route that sets cookies rightly declares set-cookie in its response schema, yet browsers never
  // let scripts read it (Fetch standard, "forbidden response-header name"): left out silently, where
  // a policy listing it in exposeHeaders is refused.
  const exposable = response.filter((name) => !FORBIDDEN_RESPONSE_HEADERS.has(name))
  if (problems.length > 0) throw new CorsPolicyError(problems)
  return { request: [...new Set(request)], response: [...new Set(exposable)] }
}

/** The property names of a headers schema, in either form Fastify accepts: `{ properties }` or a plain map. */
function namesOf (headers: unknown, path: string, where: string, problems: CorsPolicyProblem[]): string[] {
  if (typeof headers !== 'object' || headers === null) return []
  const record = headers as Record<string, unknown>
  if (typeof record.$ref === 'string') {
    problems.push({ where, path: `${path}/$ref`, message: 'is a reference, which headersFromSchema does not follow; declare the header properties in the route schema, or list them in the policy' })
    return []
  }
  const properties = typeof record.properties === 'object' && record.properties !== null ? record.properties : record
  const base = properties === record ? path : `${path}/properties`
  const names: string[] = []
  for (const name of Object.keys(properties)) {
    if (isToken(name, 0, name.length)) names.push(name.toLowerCase())
    else problems.push({ where, path: `${base}/${name}`, message: `${JSON.stringify(name)} is not a valid header name; rename it in the schema` })
  }
  return names
}

/** The policy with the schema's names joined; the policy itself when it does not ask for them. */
export function withSchemaHeaders (policy: CompiledPolicy, names: SchemaHeaderNames, cache: PolicyCache): CompiledPolicy {
  const source = policy.source
  if (!source.headersFromSchema || (names.request.length === 0 && names.response.length === 0)) return policy
  const merged: NormalizedPolicy = Object.freeze({
    ...source,
    allowHeaders: Object.freeze([...new Set([...source.allowHeaders, ...names.request])]),
    exposeHeaders: Object.freeze([...new Set([...source.exposeHeaders, ...names.response])]),
  })
  return cache.compile(merged, merged, policy.label)
}
