import { VARY_ORIGIN_PREFLIGHT } from '../policy/vary.ts'
import { isToken } from '../policy/headers.ts'
import type { Decider } from './decider.ts'
import { makeDecision, type Decision } from './decision.ts'

// Fetch standard, "CORS-preflight fetch" and "CORS check": the decision on OPTIONS with Origin and
// Access-Control-Request-Method, which a browser needs before it sends the actual request.

/** Rule 11 where no policy decides: refused, with the Vary of an origin-dependent preflight. */
function refusedWithoutPolicy (reason: Decision['reason'], detail: string | null): Decision {
  return makeDecision({ preflight: true, reason, detail, vary: VARY_ORIGIN_PREFLIGHT })
}

export const PREFLIGHT_MALFORMED = refusedWithoutPolicy('malformed_request', 'the Origin or Access-Control-Request-Method header is repeated or malformed')
/** Rule 12: no route answers the method on this path. */
export const PREFLIGHT_NO_ROUTE = refusedWithoutPolicy('no_cors_route_for_method', null)
/** Rule 12: the route that answers the method has no CORS policy. */
export const PREFLIGHT_NOT_CORS_ENABLED = refusedWithoutPolicy('route_not_cors_enabled', null)

/** Whether `Origin` and `Access-Control-Request-Method` are one value each, and the method an HTTP token. */
export function isWellFormedPreflight (origin: unknown, method: unknown): boolean {
  return typeof origin === 'string' && typeof method === 'string' && isToken(method, 0, method.length)
}

/**
 * Decides a well-formed preflight (see isWellFormedPreflight) by the policy of the route the actual
 * request will hit (rule 8): its method, its request headers as received, its origin. With an origins
 * function, an allowed decision has `confirm` set: the function still has to allow the origin.
 */
export function decidePreflight (decider: Decider, method: string, requestHeaders: unknown, origin: string): Decision {
  const policy = decider.policy
  // Rule 9: the method, then the request headers, then the origin; the first refusal is the reason given.
  if (!policy.allowsMethod(method)) return decider.preflightMethodRefused
  const headers = decider.requestHeaders(requestHeaders)
  if (!headers.allowed) return headers
  return policy.matchesOrigin(origin) ? headers : decider.preflightOriginRefused
}
