import type { PolicyCache, PolicySlot } from './compile.ts'
import { CorsPolicyError, describe, messages, type CorsPolicyProblem } from './errors.ts'
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
  /** Describe each route's policy in its OpenAPI operation, as an `x-cors` extension (@fastify/swagger copies it). */
  openapiExtension?: boolean
}

/** One registration of the plugin: its named policies and its default, all compiled. */
export interface Registration {
  /** Named policies, each in the slot its routes share (see `PolicySlot`). */
  readonly named: ReadonlyMap<string, PolicySlot>
  /** The default as a route of its own, for the not-found handler; null without a default. */
  readonly defaultRoute: (CorsRoute & { readonly slot: PolicySlot }) | null
  readonly defaultName: string | null
  readonly openapiExtension: boolean
}

const OPTION_KEYS = new Set(['default', 'policies', 'openapiExtension'])

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
  const named = new Map<string, PolicySlot>()
  const declaredNames = new Set<string>()
  const policies = record.policies
  if (policies !== undefined && (typeof policies !== 'object' || policies === null || Array.isArray(policies))) {
    problems.push({ where, path: '/policies', message: messages.policiesNotObject(policies) })
  } else if (policies !== undefined) {
    for (const [name, value] of Object.entries(policies)) {
      declaredNames.add(name)
      const label = `policy ${JSON.stringify(name)}`
      const policy = checkPolicy(value, label, problems)
      if (policy !== null) named.set(name, { current: cache.compile(value as object, policy, label) })
    }
  }

  let defaultRoute: Registration['defaultRoute'] = null
  let defaultName: string | null = null
  const declared = record.default
  if (typeof declared === 'string') {
    const slot = named.get(declared)
    // A policy declared under that name but invalid has its own problems reported above.
    if (slot === undefined && !declaredNames.has(declared)) {
      problems.push({ where, path: '/default', message: messages.unknownName(declared, [...named.keys()]) })
    } else if (slot !== undefined) {
      defaultName = declared
      defaultRoute = notFoundRoute(slot, declared, `policy ${JSON.stringify(declared)}`)
    }
  } else if (declared !== undefined && declared !== false) {
    const label = 'default policy'
    const policy = checkPolicy(declared, label, problems)
    if (policy !== null) defaultRoute = notFoundRoute({ current: cache.compile(declared as object, policy, label) }, null, label)
  }
  const openapiExtension = record.openapiExtension ?? false
  if (typeof openapiExtension !== 'boolean') {
    problems.push({ where, path: '/openapiExtension', message: `is ${describe(openapiExtension)}; openapiExtension is true or false` })
  }
  if (problems.length > 0) throw new CorsPolicyError(problems)
  return { named, defaultRoute, defaultName, openapiExtension: openapiExtension === true }
}

function notFoundRoute (slot: PolicySlot, policyName: string | null, policyLabel: string): CorsRoute & { readonly slot: PolicySlot } {
  return { label: 'not found', methods: [], url: '', slot, policyName, policyLabel }
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
): { slot: PolicySlot | null, name: string | null } {
  const problem = (message: string): CorsPolicyError => new CorsPolicyError([{ where, path: '', message }])
  if (declared.config !== undefined && declared.schema !== undefined) throw problem(messages.bothDeclared)
  const value = declared.config !== undefined ? declared.config : declared.schema
  const field = declared.config !== undefined ? 'config.cors' : 'schema.cors'
  if (value === undefined) {
    return { slot: registration.defaultRoute?.slot ?? null, name: registration.defaultName }
  }
  if (value === false) return { slot: null, name: null }
  if (typeof value === 'string') {
    const slot = registration.named.get(value)
    if (slot === undefined) throw problem(`${field} ${messages.unknownName(value, [...registration.named.keys()])}`)
    return { slot, name: value }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw problem(`${field} ${messages.notAPolicy(value)}`)
  }
  const problems: CorsPolicyProblem[] = []
  const policy = checkPolicy(value, where, problems)
  if (policy === null) throw new CorsPolicyError(problems)
  return { slot: { current: cache.compile(value, policy, `inline policy of route ${where.replace(/^route /, '')}`) }, name: null }
}
