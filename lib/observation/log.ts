import type { FastifyRequest } from 'fastify'
import type { CorsRoute } from '../fastify/registry.ts'

/** Why the plugin said no. One list, used by every log line (and kept in step with the README by a test). */
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

/** A decision of the plugin, as its log lines carry it: nothing downstream parses log text. */
export interface CorsDecision {
  allowed: boolean
  reason: CorsRefusalReason | 'allowed'
  detail: {
    /** The decision in a sentence. */
    message: string
    origin: string | null
    /** The refused method (the request's, or the preflight's Access-Control-Request-Method). */
    method: string | null
    /** The refused request header, for header_not_allowed and malformed names. */
    header: string | null
    /** The route that decided (`PUT /me`, `not found`), null when no route could. */
    route: string | null
    /** The policy as the route names it: `policy "partners"`, `default policy`, `inline policy of route PUT /me`. */
    policy: string | null
  }
}

/**
 * Whether refusals would be logged, so that refused requests build no message when they are not:
 * pino answers isLevelEnabled; a logger without it (Fastify's disabled one) has one no-op function
 * for every level below its own, so debug then is trace.
 */
export function logsRefusals (request: FastifyRequest): boolean {
  const log = request.log as FastifyRequest['log'] & { isLevelEnabled?: (level: string) => boolean }
  return typeof log.isLevelEnabled === 'function' ? log.isLevelEnabled('debug') : log.debug !== log.trace
}

/**
 * Every refusal goes to the request's logger at debug, with what was refused and which policy and
 * route decided, so a developer can see why a browser said no.
 */
export function logRefusal (
  request: FastifyRequest,
  reason: CorsRefusalReason,
  route: CorsRoute | null,
  message: string,
  subject: { method?: string, header?: string } = {}
): void {
  if (!logsRefusals(request)) return
  const origin = request.headers.origin
  const decision: CorsDecision = {
    allowed: false,
    reason,
    detail: {
      message,
      origin: typeof origin === 'string' ? origin : null,
      method: subject.method ?? null,
      header: subject.header ?? null,
      route: route?.label ?? null,
      policy: route?.policyLabel ?? null,
    },
  }
  request.log.debug({ cors: decision }, `CORS refused: ${message}`)
}
