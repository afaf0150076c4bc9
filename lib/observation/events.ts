import { channel } from 'node:diagnostics_channel'
import type { FastifyRequest } from 'fastify'
import type { CorsRefusalReason, Decision } from '../decision/decision.ts'
import type { ObservedRoute } from './log.ts'

/** The `node:diagnostics_channel` channel on which every CORS decision is published. */
export const CORS_DECISION_CHANNEL = 'fastify-cors-policy:decision'

/**
 * One decision, as published on `CORS_DECISION_CHANNEL`: a request with an `Origin`, a preflight or
 * an actual request, allowed or refused. Label metrics with `route`, `allowed`, `reason`,
 * `preflight`, `policy` and `reportOnly`, never with `origin` or `url`: whoever sends the request
 * chooses those, and so the number of series.
 */
export interface CorsDecisionEvent {
  /** The route that decided, as `GET /users/:id` (a preflight: the route of its actual request); `not found` for a scope's not-found handler; null when no route the plugin governs could decide. */
  readonly route: string | null
  /** The request's URL, query included. */
  readonly url: string
  /** The `Origin` header as received (repeated values joined by `, `). */
  readonly origin: string
  readonly preflight: boolean
  readonly allowed: boolean
  /** Why it was refused; null when allowed. */
  readonly reason: CorsRefusalReason | null
  /** The policy's name; null for an inline policy, or when no policy decided. */
  readonly policy: string | null
  /** False for the enforced policy's decision; true for a report-only candidate's that disagrees with it. */
  readonly reportOnly: boolean
}

// Created once: `hasSubscribers` is then a field read, and nothing is built while nobody listens.
export const decisionChannel = channel(CORS_DECISION_CHANNEL)

/** Publishes a decision; callers check `decisionChannel.hasSubscribers` first. */
export function publishDecision (request: FastifyRequest, route: ObservedRoute | null, origin: unknown, decision: Decision, reportOnly: boolean): void {
  const event: CorsDecisionEvent = {
    // Taken from the routes declared, never from the request (a route no registration governs has the request's path).
    route: route !== null && route.governed ? route.label : null,
    url: request.url,
    origin: originOf(origin),
    preflight: decision.preflight,
    allowed: decision.allowed,
    reason: decision.reason,
    policy: route?.policyName ?? null,
    reportOnly,
  }
  decisionChannel.publish(event)
}

/** The Origin header as one string: Node joins a repeated header, `inject` may hand over an array. */
export function originOf (origin: unknown): string {
  return Array.isArray(origin) ? origin.join(', ') : String(origin)
}
