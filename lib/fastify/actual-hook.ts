import type { FastifyReply, FastifyRequest, onSendHookHandler } from 'fastify'
import { decideActual } from '../decision/actual.ts'
import type { Decider } from '../decision/decider.ts'
import type { Decision } from '../decision/decision.ts'
import type { SlotWatch } from '../observation/report-only.ts'
import { sendActual } from './enforce.ts'
import { isObserved, observe } from './observe.ts'
import { askOriginFunction } from './origin-function.ts'
import type { CorsRoute } from './registry.ts'
import type { PolicySlot } from './slot.ts'

// Actual requests: the headers go on in onSend, so thrown errors, validation failures, early replies
// from other hooks and redirects carry them too (rule 7).

/** The answer of an origin function this reply is waiting for: a later send of the same reply supersedes it. */
const kAwaited = Symbol('fastify-cors-policy.awaited')

type AwaitingReply = FastifyReply & { [kAwaited]?: Promise<boolean> }

/** A CORS-enabled route, or a scope's not-found handler, with the slot of its policy. */
export type ActualRoute = CorsRoute & { readonly slot: PolicySlot }

/**
 * The `onSend` hook of one CORS-enabled route (or of a scope's not-found handler), whose policy is in
 * `route.slot`. Every route keeps one, thousands in a large app: one function bound to each route
 * takes half the heap of a closure and its context.
 */
export function actualHook (route: ActualRoute): onSendHookHandler {
  return corsActual.bind(route)
}

const corsActual = function corsActual (this: ActualRoute, request, reply, payload, done) {
  const route = this
  // Read once: a policy replaced while this request runs is seen whole, old or new; so is its watch
  // (a report-only candidate, the census), null while neither is on.
  const slot = route.slot
  const decider = slot.current
  const watch = slot.watch
  const origin = request.headers.origin
  let decision = decideActual(decider, request.method, origin)
  if (decision.confirm) {
    const allowed = askOriginFunction(decider.policy, origin as string, request, route)
    if (typeof allowed !== 'boolean') return afterAnswer(allowed, decider, decision, route, watch, request, reply, payload, origin)
    decision = decider.afterOriginFunction(decision, allowed)
  }
  finish(decision, route, watch, request, reply, origin)
  return done(null, payload)
} as (this: ActualRoute, ...args: Parameters<onSendHookHandler>) => ReturnType<onSendHookHandler>

function finish (decision: Decision, route: CorsRoute, watch: SlotWatch | null, request: FastifyRequest, reply: FastifyReply, origin: unknown): void {
  sendActual(reply, decision, origin)
  // Rule 3: without Origin, no CORS request: nothing to log, count or publish.
  if (origin !== undefined && isObserved(decision, watch)) {
    observe(request, route, watch, origin, request.method, decision)
  }
}

/**
 * The origins function answers later. The promise goes back to Fastify's hook runner, so what
 * follows (the other onSend hooks, writing the response) fails into Fastify's error handling like any
 * hook error, never into an unhandled rejection.
 */
function afterAnswer (
  allowed: Promise<boolean>, decider: Decider, decision: Decision, route: CorsRoute, watch: SlotWatch | null,
  request: FastifyRequest, reply: FastifyReply, payload: unknown, origin: unknown
): Promise<unknown> {
  const waiting = reply as AwaitingReply
  waiting[kAwaited] = allowed
  return allowed.then((yes) => {
    // The reply went out meanwhile (a handlerTimeout 503), or a later send of it (the 503 on its
    // way) took over: this answer is for a response that will never be written. Leave it alone:
    // the runner then waits on a promise that never settles, and it is collected with the request.
    if (reply.sent || waiting[kAwaited] !== allowed) return new Promise<never>(abandon)
    finish(decider.afterOriginFunction(decision, yes), route, watch, request, reply, origin)
    return payload
  })
}

function abandon (): void {}
