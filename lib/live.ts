import { CorsPolicyError, messages, type CorsPolicyProblem } from './errors.ts'
import type { Registration } from './options.ts'
import { checkPolicy, type CorsPolicy } from './policy.ts'
import type { CorsRegistry } from './registry.ts'
import { withSchemaHeaders } from './schema-headers.ts'

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
}

export function livePolicies (registration: Registration, registry: CorsRegistry): CorsPolicies {
  return {
    names: () => [...registration.named.keys()],
    replace (name, policy) {
      const where = 'corsPolicies.replace'
      const slot = registration.named.get(name)
      if (slot === undefined) {
        throw new CorsPolicyError([{ where, path: '', message: messages.unknownName(name, [...registration.named.keys()]) }])
      }
      const label = `policy ${JSON.stringify(name)}`
      const problems: CorsPolicyProblem[] = []
      const checked = checkPolicy(policy, label, problems)
      if (checked === null) throw new CorsPolicyError(problems)
      // A fresh key object: the caller may have changed the very object it registered at startup.
      const compiled = registry.policies.compile({}, checked, label)
      slot.current = compiled
      for (const derived of registry.derivedSlots(slot)) derived.current = withSchemaHeaders(compiled, derived.names, registry.policies)
    },
  }
}
