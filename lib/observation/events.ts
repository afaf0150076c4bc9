import { channel } from 'node:diagnostics_channel'
import type { FastifyRequest } from 'fastify'
import type { CorsRefusalReason } from './log.ts'
import type { CorsRoute } from '../fastify/registry.ts'

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
export function publishDecision (
  request: FastifyRequest,
  route: CorsRoute | null,
  origin: unknown,
  preflight: boolean,
  reason: CorsRefusalReason | null,
  reportOnly: boolean
): void {
  const event: CorsDecisionEvent = {
    route: routeName(route),
    url: request.url,
    origin: originOf(origin),
    preflight,
    allowed: reason === null,
    reason,
    policy: route?.policyName ?? null,
    reportOnly,
  }
  decisionChannel.publish(event)
}

/** The Origin header as one string: Node joins a repeated header, `inject` may hand over an array. */
export function originOf (origin: unknown): string {
  return Array.isArray(origin) ? origin.join(', ') : String(origin)
}

/** A route's name for events and metrics: taken from the routes declared, never from the request. */
function routeName (route: CorsRoute | null): string | null {
  if (route === null) return null
  // A preflight aimed at a route no registration governs: its label carries the request's path.
  if (route.slot === null && route.label !== `${route.methods.join(',')} ${route.url}`) return null
  return route.label
}
