import type FindMyWay from 'find-my-way'
import type { FastifyInstance } from 'fastify'
import { PolicyCache } from '../policy/compile.ts'
import { CorsPolicyError, messages } from '../policy/errors.ts'
import type { ObservedRoute } from '../observation/log.ts'
import { PathIndex, createRouter } from './paths.ts'
import { PREFLIGHT_CONSTRAINT } from './preflight-constraint.ts'
import type { DerivedSlot, PolicySlot } from './slot.ts'

/**
 * What the plugin knows of one route: where its policy is, or null when CORS is off there. Its
 * `policyLabel` is kept per route: equal policies share one compiled policy, which carries the label of the first.
 */
export interface CorsRoute extends ObservedRoute {
  readonly methods: readonly string[]
  readonly url: string
  readonly slot: PolicySlot | null
}

/** One path (as routes declare it), with every method registered on it. */
export interface CorsPath {
  readonly url: string
  /** Shared by the paths that have the same methods (see withMethod in routes.ts). */
  methods: readonly string[]
  /** The `Allow` value for plain OPTIONS, joined once after the last route is added. */
  allow: string | null
  /** Which OPTIONS route the plugin generated here: none yet, one for all OPTIONS, or one for preflights only. */
  generated: 'none' | 'all' | 'preflight'
  /** Whether a route here has constraints other than the host, so that its variants are compared. */
  constrained: boolean
}

type Router = FindMyWay.Instance<FindMyWay.HTTPVersion.V1>

interface PendingTarget {
  readonly url: string
  readonly path: CorsPath
  readonly host: unknown
  readonly route: CorsRoute
  /** The constraints other than the host (see otherConstraints). */
  readonly others: string | null
}

/**
 * A pending target as it is kept: the route alone for the usual one, on the route's own URL and
 * without constraints (no object per route and method, in an app of thousands), or the whole target.
 */
type PendingItem = CorsRoute | PendingTarget

/** A route as the preflight lookup stores it. */
interface Target {
  readonly route: CorsRoute
  /** Constrained by more than the host (a version, a custom strategy): the application's router may not select it for a preflight. */
  readonly constrained: boolean
}

const NO_METHODS: readonly string[] = Object.freeze([])

// This router only stores routes: find-my-way wants a handler, and none is ever called.
const NO_HANDLER = Function.prototype as () => void

/**
 * State shared by every registration of the plugin on one server: sibling scopes share one router,
 * so they must share the list of paths that have an OPTIONS route and the routes a preflight can target.
 */
export class CorsRegistry {
  readonly policies = new PolicyCache()
  /** Every route the plugin governs on this server, in declaration order, for the policy report. */
  readonly routes: CorsRoute[] = []
  /** Slots derived from a named policy's slot (headersFromSchema), re-derived when it is replaced. */
  readonly #derived = new Map<PolicySlot, DerivedSlot[]>()
  /**
   * Mirrors the application's router for the routes the plugin governs: (method, URL) to route (rule 8).
   * Built one method at a time, on the first preflight that asks for the method: building it all was
   * the largest part of the plugin's startup time and heap, for a router many applications never use.
   */
  readonly #targets: Router
  /**
   * Per method with at least one route, the routes not yet in #targets, in declaration order; a
   * method without a key is answered without a lookup.
   */
  readonly #pending = new Map<string, PendingItem[]>()
  readonly #paths: PathIndex<CorsPath>
  /** URLs of the OPTIONS routes the plugin generated. */
  readonly generatedUrls: string[] = []
  #usesHost = false
  /**
   * Whether every route of the server went through a registration's onRoute hook, so that #targets
   * holds every route a preflight may target: true once the plugin is registered at the root (which
   * refuses to start after routes it did not see). Otherwise a route in a scope that no registration
   * governs may be the one the application's router selects, and each lookup is checked against it.
   */
  #seesAllRoutes = false

  constructor (app: FastifyInstance) {
    const config = app.initialConfig as Record<string, unknown> & { routerOptions?: Record<string, unknown> }
    const options = config.routerOptions ?? {}
    const routerOptions = {
      ignoreTrailingSlash: (options.ignoreTrailingSlash ?? config.ignoreTrailingSlash) === true,
      ignoreDuplicateSlashes: (options.ignoreDuplicateSlashes ?? config.ignoreDuplicateSlashes) === true,
      caseSensitive: (options.caseSensitive ?? config.caseSensitive) !== false,
      maxParamLength: (options.maxParamLength ?? config.maxParamLength) as number,
      useSemicolonDelimiter: (options.useSemicolonDelimiter ?? config.useSemicolonDelimiter) === true,
      // The application's router has already accepted these paths.
      allowUnsafeRegex: true,
    }
    this.#targets = createRouter(routerOptions)
    this.#paths = new PathIndex(routerOptions, (url) => ({ url, methods: NO_METHODS, allow: null, generated: 'none', constrained: false }))
  }

