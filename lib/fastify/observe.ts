import type { FastifyRequest } from 'fastify'
import { decideActual } from '../decision/actual.ts'
import type { Decision } from '../decision/decision.ts'
import { decidePreflight } from '../decision/preflight.ts'
import { ACRH } from '../policy/headers.ts'
import { decisionChannel, publishDecision } from '../observation/events.ts'
import { logRefusal, type ObservedRoute } from '../observation/log.ts'
import { compareDecisions, type SlotWatch } from '../observation/report-only.ts'
import { askOriginFunction } from './origin-function.ts'

/**
 * Hands the decision made on a CORS request to observation: a refusal to the log, the decision to
 * the channel's subscribers, and, where the route's policy is watched, the candidate's decision on the
 * same request (made by the same functions) and the census. `method` is the request's, or the
 * preflight's Access-Control-Request-Method; `hint` ends a refusal's log sentence.
 *
 * Callers ask isObserved first, so that an allowed request with no watch and no subscriber makes no call.
 */
export function observe (
  request: FastifyRequest, route: ObservedRoute | null, watch: SlotWatch | null, origin: unknown, method: string, enforced: Decision, hint?: string
): void {
  if (!enforced.allowed) logRefusal(request, enforced, route, method, hint)
  if (decisionChannel.hasSubscribers) publishDecision(request, route, origin, enforced, false)
  // A watch is only ever on a route with a policy.
  if (watch === null) return
  const governing = route as ObservedRoute
  const candidate = watch.candidate
  if (candidate === null) return compareDecisions(request, governing, watch, origin, enforced, null)
  const judged = enforced.preflight
    ? decidePreflight(candidate, method, request.headers[ACRH], origin as string)
    : decideActual(candidate, method, origin)
  if (!judged.confirm) return compareDecisions(request, governing, watch, origin, enforced, judged)
  const allowed = askOriginFunction(candidate.policy, origin as string, request, governing)
  if (typeof allowed === 'boolean') return compareDecisions(request, governing, watch, origin, enforced, candidate.afterOriginFunction(judged, allowed))
  allowed.then((yes) => { compareDecisions(request, governing, watch, origin, enforced, candidate.afterOriginFunction(judged, yes)) })
}

/** Whether observe has anything to do with a decision: a refusal to log, a watch, or a subscriber. */
export function isObserved (decision: Decision, watch: SlotWatch | null): boolean {
  return !decision.allowed || watch !== null || decisionChannel.hasSubscribers
}
