import { createRequire } from 'node:module'
import type { FastifyRequest } from 'fastify'
import { VARY_ORIGIN, VARY_PREFLIGHT, VARY_PREFLIGHT_WITH_ORIGIN } from './headers.ts'
import { isSerializedOrigin, OriginMatcher } from './origin.ts'
import { DEFAULT_ORIGIN_TIMEOUT, type CorsOriginFunction, type NormalizedPolicy } from './policy.ts'
import type { CorsRoute } from './registry.ts'
import { VaryTokens } from './vary.ts'

/** What the logs of an origin function name: the route that asked, and the policy as that route names it. */
export type AskingRoute = Pick<CorsRoute, 'label' | 'policyLabel'>

/**
 * A policy turned into what requests need: an origin matcher and header values joined once.
 * "Nothing to send" is null, so the hot path tests a field instead of a length.
 */
export class CompiledPolicy {
  /** How logs and reports name it: `policy "partners"` or `inline policy of route PUT /me`. */
  readonly label: string
  readonly isPublic: boolean
  readonly credentials: boolean
  readonly methods: ReadonlySet<string> | null
  readonly allowHeaders: ReadonlySet<string>
  readonly anyHeader: boolean
  readonly exposeHeaders: string | null
  readonly maxAge: string | null
  /** `Vary` on actual responses of an origin-dependent policy: `Origin` (a public policy adds none, rule 4). */
  readonly varyActual: VaryTokens
  readonly varyPreflight: VaryTokens
  readonly source: NormalizedPolicy
  readonly #matcher: OriginMatcher | null
  readonly #originFunction: CorsOriginFunction | null
  /** Milliseconds the origin function may take to answer (style.md, 15). */
  readonly #originTimeout: number

  constructor (policy: NormalizedPolicy, label: string) {
    compileCount++
    const origins = policy.origins
    this.label = label
    this.source = policy
    this.isPublic = origins === '*'
    this.credentials = policy.credentials
    this.#originFunction = typeof origins === 'function' ? origins : null
    this.#originTimeout = policy.originTimeout ?? DEFAULT_ORIGIN_TIMEOUT
    this.#matcher = typeof origins === 'object' ? new OriginMatcher(origins.entries, origins.regexps) : null
    this.methods = policy.methods === null ? null : new Set(policy.methods)
    this.allowHeaders = new Set(policy.allowHeaders)
    this.anyHeader = policy.anyHeader
    this.exposeHeaders = policy.exposeHeaders.length > 0 ? policy.exposeHeaders.join(', ') : null
    this.maxAge = policy.maxAge === null ? null : String(policy.maxAge)
    this.varyActual = new VaryTokens(VARY_ORIGIN)
    this.varyPreflight = new VaryTokens(this.isPublic ? VARY_PREFLIGHT : VARY_PREFLIGHT_WITH_ORIGIN)
  }

  /** Whether the policy's `methods` (when set) allow this method; `HEAD` follows `GET` (rule 6). */
  allowsMethod (method: string): boolean {
    const methods = this.methods
    return methods === null || methods.has(method) || (method === 'HEAD' && methods.has('GET'))
  }

  /**
   * Whether `origin` may read responses. A promise only when the policy's origins is a function that
   * answers with one. A function that throws, rejects or answers anything but `true` means "not
   * allowed"; one that has not answered within the policy's `originTimeout` too. Failures and
   * timeouts are logged at error, naming `route` and its policy.
   */
  allowsOrigin (origin: string, request: FastifyRequest, route: AskingRoute): boolean | Promise<boolean> {
    if (this.#matcher !== null) return this.#matcher.matches(origin)
    if (this.isPublic) return isSerializedOrigin(origin)
    return this.#askFunction(origin, request, route)
  }

  #askFunction (origin: string, request: FastifyRequest, route: AskingRoute): boolean | Promise<boolean> {
    // The function sees only well-formed origins, and never the opaque null origin (rule 17).
    if (origin === 'null' || !isSerializedOrigin(origin)) return false
    const fn = this.#originFunction as CorsOriginFunction
    let answer: unknown
    try {
      answer = fn(origin, request)
    } catch (err) {
      logFunctionFailure(request, route, origin, err)
      return false
    }
    if (answer === true) return true
    // Only a promise (or any thenable) is waited for: no timer for a synchronous answer.
    if (answer === null || typeof answer !== 'object' || typeof (answer as { then?: unknown }).then !== 'function') return false
    return boundedAnswer(answer as PromiseLike<unknown>, this.#originTimeout, request, route, origin)
  }
}

/**
 * The function's answer, or false once `timeout` ms have passed without one: whichever comes first
 * decides, and the other is ignored. The timer is cleared on an answer and never keeps the process alive.
 */
function boundedAnswer (answer: PromiseLike<unknown>, timeout: number, request: FastifyRequest, route: AskingRoute, origin: string): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    let settled = false
    const timer = setTimeout(() => {
      settled = true
      request.log.error({ cors: { reason: 'origin_function_timeout', origin, route: route.label, policy: route.policyLabel, timeout } },
        `CORS origin function did not answer within ${timeout} ms (originTimeout) for ${route.label}; the origin is treated as not allowed`)
      resolve(false)
    }, timeout)
    timer.unref()
    // Promise.resolve turns a thenable whose then throws into a rejection.
    Promise.resolve(answer).then((value) => {
      clearTimeout(timer)
      resolve(value === true)
    }, (err: unknown) => {
      // A failure after the timeout was logged as the timeout: one line per request.
      if (settled) return
      clearTimeout(timer)
      logFunctionFailure(request, route, origin, err)
      resolve(false)
    })
  })
}