  /**
   * Records a route as a preflight target. Routes on one method and path that differ only by
   * constraints a preflight cannot carry (a version, a custom strategy) must share their policy:
   * a preflight cannot tell which of them the browser will call.
   */
  addTarget (method: string, url: string, path: CorsPath, constraints: Record<string, unknown> | undefined, route: CorsRoute): void {
    const host = constraints?.host
    if (host !== undefined) this.#usesHost = true
    const others = otherConstraints(constraints)
    let pending = this.#pending.get(method)
    if (pending === undefined) this.#pending.set(method, pending = [])
    // Routes are complete before the first preflight empties the list: it holds every earlier route
    // of the method. Variants are rare, so only the paths that have one are compared.
    if (others !== null) path.constrained = true
    if (path.constrained) checkVariants(this.#firstOn(pending, path, host), others, route)
    pending.push(url === route.url && host === undefined && others === null ? route : { url, path, host, route, others })
  }

  /** The first earlier route of the method on this path and host. */
  #firstOn (pending: readonly PendingItem[], path: CorsPath, host: unknown): PendingTarget | undefined {
    for (const item of pending) {
      const earlier = this.#target(item)
      if (earlier.path === path && String(earlier.host) === String(host)) return earlier
    }
    return undefined
  }

  #target (item: PendingItem): PendingTarget {
    return 'route' in item ? item : { url: item.url, path: this.#paths.get(item.url), host: undefined, route: item, others: null }
  }

  /** Moves a method's pending routes into #targets, in declaration order. */
  #addPending (method: FindMyWay.HTTPMethod, pending: PendingItem[]): void {
    for (const item of pending) {
      const { url, host, route, others } = this.#target(item)
      const constraints = host === undefined ? {} : { host }
      if (this.#targets.findRoute(method, url, constraints) !== null) continue
      this.#targets.on(method, url, { constraints }, NO_HANDLER, { route, constrained: others !== null } satisfies Target)
    }
    pending.length = 0
  }

  derivedSlots (base: PolicySlot): DerivedSlot[] {
    let derived = this.#derived.get(base)
    if (derived === undefined) {
      derived = []
      this.#derived.set(base, derived)
    }
    return derived
  }

  hasMethod (method: string): boolean {
    return this.#pending.has(method)
  }

  /** Called by a registration at the root: from then on every route goes through onRoute. */
  seeAllRoutes (): void {
    this.#seesAllRoutes = true
  }

  /**
   * The route the application's router selects for this method and URL, as rule 8 requires; null
   * when there is none. `app` is any instance of the server, whose router is asked when some routes
   * may have escaped the plugin.
   */
  findTarget (method: string, url: string, host: string | undefined, app: FastifyInstance): CorsRoute | null {
    const pending = this.#pending.get(method)
    if (pending === undefined) return null
    if (pending.length > 0) this.#addPending(method as FindMyWay.HTTPMethod, pending)
    const found = this.#targets.find(method as FindMyWay.HTTPMethod, url, this.#usesHost ? { host } : undefined)
    if (found === null) return null
    const target = found.store as Target
    if (this.#seesAllRoutes) return target.route
    // Rule 8 among all routes: a route in a scope no registration governs (a sibling of the scope
    // that registered the plugin, or declared before it) may be the one selected. The same route
    // yields the same parameters; another one, even on an overlapping path, does not.
    const selected = app.findRoute({ method, url, constraints: { host } } as Parameters<FastifyInstance['findRoute']>[0])
    if (selected === null ? target.constrained : sameParams(selected.params, found.params)) return target.route
    return notGoverned(method, url)
  }

  /** The record of a path, shared by routes that differ only in parameter names. */
  path (url: string): CorsPath {
    return this.#paths.get(url)
  }
}

/** The constraints other than the host, as `version 1.0.0, tenant a`; null when there are none. */
function otherConstraints (constraints: Record<string, unknown> | undefined): string | null {
  if (constraints === undefined) return null
  const keys = Object.keys(constraints).filter((key) => key !== 'host' && key !== PREFLIGHT_CONSTRAINT).sort()
  return keys.length === 0 ? null : keys.map((key) => `${key} ${String(constraints[key])}`).join(', ')
}

/** Compares a route with the first earlier one on its method, path and host, when their other constraints differ. */
function checkVariants (first: PendingTarget | undefined, others: string | null, route: CorsRoute): void {
  // The same constraints twice is a duplicate route, which Fastify itself reports.
  if (first === undefined || first.others === others || samePolicy(first.route, route)) return
  const label = (route: CorsRoute, others: string | null): string => `${route.label} (${others ?? 'no constraint'})`
  throw new CorsPolicyError([{ where: `route ${label(route, others)}`, path: '', message: messages.constraintVariants(label(first.route, first.others)) }])
}

/** Equal for as long as the app runs: one slot, or one compiled policy that neither can replace alone. */
function samePolicy (a: CorsRoute, b: CorsRoute): boolean {
  return a.slot === b.slot || (a.slot !== null && b.slot !== null && a.slot.current === b.slot.current && a.policyName === b.policyName)
}

function sameParams (a: Record<string, string | undefined>, b: Record<string, string | undefined>): boolean {
  const keys = Object.keys(a)
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key])
}

/** The target of a preflight whose route the plugin does not govern. */
function notGoverned (method: string, url: string): CorsRoute {
  const path = url.split('?', 1)[0] as string
  return { label: `${method} ${path} (a route fastify-cors-policy does not govern)`, methods: [method], url: path, slot: null, policyName: null, policyLabel: null, governed: false }
}

const registries = new WeakMap<object, CorsRegistry>()

/** The registry of the server this instance belongs to. */
export function registryOf (app: FastifyInstance): CorsRegistry {
  let registry = registries.get(app.server)
  if (registry === undefined) {
    registry = new CorsRegistry(app)
    registries.set(app.server, registry)
  }
  return registry
}
