import { deciderOf, type Decider } from '../decision/decider.ts'
import type { PolicyCache } from '../policy/compile.ts'
import { CorsPolicyError, describe, messages, type CorsPolicyProblem } from '../policy/errors.ts'
import { checkPolicy, type CorsPolicy } from '../policy/policy.ts'
import type { CorsRoute } from './registry.ts'
import type { PolicySlot, SlotWatcher } from './slot.ts'

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
  /**
   * Candidates tried beside named policies, by the policy's name: each is evaluated on every request
   * its policy governs, disagreements are logged at warn and published, and the response follows the
   * enforced policy. Validated like any policy.
   */
  reportOnly?: { readonly [name: string]: CorsPolicy }
  /**
   * Count the origins each policy sees (`app.corsPolicies.census()`), keeping the `size` heaviest per
   * policy (default 100, at most 10,000) in a fixed amount of memory. Off by default.
   */
  census?: boolean | { readonly size?: number }
}

/** What the code declared for a named policy: `policies[name]` and `reportOnly[name]` (or null), as passed to the plugin. */
export interface CorsDeclaredPolicy {
  readonly policy: CorsPolicy
  readonly candidate: CorsPolicy | null
}

/** The census's default number of origins kept per policy, and the largest allowed. */
export const CENSUS_DEFAULT_SIZE = 100
export const CENSUS_MAX_SIZE = 10_000

/** One registration of the plugin: its named policies and its default, all compiled. */
export interface Registration {
  /** Named policies, each in the slot its routes share (see `PolicySlot`). */
  readonly named: ReadonlyMap<string, PolicySlot>
  /** The default as a route of its own, for the not-found handler; null without a default. */
  readonly defaultRoute: (CorsRoute & { readonly slot: PolicySlot }) | null
  readonly defaultName: string | null
  readonly openapiExtension: boolean
  /** The `reportOnly` candidates, compiled, by policy name. */
  readonly candidates: ReadonlyMap<string, Decider>
  /** The census's size, or null when it is off. */
  readonly censusSize: number | null
  /** What the options declared for each named policy, as passed: the policy and its `reportOnly` candidate. */
  readonly declared: ReadonlyMap<string, CorsDeclaredPolicy>
  /** What watches the slots at run time (candidates, census); set once the plugin has loaded what it needs. */
  watcher: SlotWatcher | null
}

const OPTION_KEYS = new Set(['default', 'policies', 'openapiExtension', 'reportOnly', 'census'])

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
      if (policy !== null) named.set(name, { current: deciderOf(cache.compile(value as object, policy, label)), watch: null })
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
    if (policy !== null) defaultRoute = notFoundRoute({ current: deciderOf(cache.compile(declared as object, policy, label)), watch: null }, null, label)
  }
  const openapiExtension = record.openapiExtension ?? false
  if (typeof openapiExtension !== 'boolean') {
    problems.push({ where, path: '/openapiExtension', message: `is ${describe(openapiExtension)}; openapiExtension is true or false` })
  }
  const candidates = readCandidates(record.reportOnly, named, declaredNames, cache, problems)
  const censusSize = readCensus(record.census, problems)
  if (problems.length > 0) throw new CorsPolicyError(problems)
  const reportOnly = record.reportOnly as Record<string, CorsPolicy> | undefined
  const declaredPolicies = new Map<string, CorsDeclaredPolicy>()
  for (const name of named.keys()) {
    declaredPolicies.set(name, Object.freeze({ policy: (policies as Record<string, CorsPolicy>)[name]!, candidate: reportOnly?.[name] ?? null }))
  }
  return { named, defaultRoute, defaultName, openapiExtension: openapiExtension === true, candidates, censusSize, declared: declaredPolicies, watcher: null }
}

/** The label of a named policy's report-only candidate, in errors and logs. */
export function candidateLabel (name: string): string {
  return `report-only candidate for policy ${JSON.stringify(name)}`
}

function readCandidates (
  value: unknown, named: ReadonlyMap<string, PolicySlot>, declaredNames: ReadonlySet<string>, cache: PolicyCache, problems: CorsPolicyProblem[]
): Map<string, Decider> {
  const where = 'plugin options'
  const candidates = new Map<string, Decider>()
  if (value === undefined) return candidates
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push({ where, path: '/reportOnly', message: `is ${describe(value)}; reportOnly is an object of policy name: candidate policy` })
    return candidates
  }
  for (const [name, candidate] of Object.entries(value)) {
    if (!declaredNames.has(name)) {
      problems.push({ where, path: `/reportOnly/${name}`, message: messages.unknownName(name, [...named.keys()]) })
      continue
    }
    const label = candidateLabel(name)
    const policy = checkPolicy(candidate, label, problems)
    if (policy !== null) candidates.set(name, deciderOf(cache.compile(candidate as object, policy, label)))
  }
  return candidates
}

function readCensus (value: unknown, problems: CorsPolicyProblem[]): number | null {
  if (value === undefined || value === false) return null
  if (value === true) return CENSUS_DEFAULT_SIZE
  const size = (value as { size?: unknown } | null)?.size
  const keys = typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.keys(value) : null
  if (keys === null || keys.some((key) => key !== 'size')) {
    problems.push({ where: 'plugin options', path: '/census', message: `is ${describe(value)}; census is true, false or { size } (origins kept per policy)` })
    return null
  }
  if (size === undefined) return CENSUS_DEFAULT_SIZE
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > CENSUS_MAX_SIZE) {
    problems.push({ where: 'plugin options', path: '/census/size', message: `is ${describe(size)}; the census size is a whole number from 1 to ${CENSUS_MAX_SIZE}` })
    return null
  }
  return size
}

function notFoundRoute (slot: PolicySlot, policyName: string | null, policyLabel: string): CorsRoute & { readonly slot: PolicySlot } {
  return { label: 'not found', methods: [], url: '', slot, policyName, policyLabel, governed: true }
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
  const label = `inline policy of route ${where.replace(/^route /, '')}`
  const slot: PolicySlot = { current: deciderOf(cache.compile(value, policy, label)), watch: null }
  registration.watcher?.watchInline(slot, label)
  return { slot, name: null }
}
