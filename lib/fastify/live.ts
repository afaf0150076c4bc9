import { deciderOf, type Decider } from '../decision/decider.ts'
import { CorsPolicyError, messages, type CorsPolicyProblem } from '../policy/errors.ts'
import { checkPolicy, type CorsPolicy } from '../policy/policy.ts'
import { withSchemaHeaders } from '../policy/schema-headers.ts'
import type { CorsCensus } from '../observation/census.ts'
import { candidateLabel, type CorsDeclaredPolicy, type Registration } from './options.ts'
import type { CorsRegistry } from './registry.ts'
import type { PolicySlot } from './slot.ts'
import type { Watches } from './watches.ts'

/** `app.corsPolicies`: the named policies of the registration that governs a scope, replaceable while the app runs. */
export interface CorsPolicies {
  /** The names this registration declared. */
  names: () => string[]
  /**
   * Validates a new version of a named policy and swaps it in for every route that names it. The next
   * request sees the whole new policy; one in flight sees the whole old one. An invalid policy throws a
   * `CorsPolicyError` and the old one stays.
   */
  replace: (name: string, policy: CorsPolicy) => void
  /**
   * Validates a policy and attaches it to a named policy as its report-only candidate (replacing any
   * earlier one): every request the named policy governs is judged by both, the response follows the
   * enforced one, and each disagreement is logged at warn and published with `reportOnly: true`.
   * An invalid candidate throws a `CorsPolicyError` and the earlier candidate stays.
   */
  tryCandidate: (name: string, policy: CorsPolicy) => void
  /** Detaches a named policy's report-only candidate; nothing happens when it has none. */
  clearCandidate: (name: string) => void
  /** The names whose policy has a report-only candidate attached. */
  candidates: () => string[]
  /**
   * Enforces a named policy's candidate: the next request sees it as the policy (as `replace` would),
   * and the candidate is detached. Throws a `CorsPolicyError` when the policy has no candidate.
   */
  promote: (name: string) => void
  /**
   * What the code declared for a named policy, whatever `replace`, `tryCandidate` or `promote` did
   * since: the policy given under `policies` and its `reportOnly` candidate (null when it has none),
   * the very objects passed to the plugin. A store that overrides policies uses it to go back to them.
   * Throws a `CorsPolicyError` for a name the registration did not declare.
   */
  declared: (name: string) => CorsDeclaredPolicy
  /** The origins each policy has seen, with counts and decisions; null when the `census` option is off. */
  census: () => CorsCensus | null
}

export function livePolicies (registration: Registration, registry: CorsRegistry, watches: Watches): CorsPolicies {
  const slotOf = (name: string, where: string): PolicySlot => {
    const slot = registration.named.get(name)
    if (slot === undefined) {
      throw new CorsPolicyError([{ where, path: '', message: messages.unknownName(name, [...registration.named.keys()]) }])
    }
    return slot
  }
  const check = (policy: CorsPolicy, label: string): Decider => {
    const problems: CorsPolicyProblem[] = []
    const checked = checkPolicy(policy, label, problems)
    if (checked === null) throw new CorsPolicyError(problems)
    // A fresh key object: the caller may have changed the very object it registered at startup.
    return deciderOf(registry.policies.compile({}, checked, label))
  }
  const enforce = (slot: PolicySlot, decider: Decider): void => {
    slot.current = decider
    for (const derived of registry.derivedSlots(slot)) derived.current = deciderOf(withSchemaHeaders(decider.policy, derived.names, registry.policies))
  }
  return {
    names: () => [...registration.named.keys()],
    replace (name, policy) {
      const slot = slotOf(name, 'corsPolicies.replace')
      enforce(slot, check(policy, `policy ${JSON.stringify(name)}`))
    },
    tryCandidate (name, policy) {
      slotOf(name, 'corsPolicies.tryCandidate')
      watches.setCandidate(name, check(policy, candidateLabel(name)))
    },
    clearCandidate (name) {
      slotOf(name, 'corsPolicies.clearCandidate')
      watches.setCandidate(name, null)
    },
    candidates: () => [...registration.named.keys()].filter((name) => watches.candidate(name) !== null),
    promote (name) {
      const where = 'corsPolicies.promote'
      const slot = slotOf(name, where)
      const candidate = watches.candidate(name)
      if (candidate === null) {
        throw new CorsPolicyError([{ where, path: '', message: `policy ${JSON.stringify(name)} has no report-only candidate to promote; attach one with tryCandidate or the reportOnly option` }])
      }
      enforce(slot, candidate)
      watches.setCandidate(name, null)
    },
    declared (name) {
      slotOf(name, 'corsPolicies.declared')
      return registration.declared.get(name) as CorsDeclaredPolicy
    },
    census: () => watches.census?.report() ?? null,
  }
}
