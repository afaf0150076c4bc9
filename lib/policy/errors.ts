// Every error the plugin throws, in one place. Startup problems all share one code, as the
// behaviour reference requires; the message lists each problem with its fix.
export const CORS_POLICY_INVALID = 'FST_CORS_POLICY_INVALID'

export interface CorsPolicyProblem {
  /** Which declaration: `route PUT /me`, `policy "partners"`, `default policy`, `plugin options`. */
  where: string
  /** JSON pointer into that declaration, `''` for the declaration itself. */
  path: string
  /** What is wrong and how to fix it. */
  message: string
}

export class CorsPolicyError extends Error {
  readonly code = CORS_POLICY_INVALID
  readonly statusCode = 500
  readonly problems: readonly CorsPolicyProblem[]

  constructor (problems: readonly CorsPolicyProblem[]) {
    super(problems.map(formatProblem).join('\n'))
    this.name = 'CorsPolicyError'
    this.problems = Object.freeze(problems.slice())
  }
}

export function formatProblem (problem: CorsPolicyProblem): string {
  return problem.path === ''
    ? `${problem.where}: ${problem.message}`
    : `${problem.where}: ${problem.path} ${problem.message}`
}

/** Messages of problems that are not about one field of a policy. */
export const messages = {
  registeredTwice: 'fastify-cors-policy is registered twice in the same scope; register it once per scope (a child scope may register it again with its own options)',
  bothDeclared: 'declares its policy in both config.cors and schema.cors; keep one of them',
  unknownName: (name: string, known: readonly string[]) =>
    `names the unknown policy ${JSON.stringify(name)}; ` +
    (known.length === 0 ? 'no named policies are registered in this scope (add it under `policies`)' : `known policies: ${known.map((k) => JSON.stringify(k)).join(', ')}`),
  notAPolicy: (value: unknown) =>
    `is ${describe(value)}; a route's cors is a policy object, the name of a policy, or false (leave it out to use the scope's default)`,
  pluginOptions: (value: unknown) =>
    `are ${describe(value)}; pass an object such as { default: { origins: ['https://app.example.com'] } }`,
  unknownOption: (key: string) =>
    `has the unknown option ${JSON.stringify(key)}; the options are default, policies, openapiExtension, reportOnly and census`,
  declaredBefore:
    'was declared before fastify-cors-policy loaded, so the plugin cannot govern it (no CORS headers, preflights answered 404); ' +
    'register the plugin first and await it, before declaring routes and before registering plugins that declare routes: await app.register(cors, options)',
  declaredBeforeInScope: (prefix: string, routes: readonly string[]) =>
    `fastify-cors-policy was registered in the scope ${JSON.stringify(prefix)} after these routes under its prefix were declared, ` +
    `and cannot govern them: ${routes.join('; ')}. If they belong to this scope, register the plugin first in it and await it ` +
    '(await scope.register(cors, options)); routes of sibling scopes on the same prefix are listed too, as Fastify cannot tell them apart',
  constraintVariants: (first: string) =>
    `has another CORS policy than the route ${first}, and the two differ only by constraints that a preflight does not carry ` +
    '(a version, a custom strategy): a preflight cannot tell which of them the browser will call; give both the same policy ' +
    '(one name, or equal inline policies), or put them on different paths',
  policiesNotObject: (value: unknown) =>
    `is ${describe(value)}; policies is an object of name: policy`,
} as const

export function describe (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (value instanceof RegExp) return `the RegExp ${String(value)}`
  switch (typeof value) {
    case 'string': return `the string ${JSON.stringify(value)}`
    case 'number': return `the number ${value}`
    case 'boolean': return `${value}`
    case 'function': return 'a function'
    case 'undefined': return 'undefined'
    default: return `a value of type ${typeof value}`
  }
}
