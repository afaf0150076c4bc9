import type { VaryTokens } from '../policy/vary.ts'

/** Why the plugin said no. One list, used by every log line and event (and kept in step with the docs by a test). */
export const CORS_REFUSAL_REASONS = [
  'origin_not_allowed',
  'method_not_allowed',
  'header_not_allowed',
  'no_cors_route_for_method',
  'route_not_cors_enabled',
  'malformed_request',
  'origin_function_failed',
  'origin_function_timeout',
] as const

export type CorsRefusalReason = typeof CORS_REFUSAL_REASONS[number]

/**
 * What the plugin decided for one request, and what the response carries because of it: the one
 * answer that enforcement writes, and that logs, events, the report-only comparison and the census
 * read. Decisions are made once per policy (and per `Access-Control-Request-Headers` value), then
 * shared, so deciding allocates nothing; what they leave to the request (the `Origin` to echo, the
 * method asked for) the request itself holds.
 */
export interface Decision {
  /** A decision on a preflight (answered 204 or 403), or on an actual request (headers added to its response). */
  readonly preflight: boolean
  readonly allowed: boolean
  /** Why not; null when allowed, and for an actual request without `Origin`, which is no CORS request (rule 3). */
  readonly reason: CorsRefusalReason | null
  /** What a refusal's reason alone does not say (which header, what is malformed); null otherwise. */
  readonly detail: string | null
  /** The refused request header; null otherwise. */
  readonly header: string | null
  /**
   * An allowed decision that stands only if the policy's origins function allows the origin: the one
   * part of a decision that may come later (see `Decider.afterOriginFunction`).
   */
  readonly confirm: boolean
  /** `Access-Control-Allow-Origin` when allowed: `*` for a public policy, null for the request's `Origin` (rule 1). */
  readonly allowOrigin: '*' | null
  readonly allowCredentials: boolean
  /** `Access-Control-Expose-Headers` of an allowed actual request; null for none. */
  readonly exposeHeaders: string | null
  /** `Access-Control-Allow-Headers` of an allowed preflight: the names asked for (rule 10); null for none. */
  readonly allowHeaders: string | null
  /** `Access-Control-Max-Age` of an allowed preflight; null for none. */
  readonly maxAge: string | null
  /** The `Vary` tokens the response carries, allowed or not (rules 4 and 10); null for none. */
  readonly vary: VaryTokens | null
}

const NONE: Decision = Object.freeze({
  preflight: false,
  allowed: false,
  reason: null,
  detail: null,
  header: null,
  confirm: false,
  allowOrigin: null,
  allowCredentials: false,
  exposeHeaders: null,
  allowHeaders: null,
  maxAge: null,
  vary: null,
})

/** A decision with every field it does not set empty: all decisions share one shape, so reading them stays monomorphic. */
export function makeDecision (fields: Partial<Decision>): Decision {
  return Object.freeze({ ...NONE, ...fields })
}
