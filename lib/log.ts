import type { FastifyRequest } from 'fastify'
import type { CorsRoute } from './registry.ts'

/** Why the plugin said no. One list, used by every log line. */
export type CorsRefusalReason =
  | 'origin_not_allowed'
  | 'method_not_allowed'
  | 'header_not_allowed'
  | 'no_cors_route_for_method'
  | 'route_not_cors_enabled'
  | 'malformed_request'
  | 'origin_function_failed'

/**
 * Every refusal goes to the request's logger at debug, with what was refused and which policy and
 * route decided, so a developer can see why a browser said no.
 */
export function logRefusal (request: FastifyRequest, reason: CorsRefusalReason, route: CorsRoute | null, detail: string): void {
  request.log.debug({
    cors: {
      reason,
      detail,
      origin: request.headers.origin,
      route: route?.label ?? null,
      policy: route?.policyLabel ?? null,
    },
  }, `CORS refused: ${detail}`)
}
