import type { Decider } from './decider.ts'
import type { Decision } from './decision.ts'

// Fetch standard, "CORS protocol" / "HTTP responses": the decision on an actual request (anything
// but a preflight, plain OPTIONS included), from what it carries. Enforcement adds the decision's
// headers to the response, whatever its status (rule 7).

/**
 * Decides an actual request with `method` and the `Origin` header as received (undefined when absent,
 * an array when `inject` repeats it). With an origins function, an allowed decision has `confirm` set:
 * the function still has to allow the origin.
 */
export function decideActual (decider: Decider, method: string, origin: unknown): Decision {
  const policy = decider.policy
  // "CORS protocol and HTTP caches": a public policy answers every request alike (rule 3), with or
  // without Origin, whatever it holds, so that a cached response suits every later request. A method
  // outside `methods` gets nothing (rule 2): that answer depends on the method, which caches key on anyway.
  if (policy.isPublic) return policy.allowsMethod(method) ? decider.actualAllowed : decider.actualMethodRefused
  // Rule 3: no Origin, no CORS request; rule 4: Vary: Origin all the same.
  if (origin === undefined) return decider.actualWithoutOrigin
  if (typeof origin !== 'string') return decider.actualMalformed
  if (!policy.allowsMethod(method)) return decider.actualMethodRefused
  return policy.matchesOrigin(origin) ? decider.actualAllowed : decider.actualOriginRefused
}
