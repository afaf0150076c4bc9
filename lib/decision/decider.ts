import type { CompiledPolicy } from '../policy/compile.ts'
import { MAX_ACRH_LENGTH, MAX_ACRH_NAMES, isToken } from '../policy/headers.ts'
import { VARY_ACTUAL, VARY_ORIGIN_PREFLIGHT, VARY_PUBLIC_PREFLIGHT, type VaryTokens } from '../policy/vary.ts'
import { makeDecision, type CorsRefusalReason, type Decision } from './decision.ts'

// Browsers send the same few Access-Control-Request-Headers values again and again: the decisions on
// short values are kept per policy, in a cache that is emptied when full, so hostile values cannot grow it.
const CACHED_VALUE_LENGTH = 256
const CACHED_ANSWERS = 256

/**
 * A compiled policy with every decision it can make, made once: requests pick one (see actual.ts and
 * preflight.ts) and allocate nothing. Equal policies share one compiled policy, and so one decider.
 */
export class Decider {
  readonly policy: CompiledPolicy
  readonly actualAllowed: Decision
  /** An origin-dependent policy's answer to a request without `Origin`: no CORS headers, `Vary` still (rules 3 and 4). */
  readonly actualWithoutOrigin: Decision
  readonly actualMalformed: Decision
  readonly actualMethodRefused: Decision
  readonly actualOriginRefused: Decision
  readonly preflightMethodRefused: Decision
  readonly preflightOriginRefused: Decision
  /** A preflight without `Access-Control-Request-Headers`, once method and origin pass. */
  readonly preflightAllowed: Decision
  readonly #repeatedRequestHeaders: Decision
  /** Rule 10: a public policy's preflights do not depend on the origin, so they say no Vary: Origin. */
  readonly #preflightVary: VaryTokens
  readonly #requestHeaders = new Map<string, Decision>()

  constructor (policy: CompiledPolicy) {
    this.policy = policy
    const allowOrigin = policy.isPublic ? '*' : null
    const confirm = policy.originFunction !== null
    const allowCredentials = policy.credentials
    // Rule 4: a public policy's answers do not depend on the origin, so they say no Vary: Origin.
    const vary = policy.isPublic ? null : VARY_ACTUAL
    this.actualAllowed = makeDecision({ allowed: true, confirm, allowOrigin, allowCredentials, exposeHeaders: policy.exposeHeaders, vary })
    this.actualWithoutOrigin = makeDecision({ vary })
    this.actualMalformed = makeDecision({ reason: 'malformed_request', detail: 'the Origin header is repeated', vary })
    this.actualMethodRefused = makeDecision({ reason: 'method_not_allowed', vary })
    this.actualOriginRefused = makeDecision({ reason: 'origin_not_allowed', vary })
    this.#preflightVary = policy.isPublic ? VARY_PUBLIC_PREFLIGHT : VARY_ORIGIN_PREFLIGHT
    this.preflightMethodRefused = this.#refusePreflight('method_not_allowed', null, null)
    this.preflightOriginRefused = this.#refusePreflight('origin_not_allowed', null, null)
    this.preflightAllowed = makeDecision({
      preflight: true, allowed: true, confirm, allowOrigin, allowCredentials, maxAge: policy.maxAge, vary: this.#preflightVary,
    })
    this.#repeatedRequestHeaders = this.#refusePreflight('malformed_request', 'the Access-Control-Request-Headers header is repeated', null)
  }

  /**
   * The decision once the origins function has answered for an allowed decision that asked it to
   * confirm (`decision.confirm`): that decision, or the origin refused. A function that throws,
   * rejects, answers anything but `true` or answers too late has answered no.
   */
  afterOriginFunction (decision: Decision, allowed: boolean): Decision {
    if (allowed) return decision
    return decision.preflight ? this.preflightOriginRefused : this.actualOriginRefused
  }

  /**
   * Rule 9: the decision on the names in Access-Control-Request-Headers, as far as they decide it:
   * allowed with the names to answer (lower case, each once), or why not. Items are comma-separated;
   * spaces and tabs around them, and empty items, are ignored.
   */
  requestHeaders (value: unknown): Decision {
    if (value === undefined) return this.preflightAllowed
    if (typeof value !== 'string') return this.#repeatedRequestHeaders
    if (value.length > CACHED_VALUE_LENGTH) return this.#decideRequestHeaders(value)
    const cache = this.#requestHeaders
    let decision = cache.get(value)
    if (decision === undefined) {
      decision = this.#decideRequestHeaders(value)
      if (cache.size >= CACHED_ANSWERS) cache.clear()
      cache.set(value, decision)
    }
    return decision
  }

  #decideRequestHeaders (value: string): Decision {
    if (value.length > MAX_ACRH_LENGTH) {
      return this.#refusePreflight('malformed_request', `Access-Control-Request-Headers is longer than ${MAX_ACRH_LENGTH} characters`, null)
    }
    const policy = this.policy
    const names: string[] = []
    let count = 0
    let start = 0
    while (start <= value.length) {
      let end = value.indexOf(',', start)
      if (end === -1) end = value.length
      let from = start
      let to = end
      while (from < to && isWhitespace(value.charCodeAt(from))) from++
      while (to > from && isWhitespace(value.charCodeAt(to - 1))) to--
      start = end + 1
      if (from === to) continue
      if (!isToken(value, from, to)) {
        const header = value.slice(from, to)
        return this.#refusePreflight('malformed_request', `${JSON.stringify(header)} in Access-Control-Request-Headers is not a header name`, header)
      }
      if (++count > MAX_ACRH_NAMES) {
        return this.#refusePreflight('malformed_request', `Access-Control-Request-Headers has more than ${MAX_ACRH_NAMES} names`, null)
      }
      const name = value.slice(from, to).toLowerCase()
      // Fetch standard, "CORS-preflight fetch": `*` covers any name but authorization, which is listed by name.
      if (!policy.allowHeaders.has(name) && !(policy.anyHeader && name !== 'authorization')) {
        return this.#refusePreflight('header_not_allowed', name === 'authorization' && policy.anyHeader
          ? "the request header authorization is not allowed: '*' does not cover it, list it by name"
          : `the request header ${name} is not allowed`, name)
      }
      if (!names.includes(name)) names.push(name)
    }
    return names.length === 0 ? this.preflightAllowed : makeDecision({ ...this.preflightAllowed, allowHeaders: names.join(', ') })
  }

  #refusePreflight (reason: CorsRefusalReason, detail: string | null, header: string | null): Decision {
    return makeDecision({ preflight: true, reason, detail, header, vary: this.#preflightVary })
  }
}

function isWhitespace (c: number): boolean {
  return c === 32 || c === 9
}

const deciders = new WeakMap<CompiledPolicy, Decider>()

/** The decider of a compiled policy, made on first use: slots and candidates of one policy share it. */
export function deciderOf (policy: CompiledPolicy): Decider {
  let decider = deciders.get(policy)
  if (decider === undefined) {
    decider = new Decider(policy)
    deciders.set(policy, decider)
  }
  return decider
}
