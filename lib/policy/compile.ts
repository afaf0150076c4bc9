import { createRequire } from 'node:module'
import { isSerializedOrigin, OriginMatcher } from './origin.ts'
import type { CorsOriginFunction, NormalizedPolicy } from './policy.ts'

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
  /** The policy's origins function, asked where listed origins would be looked up; null for a list or `'*'`. */
  readonly originFunction: CorsOriginFunction | null
  /** Milliseconds the origins function may take to answer (style.md, 15); 0 without one. */
  readonly originTimeout: number
  readonly source: NormalizedPolicy
  readonly #matcher: OriginMatcher | null

  constructor (policy: NormalizedPolicy, label: string) {
    compileCount++
    const origins = policy.origins
    this.label = label
    this.source = policy
    this.isPublic = origins === '*'
    this.credentials = policy.credentials
    this.originFunction = typeof origins === 'function' ? origins : null
    this.originTimeout = policy.originTimeout ?? 0
    this.#matcher = typeof origins === 'object' ? new OriginMatcher(origins.entries, origins.regexps) : null
    this.methods = policy.methods === null ? null : new Set(policy.methods)
    this.allowHeaders = new Set(policy.allowHeaders)
    this.anyHeader = policy.anyHeader
    this.exposeHeaders = policy.exposeHeaders.length > 0 ? policy.exposeHeaders.join(', ') : null
    this.maxAge = policy.maxAge === null ? null : String(policy.maxAge)
  }

  /** Whether the policy's `methods` (when set) allow this method; `HEAD` follows `GET` (rule 6). */
  allowsMethod (method: string): boolean {
    const methods = this.methods
    return methods === null || methods.has(method) || (method === 'HEAD' && methods.has('GET'))
  }

  /**
   * Whether `origin` may read responses as far as the policy itself can tell: a listed origin or
   * pattern matches it, or, for a public policy, it is well-formed. With an origins function: whether
   * the function may be asked at all, since it sees only well-formed origins, never the opaque null (rule 17).
   */
  matchesOrigin (origin: string): boolean {
    if (this.#matcher !== null) return this.#matcher.matches(origin)
    if (this.isPublic) return isSerializedOrigin(origin)
    return origin !== 'null' && isSerializedOrigin(origin)
  }
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
 * hand-written Set would not (see docs/speed.md).
 */
function policyKey (policy: NormalizedPolicy): string {
  const json = JSON.stringify(policy, (_key, value: unknown) => value instanceof RegExp ? String(value) : value)
  if (json.length <= LONG_KEY) return json
  crypto ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto')
  // A JSON key starts with "{": a digest can never be mistaken for one.
  return '#' + crypto.createHash('sha256').update(json).digest('base64')
}
