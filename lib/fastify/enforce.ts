import type { FastifyReply } from 'fastify'
import type { Decision } from '../decision/decision.ts'
import { ACAC, ACAH, ACAM, ACAO, ACEH, ACMA, VARY } from '../policy/headers.ts'
import type { VaryTokens } from '../policy/vary.ts'

// Enforcement: a decision written onto the reply, and nothing else decided here.

/** Rules 1, 2 and 4: the headers of an actual request's response; `origin` is the request's `Origin`. */
export function sendActual (reply: FastifyReply, decision: Decision, origin: unknown): void {
  if (decision.vary !== null) addVary(reply, decision.vary)
  if (!decision.allowed) return
  reply.header(ACAO, decision.allowOrigin ?? origin)
  if (decision.allowCredentials) reply.header(ACAC, 'true')
  if (decision.exposeHeaders !== null) reply.header(ACEH, decision.exposeHeaders)
}

/**
 * Rules 10 and 11: the answer to a preflight, 204 with the origin, the requested method and headers
 * and Max-Age when set, or 403 with no Access-Control-Allow-* header; the same Vary either way.
 */
export function sendPreflight (reply: FastifyReply, decision: Decision, origin: string, method: string): void {
  if (decision.allowed) {
    reply.header(ACAO, decision.allowOrigin ?? origin)
    if (decision.allowCredentials) reply.header(ACAC, 'true')
    reply.header(ACAM, method)
    if (decision.allowHeaders !== null) reply.header(ACAH, decision.allowHeaders)
    if (decision.maxAge !== null) reply.header(ACMA, decision.maxAge)
  }
  addVary(reply, decision.vary as VaryTokens)
  reply.code(decision.allowed ? 204 : 403).send()
}

/** Rule 5: merged into the `Vary` the application set, never overwriting it. */
function addVary (reply: FastifyReply, tokens: VaryTokens): void {
  const current = reply.getHeader(VARY)
  if (current === undefined) reply.header(VARY, tokens.value)
  else reply.header(VARY, tokens.mergeInto(Array.isArray(current) ? current.join(', ') : String(current)))
}
