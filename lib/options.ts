import type { CompiledPolicy, PolicyCache } from './compile.ts'
import { CorsPolicyError, messages, type CorsPolicyProblem } from './errors.ts'
import { checkPolicy, type CorsPolicy } from './policy.ts'
import type { CorsRoute } from './registry.ts'

/**
 * Policy names an application may narrow to its own, so that a misspelt name is a type error:
 *
 * ```ts
 * declare module 'fastify-cors-policy' {
 *   interface CorsPolicyNames { public: true, partners: true }
 * }
 * ```
 */
export interface CorsPolicyNames {}

/** A policy name: any string, or the names an application declared in `CorsPolicyNames`. */
export type CorsPolicyName = keyof CorsPolicyNames extends never ? string : Extract<keyof CorsPolicyNames, string>

/** What a route's `config.cors` or `schema.cors` holds: a policy, a policy's name, or false for no CORS. */
export type CorsRouteOption = CorsPolicy | CorsPolicyName | false

export interface CorsPluginOptions {
  /** The policy of routes in this scope that declare none: a policy or a policy's name. */
  default?: CorsPolicy | CorsPolicyName | false
  /** Named policies, referenced from routes by name. */
  policies?: { readonly [name: string]: CorsPolicy }
}

/** One registration of the plugin: its named policies and its default, all compiled. */
export interface Registration {
  readonly named: ReadonlyMap<string, CompiledPolicy>
  /** The default as a route of its own, for the not-found handler; null without a default. */
  readonly defaultRoute: (CorsRoute & { readonly policy: CompiledPolicy }) | null
  readonly defaultName: string | null
}

const OPTION_KEYS = new Set(['default', 'policies'])

/** Checks and compiles the plugin options; every problem of every policy is reported in one error. */
export function readOptions (options: unknown, cache: PolicyCache): Registration {
  const where = 'plugin options'
  const problems: CorsPolicyProblem[] = []
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new CorsPolicyError([{ where, path: '', message: messages.pluginOptions(options) }])
  }
  const record = options as Record<string, unknown>
  for (const key of Object.keys(record)) {
    if (!OPTION_KEYS.has(key)) problems.push({ where, path: `/${key}`, message: messages.unknownOption(key) })
  }
  const named = new Map<string, CompiledPolicy>()
  const declaredNames = new Set<string>()
  const policies = record.policies
  if (policies !== undefined && (typeof policies !== 'object' || policies === null || Array.isArray(policies))) {
    problems.push({ where, path: '/policies', message: messages.policiesNotObject(policies) })
  } else if (policies !== undefined) {
    for (const [name, value] of Object.entries(policies)) {
      declaredNames.add(name)
      const label = `policy ${JSON.stringify(name)}`
      const policy = checkPolicy(value, label, problems)
      if (policy !== null) named.set(name, cache.compile(value as object, policy, label))
    }
  }

  let defaultRoute: Registration['defaultRoute'] = null
  let defaultName: string | null = null
  const declared = record.default
  if (typeof declared === 'string') {
    const policy = named.get(declared)
    // A policy declared under that name but invalid has its own problems reported above.
    if (policy === undefined && !declaredNames.has(declared)) {
      problems.push({ where, path: '/default', message: messages.unknownName(declared, [...named.keys()]) })
    } else if (policy !== undefined) {
      defaultName = declared
      defaultRoute = { label: 'not found', policy, policyName: declared, policyLabel: `policy ${JSON.stringify(declared)}` }
    }
  } else if (declared !== undefined && declared !== false) {
    const label = 'default policy'
    const policy = checkPolicy(declared, label, problems)
    if (policy !== null) defaultRoute = { label: 'not found', policy: cache.compile(declared as object, policy, label), policyName: null, policyLabel: label }
  }
  if (problems.length > 0) throw new CorsPolicyError(problems)
  return { named, defaultRoute, defaultName }
}

/**
 * The policy a route declared, resolved in the registration that governs it: the route's own policy,
 * a named one, the scope's default, or null for no CORS.
 */
export function resolveRoutePolicy (
  declared: { config: unknown, schema: unknown },
  where: string,
  registration: Registration,
  cache: PolicyCache
): { policy: CompiledPolicy | null, name: string | null } {
  const problem = (message: string): CorsPolicyError => new CorsPolicyError([{ where, path: '', message }])
  if (declared.config !== undefined && declared.schema !== undefined) throw problem(messages.bothDeclared)
  const value = declared.config !== undefined ? declared.config : declared.schema
  const field = declared.config !== undefined ? 'config.cors' : 'schema.cors'
  if (value === undefined) {
    const fallback = registration.defaultRoute
    return { policy: fallback?.policy ?? null, name: registration.defaultName }
  }
  if (value === false) return { policy: null, name: null }
  if (typeof value === 'string') {
    const policy = registration.named.get(value)
    if (policy === undefined) throw problem(`${field} ${messages.unknownName(value, [...registration.named.keys()])}`)
    return { policy, name: value }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw problem(`${field} ${messages.notAPolicy(value)}`)
  }
  const problems: CorsPolicyProblem[] = []
  const policy = checkPolicy(value, where, problems)
  if (policy === null) throw new CorsPolicyError(problems)
  return { policy: cache.compile(value, policy, `inline policy of route ${where.replace(/^route /, '')}`), name: null }
}
