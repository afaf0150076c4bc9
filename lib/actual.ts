import type { FastifyReply, onSendHookHandler } from 'fastify'
import type { CompiledPolicy, PolicySlot } from './compile.ts'
import { decisionChannel } from './events.ts'
import { ACAC, ACAO, ACEH } from './headers.ts'
import { logRefusal, logsRefusals } from './log.ts'
import type { CorsRoute } from './registry.ts'
import { observeActual } from './report-only.ts'

// Fetch standard, "CORS protocol" / "HTTP responses": headers on the response to an actual request.
// They go on in onSend, so thrown errors, validation failures, early replies from other hooks and
// redirects carry them too (rule 7).

/** The answer of an origin function this reply is waiting for: a later send of the same reply supersedes it. */
const kAwaited = Symbol('fastify-cors-policy.awaited')

type AwaitingReply = FastifyReply & { [kAwaited]?: Promise<boolean> }

/** A CORS-enabled route, or a scope's not-found handler, with the slot of its policy. */
export type ActualRoute = CorsRoute & { readonly slot: PolicySlot }

/**
 * The `onSend` hook of one CORS-enabled route (or of a scope's not-found handler), whose policy is in
 * `route.slot`. Every route keeps one, thousands in a large app: the one function bound to each route
 * takes half the heap of a closure and its context.
 */
export function actualHook (route: ActualRoute): onSendHookHandler {
  return corsActual.bind(route)
}

const corsActual = function corsActual (this: ActualRoute, request, reply, payload, done) {
  const route = this
  const slot = route.slot
  // Read once: a policy replaced while this request runs is seen whole, old or new; so is its watch
  // (a report-only candidate, the census), null while neither is on.
  const policy = slot.current
  const watch = slot.watch
  const origin = request.headers.origin
  // Fetch standard, "CORS protocol and HTTP caches": a public policy answers every request the
  // same (rule 3), with or without Origin, whatever it holds, so a cached response suits every
  // later request; it adds no Vary: Origin (rule 4). A method outside `methods` gets nothing
  // (rule 2): that answer depends on the method only, which caches key on anyway.
  if (policy.isPublic) {
    const allowed = policy.allowsMethod(request.method)
    if (allowed) allow(reply, policy, '*')
    // Rule 3: without Origin, not a CORS request: nothing to log, count or publish.
    if (origin === undefined) return done(null, payload)
    if (!allowed && logsRefusals(request)) logRefusal(request, 'method_not_allowed', route, `the method ${request.method} is not in the policy's methods`, { method: request.method })
    if (watch != null || decisionChannel.hasSubscribers) observeActual(request, route, watch, origin, allowed ? null : 'method_not_allowed')
    return done(null, payload)
  }
  // Rule 4: every response of an origin-dependent route says Vary: Origin, allowed or not.
  policy.varyActual.addTo(reply)
  // Rule 3: no Origin, no CORS headers.
  if (origin === undefined) return done(null, payload)
  if (typeof origin !== 'string') {
    if (logsRefusals(request)) logRefusal(request, 'malformed_request', route, 'the Origin header is repeated')
    if (watch != null || decisionChannel.hasSubscribers) observeActual(request, route, watch, origin, 'malformed_request')
    return done(null, payload)
  }
  if (!policy.allowsMethod(request.method)) {
    if (logsRefusals(request)) logRefusal(request, 'method_not_allowed', route, `the method ${request.method} is not in the policy's methods`, { method: request.method })
    if (watch != null || decisionChannel.hasSubscribers) observeActual(request, route, watch, origin, 'method_not_allowed')
    return done(null, payload)
  }
  const allowed = policy.allowsOrigin(origin, request, route)
  if (allowed === true) {
    allow(reply, policy, origin)
    if (watch != null || decisionChannel.hasSubscribers) observeActual(request, route, watch, origin, null)
    return done(null, payload)
  }
  if (allowed === false) {
    if (logsRefusals(request)) logRefusal(request, 'origin_not_allowed', route, `the origin ${JSON.stringify(origin)} is not allowed`)
    if (watch != null || decisionChannel.hasSubscribers) observeActual(request, route, watch, origin, 'origin_not_allowed')
    return done(null, payload)
  }
  // An origin function answers later. The promise goes back to Fastify's hook runner, so what
  // follows (the other onSend hooks, writing the response) fails into Fastify's error handling
  // like any hook error, never into an unhandled rejection.
  const waiting = reply as AwaitingReply
  waiting[kAwaited] = allowed
  return allowed.then((yes) => {
    // The reply went out meanwhile (a handlerTimeout 503), or a later send of it (the 503 on its
    // way) took over: this answer is for a response that will never be written. Leave it alone:
    // the runner then waits on a promise that never settles, and it is collected with the request.
    if (reply.sent || waiting[kAwaited] !== allowed) return new Promise<never>(abandon)
    if (yes) allow(reply, policy, origin)
    else logRefusal(request, 'origin_not_allowed', route, `the origin ${JSON.stringify(origin)} is not allowed`)
    if (watch != null || decisionChannel.hasSubscribers) observeActual(request, route, watch, origin, yes ? null : 'origin_not_allowed')
    return payload
  })
} as (this: ActualRoute, ...args: Parameters<onSendHookHandler>) => ReturnType<onSendHookHandler>

function abandon (): void {}

/** Rule 1: the allowed origin (or `*`), credentials when the policy has them, the exposed headers. */
export function allow (reply: FastifyReply, policy: CompiledPolicy, origin: string): void {
  reply.header(ACAO, policy.isPublic ? '*' : origin)
  if (policy.credentials) reply.header(ACAC, 'true')
  if (policy.exposeHeaders !== null) reply.header(ACEH, policy.exposeHeaders)
}
