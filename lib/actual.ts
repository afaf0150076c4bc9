import type { FastifyReply, onSendHookHandler } from 'fastify'
import type { CompiledPolicy, PolicySlot } from './compile.ts'
import { ACAC, ACAO, ACEH } from './headers.ts'
import { logRefusal, logsRefusals } from './log.ts'
import type { CorsRoute } from './registry.ts'

// Fetch standard, "CORS protocol" / "HTTP responses": headers on the response to an actual request.
// They go on in onSend, so thrown errors, validation failures, early replies from other hooks and
// redirects carry them too (rule 7).

/** The `onSend` hook of one CORS-enabled route (or of a scope's not-found handler), whose policy is in `slot`. */
export function actualHook (route: CorsRoute, slot: PolicySlot): onSendHookHandler {
  return function corsActual (request, reply, payload, done) {
    // Read once: a policy replaced while this request runs is seen whole, old or new.
    const policy = slot.current
    // Rule 4: every response of an origin-dependent route says Vary: Origin, allowed or not.
    if (policy.varyActual !== null) policy.varyActual.addTo(reply)
    const origin = request.headers.origin
    // Rule 3: no Origin, no CORS headers.
    if (origin === undefined) return done(null, payload)
    if (typeof origin !== 'string') {
      if (logsRefusals(request)) logRefusal(request, 'malformed_request', route, 'the Origin header is repeated')
      return done(null, payload)
    }
    if (!policy.allowsMethod(request.method)) {
      if (logsRefusals(request)) logRefusal(request, 'method_not_allowed', route, `the method ${request.method} is not in the policy's methods`, { method: request.method })
      return done(null, payload)
    }
    const allowed = policy.allowsOrigin(origin, request)
    if (allowed === true) {
      allow(reply, policy, origin)
      return done(null, payload)
    }
    if (allowed === false) {
      if (logsRefusals(request)) logRefusal(request, 'origin_not_allowed', route, `the origin ${JSON.stringify(origin)} is not allowed`)
      return done(null, payload)
    }
    allowed.then((yes) => {
      if (yes) allow(reply, policy, origin)
      else logRefusal(request, 'origin_not_allowed', route, `the origin ${JSON.stringify(origin)} is not allowed`)
      done(null, payload)
    })
  }
}

/** Rule 1: the allowed origin (or `*`), credentials when the policy has them, the exposed headers. */
export function allow (reply: FastifyReply, policy: CompiledPolicy, origin: string): void {
  reply.header(ACAO, policy.isPublic ? '*' : origin)
  if (policy.credentials) reply.header(ACAC, 'true')
  if (policy.exposeHeaders !== null) reply.header(ACEH, policy.exposeHeaders)
}
