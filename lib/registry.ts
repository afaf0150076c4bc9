import FindMyWay from 'find-my-way'
import type { FastifyInstance } from 'fastify'
import { PolicyCache, type PolicySlot } from './compile.ts'
import { PathIndex } from './paths.ts'
import type { DerivedSlot } from './schema-headers.ts'

/** What the plugin knows of one route: where its policy is, or null when CORS is off there. */
export interface CorsRoute {
  /** `PUT /me`, for logs. */
  readonly label: string
  readonly methods: readonly string[]
  readonly url: string
  readonly slot: PolicySlot | null
  /** The policy's name when the route named one (or took a named default); null for inline policies. */
  readonly policyName: string | null
  /**
   * How logs name the policy: `policy "partners"`, `default policy`, `inline policy of route PUT /me`.
   * Kept per route: equal policies share one compiled policy, which carries the label of the first.
   */
  readonly policyLabel: string | null
}

/** One path (as routes declare it), with every method registered on it. */
export interface CorsPath {
  readonly url: string
  readonly methods: Set<string>
  /** The `Allow` value for plain OPTIONS, joined once after the last route is added. */
  allow: string | null
  /** Which OPTIONS route the plugin generated here: none yet, one for all OPTIONS, or one for preflights only. */
  generated: 'none' | 'all' | 'preflight'
}

type Router = FindMyWay.Instance<FindMyWay.HTTPVersion.V1>

interface PendingTarget {
  readonly url: string
  readonly host: unknown
  readonly route: CorsRoute
}

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
   * Mirrors the application's router for the routes the plugin governs: (method, URL) → route (rule 8).
   * Built one method at a time, on the first preflight that asks for the method: building it all was
   * the largest part of the plugin's startup time and heap, for a router many applications never use.
   */
  readonly #targets: Router
  /**
   * Per method with at least one route, the routes not yet in #targets, in declaration order; a
   * method without a key is answered without a lookup.
   */
  readonly #pending = new Map<string, PendingTarget[]>()
  readonly #paths: PathIndex<CorsPath>
  #usesHost = false

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
    this.#targets = FindMyWay(routerOptions)
    this.#paths = new PathIndex(routerOptions, (url) => ({ url, methods: new Set(), allow: null, generated: 'none' }))
  }

  /**
   * Records a route as a preflight target. A second route on the same method and path differs only by
   * constraints that a preflight cannot carry (a version, a custom strategy): the first one answers.
   */
  addTarget (method: string, url: string, constraints: Record<string, unknown> | undefined, route: CorsRoute): void {
    const host = constraints?.host
    if (host !== undefined) this.#usesHost = true
    const pending = this.#pending.get(method)
    if (pending === undefined) this.#pending.set(method, [{ url, host, route }])
    else pending.push({ url, host, route })
  }

  /** Moves a method's pending routes into #targets, in declaration order. */
  #addPending (method: FindMyWay.HTTPMethod, pending: PendingTarget[]): void {
    for (const { url, host, route } of pending) {
      const constraints = host === undefined ? {} : { host }
      if (this.#targets.findRoute(method, url, constraints) !== null) continue
      this.#targets.on(method, url, { constraints }, NO_HANDLER, route)
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

  /** The route the application's router selects for this method and URL, as rule 8 requires. */
  findTarget (method: string, url: string, host: string | undefined): CorsRoute | null {
    const pending = this.#pending.get(method)
    if (pending === undefined) return null
    if (pending.length > 0) this.#addPending(method as FindMyWay.HTTPMethod, pending)
    const found = this.#targets.find(method as FindMyWay.HTTPMethod, url, this.#usesHost ? { host } : undefined)
    return found === null ? null : found.store as CorsRoute
  }

  /** The record of a path, shared by routes that differ only in parameter names. */
  path (url: string): CorsPath {
    return this.#paths.get(url)
  }
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
