import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Decider } from '../decision/decider.ts'
import type { Decision } from '../decision/decision.ts'
import { PREFLIGHT_MALFORMED, PREFLIGHT_NO_ROUTE, PREFLIGHT_NOT_CORS_ENABLED, decidePreflight, isWellFormedPreflight } from '../decision/preflight.ts'
import { ACRH } from '../policy/headers.ts'
import { logsRefusals } from '../observation/log.ts'
import type { SlotWatch } from '../observation/report-only.ts'
import { sendPreflight } from './enforce.ts'
import { isObserved, observe } from './observe.ts'
import { askOriginFunction } from './origin-function.ts'
import type { CorsRegistry, CorsRoute } from './registry.ts'

// Fetch standard, "method normalize": browsers upper-case only these; any other method goes out as written.
const NORMALIZED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'])

/**
 * Answers a preflight on a path the plugin generated an OPTIONS route for. Sends the reply itself;
 * when an origin function answers later, returns a promise for the onRequest hook to return.
 */
export function answerPreflight (registry: CorsRegistry, request: FastifyRequest, reply: FastifyReply, origin: unknown, method: unknown): void | Promise<unknown> {
  if (!isWellFormedPreflight(origin, method)) return finish(PREFLIGHT_MALFORMED, null, null, request, reply, '', '')
  const allowOrigin = origin as string
  const requested = method as string
  // Rule 8: the route that the actual request will hit decides. The application's router, with the
  // same options, has already routed this URL here; a URL it cannot route never reaches this hook.
  const target = registry.findTarget(requested, request.url, request.headers.host, request.server)
  if (target === null) {
    const hint = logsRefusals(request) ? caseHint(registry, requested) : ''
    return finish(PREFLIGHT_NO_ROUTE, null, null, request, reply, allowOrigin, requested, hint)
  }
  // Read once: a policy replaced while this preflight runs is seen whole, old or new; so is its watch
  // (a report-only candidate, the census), null while neither is on.
  const slot = target.slot
  if (slot === null) return finish(PREFLIGHT_NOT_CORS_ENABLED, target, null, request, reply, allowOrigin, requested)
  const decider = slot.current
  const watch = slot.watch
  const decision = decidePreflight(decider, requested, request.headers[ACRH], allowOrigin)
  if (!decision.confirm) return finish(decision, target, watch, request, reply, allowOrigin, requested)
  const allowed = askOriginFunction(decider.policy, allowOrigin, request, target)
  if (typeof allowed === 'boolean') return finish(decider.afterOriginFunction(decision, allowed), target, watch, request, reply, allowOrigin, requested)
  // The hook returns this promise to Fastify's hook runner: an error in sending reaches Fastify's
  // error handling, and the runner moves on only once the answer is out, so it then skips the
  // onRequest hooks added after the plugin (rule 13), as it skips them after a synchronous answer.
  return allowed.then((yes) => afterAnswer(decider, decision, yes, target, watch, request, reply, allowOrigin, requested))
}

function afterAnswer (
  decider: Decider, decision: Decision, yes: boolean, target: CorsRoute, watch: SlotWatch | null,
  request: FastifyRequest, reply: FastifyReply, origin: string, method: string
): FastifyReply | undefined {
  // Already answered meanwhile (a handlerTimeout 503): leave that reply alone.
  if (reply.sent) return undefined
  finish(decider.afterOriginFunction(decision, yes), target, watch, request, reply, origin, method)
  // A reply is a thenable that settles when the response has been written (Fastify's own idiom for
  // "return reply" from an async hook), even when later onSend hooks take their time.
  return reply
}

function finish (
  decision: Decision, target: CorsRoute | null, watch: SlotWatch | null,
  request: FastifyRequest, reply: FastifyReply, origin: string, method: string, hint?: string
): void {
  if (isObserved(decision, watch)) {
    observe(request, target, watch, request.headers.origin, method, decision, hint)
  }
  sendPreflight(reply, decision, origin, method)
}

/** Rule 8's hint: a method written in lower case that browsers send as written, where its upper case has routes. */
function caseHint (registry: CorsRegistry, method: string): string {
  const upper = method.toUpperCase()
  return upper !== method && registry.hasMethod(upper) && !NORMALIZED_METHODS.has(upper)
    ? `; browsers send ${JSON.stringify(method)} as written (they upper-case only DELETE GET HEAD OPTIONS POST PUT): write ${JSON.stringify(upper)} in the page's fetch`
    : ''
}
