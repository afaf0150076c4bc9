import type { FastifyRequest } from 'fastify'
import type { CorsRefusalReason, Decision } from '../decision/decision.ts'

/** How observation names the route that decided: its own interface, which the plugin's routes fill. */
export interface ObservedRoute {
  /** `PUT /me`, `not found`. */
  readonly label: string
  /** The policy's name when the route named one (or took a named default); null for inline policies. */
  readonly policyName: string | null
  /** How logs name the policy: `policy "partners"`, `default policy`, `inline policy of route PUT /me`; null without one. */
  readonly policyLabel: string | null
  /** False for the target of a preflight aimed at a route no registration governs: its label holds the request's path. */
  readonly governed: boolean
}

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
 * Logs a refusal at debug on the request's logger, with what was refused and which policy and route
 * decided, so a developer can see why a browser said no. `method` is the request's method, or the
 * preflight's Access-Control-Request-Method; `hint` ends the sentence where the caller knows more.
 */
export function logRefusal (request: FastifyRequest, decision: Decision, route: ObservedRoute | null, method: string, hint = ''): void {
  const reason = decision.reason as CorsRefusalReason
  if (!logsRefusals(request)) return
  const origin = request.headers.origin
  const namesMethod = reason === 'method_not_allowed' || reason === 'no_cors_route_for_method' || reason === 'route_not_cors_enabled'
  const logged: CorsDecision = {
    allowed: false,
    reason,
    detail: {
      message: refusalMessage(decision, reason, request, route, method) + hint,
      origin: typeof origin === 'string' ? origin : null,
      method: namesMethod ? method : null,
      header: decision.header,
      route: route?.label ?? null,
      policy: route?.policyLabel ?? null,
    },
  }
  request.log.debug({ cors: logged }, `CORS refused: ${logged.detail.message}`)
}

function refusalMessage (decision: Decision, reason: CorsRefusalReason, request: FastifyRequest, route: ObservedRoute | null, method: string): string {
  switch (reason) {
    case 'origin_not_allowed': return `the origin ${JSON.stringify(request.headers.origin)} is not allowed`
    case 'method_not_allowed': return `the method ${method} is not in the policy's methods`
    case 'no_cors_route_for_method': return `no route answers ${method} ${request.url}`
    case 'route_not_cors_enabled': return `the route ${(route as ObservedRoute).label} is not CORS-enabled`
    default: return decision.detail as string
  }
}

/** An origins function threw or rejected: logged at error, naming the route that asked and its policy. */
export function logOriginFunctionFailure (request: FastifyRequest, route: ObservedRoute, origin: string, err: unknown): void {
  request.log.error({ err, cors: { reason: 'origin_function_failed', origin, route: route.label, policy: route.policyLabel } },
    `CORS origin function failed for ${route.label}; the origin is treated as not allowed`)
}

/** An origins function did not answer within its policy's originTimeout: logged at error. */
export function logOriginFunctionTimeout (request: FastifyRequest, route: ObservedRoute, origin: string, timeout: number): void {
  request.log.error({ cors: { reason: 'origin_function_timeout', origin, route: route.label, policy: route.policyLabel, timeout } },
    `CORS origin function did not answer within ${timeout} ms (originTimeout) for ${route.label}; the origin is treated as not allowed`)
}