function logFunctionFailure (request: FastifyRequest, route: AskingRoute, origin: string, err: unknown): void {
  request.log.error({ err, cors: { reason: 'origin_function_failed', origin, route: route.label, policy: route.policyLabel } },
    `CORS origin function failed for ${route.label}; the origin is treated as not allowed`)
}

/**
 * Where a route finds its policy. A named policy's slot is shared by every route that names it, so
 * replacing the policy is one assignment: each request reads the slot once and sees the whole old
 * policy or the whole new one, never a mix.
 */
export interface PolicySlot {
  current: CompiledPolicy
}

let compileCount = 0

/**
 * How many policies have been compiled in this process: each distinct policy once, however many routes
 * share it, and again only if it was released (no route used it any more) and comes back.
 */
export function compiledPolicyCount (): number {
  return compileCount
}

/**
 * Compiled policies of one server, shared by all its routes and registrations. The same object is
 * compiled once; an equal policy written inline on many routes is compiled once too (functions aside,
 * which have no key), as long as a slot uses it.
 *
 * The cache holds compiled policies weakly: slots hold them. A policy replaced live (a tenant list
 * refreshed on a timer) is collected once no slot or request in flight uses it, and its key goes with it.
 */
export class PolicyCache {
  readonly #byObject = new WeakMap<object, CompiledPolicy>()
  readonly #byKey = new Map<string, WeakRef<CompiledPolicy>>()
  readonly #collected = new FinalizationRegistry<string>((key) => {
    // The key may already hold a newer compiled policy, compiled after this one was collected.
    if (this.#byKey.get(key)?.deref() === undefined) this.#byKey.delete(key)
  })

  compile (declared: object, policy: NormalizedPolicy, label: string): CompiledPolicy {
    const same = this.#byObject.get(declared)
    if (same !== undefined) return same
    const key = typeof policy.origins === 'function' ? null : policyKey(policy)
    let compiled = key === null ? undefined : this.#byKey.get(key)?.deref()
    if (compiled === undefined) {
      compiled = new CompiledPolicy(policy, label)
      if (key !== null) {
        this.#byKey.set(key, new WeakRef(compiled))
        this.#collected.register(compiled, key)
      }
    }
    this.#byObject.set(declared, compiled)
    return compiled
  }
}

/** Keys longer than this are kept as a digest. */
const LONG_KEY = 1024

let crypto: typeof import('node:crypto') | undefined

/**
 * The key a policy is cached under: its JSON, or for a long one its SHA-256. A list of thousands of
 * origins makes a JSON key of hundreds of kilobytes, which the cache would keep as long as the policy
 * lives: at startup, enough surviving bytes to grow V8's young generation where the same origins in a
 * hand-written Set would not (see bench/results.md).
 */
function policyKey (policy: NormalizedPolicy): string {
  const json = JSON.stringify(policy, (_key, value: unknown) => value instanceof RegExp ? String(value) : value)
  if (json.length <= LONG_KEY) return json
  crypto ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto')
  // A JSON key starts with "{": a digest can never be mistaken for one.
  return '#' + crypto.createHash('sha256').update(json).digest('base64')
}
