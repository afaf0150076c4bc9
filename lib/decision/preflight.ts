import type { FastifyReply, FastifyRequest } from 'fastify'
import type { CompiledPolicy } from '../policy/compile.ts'
import { decisionChannel, publishDecision } from '../observation/events.ts'
import { ACAC, ACAH, ACAM, ACAO, ACMA, ACRH, ACRM, MAX_ACRH_LENGTH, MAX_ACRH_NAMES, ORIGIN, VARY_PREFLIGHT_WITH_ORIGIN, isToken } from '../policy/headers.ts'
import { logRefusal, type CorsRefusalReason } from '../observation/log.ts'
import type { CorsRegistry, CorsRoute } from '../fastify/registry.ts'
import { observePreflight, type SlotWatch } from '../observation/report-only.ts'
import { VaryTokens } from '../policy/vary.ts'

// Fetch standard, "CORS-preflight fetch" and "CORS check": what a browser needs to see in the
// answer to OPTIONS with Origin and Access-Control-Request-Method before it sends the actual request.

const varyWhenNoPolicy = new VaryTokens(VARY_PREFLIGHT_WITH_ORIGIN)

// Fetch standard, "method normalize": browsers upper-case only these; any other method goes out as written.
const NORMALIZED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'])

/**
 * Answers a preflight on a path the plugin generated an OPTIONS route for. Sends the reply itself;
 * when an origin function answers later, returns a promise for the onRequest hook to return.
 */
export function answerPreflight (registry: CorsRegistry, request: FastifyRequest, reply: FastifyReply, origin: unknown, method: unknown): void | Promise<unknown> {
  if (typeof origin !== 'string' || typeof method !== 'string' || !isToken(method, 0, method.length)) {
    return refuse(request, reply, null, undefined, null, 'malformed_request', 'the Origin or Access-Control-Request-Method header is repeated or malformed')
  }
  // Rule 8: the route that the actual request will hit decides. The application's router, with the
  // same options, has already routed this URL here; a URL it cannot route never reaches this hook.
  const target = registry.findTarget(method, request.url, request.headers.host, request.server)
  if (target === null) {
    const upper = method.toUpperCase()
    const hint = upper !== method && registry.hasMethod(upper) && !NORMALIZED_METHODS.has(upper)
      ? `; browsers send ${JSON.stringify(method)} as written (they upper-case only DELETE GET HEAD OPTIONS POST PUT): write ${JSON.stringify(upper)} in the page's fetch`
      : ''
    return refuse(request, reply, null, undefined, null, 'no_cors_route_for_method', `no route answers ${method} ${request.url}${hint}`, { method })
  }
  // Read once: a policy replaced while this preflight runs is seen whole, old or new; so is its watch
  // (a report-only candidate, the census), null while neither is on.
  const policy = target.slot?.current
  const watch = target.slot?.watch
  if (policy === undefined) {
    return refuse(request, reply, target, policy, null, 'route_not_cors_enabled', `the route ${target.label} is not CORS-enabled`, { method })
  }
  if (!policy.allowsMethod(method)) {
    return refuse(request, reply, target, policy, watch, 'method_not_allowed', `the method ${method} is not in the policy's methods`, { method })
  }
  const allowHeaders = checkRequestHeaders(request.headers[ACRH], policy)
  if (allowHeaders instanceof Refusal) {
    return refuse(request, reply, target, policy, watch, allowHeaders.reason, allowHeaders.detail, { header: allowHeaders.header })
  }

  const allowed = policy.allowsOrigin(origin, request, target)
  if (allowed === true) return accept(request, reply, target, policy, watch, origin, method, allowHeaders)
  if (allowed === false) return refuseOrigin(request, reply, target, policy, watch, origin)
  // An origin function answers later. The hook returns this promise to Fastify's hook runner: an
  // error in sending reaches Fastify's error handling, and the runner moves on only once the answer
  // is out, so it then skips the onRequest hooks added after the plugin (rule 13), as it skips them
  // after a synchronous answer.
  return allowed.then((yes) => {
    // Already answered meanwhile (a handlerTimeout 503): leave that reply alone.
    if (reply.sent) return undefined
    if (yes) accept(request, reply, target, policy, watch, origin, method, allowHeaders)
    else refuseOrigin(request, reply, target, policy, watch, origin)
    // A reply is a thenable that settles when the response has been written (Fastify's own idiom
    // for "return reply" from an async hook), even when later onSend hooks take their time.
    return reply
  })
}

/** Rule 10: 204, the origin, the requested method and headers, Max-Age when set. */
function accept (
  request: FastifyRequest, reply: FastifyReply, target: CorsRoute, policy: CompiledPolicy, watch: SlotWatch | null | undefined,
  origin: string, method: string, allowHeaders: string
): void {
  if (watch != null || decisionChannel.hasSubscribers) observePreflight(request, target, watch, origin, method, null)
  reply.header(ACAO, policy.isPublic ? '*' : origin)
  if (policy.credentials) reply.header(ACAC, 'true')
  reply.header(ACAM, method)
  if (allowHeaders !== '') reply.header(ACAH, allowHeaders)
  if (policy.maxAge !== null) reply.header(ACMA, policy.maxAge)
  policy.varyPreflight.addTo(reply)
  reply.code(204).send()
}

function refuseOrigin (request: FastifyRequest, reply: FastifyReply, target: CorsRoute, policy: CompiledPolicy, watch: SlotWatch | null | undefined, origin: string): void {
  refuse(request, reply, target, policy, watch, 'origin_not_allowed', `the origin ${JSON.stringify(origin)} is not allowed`)
}

/** Rule 11: 403, empty body, no Access-Control-Allow-* header, the same Vary as an accepted preflight. */
function refuse (
  request: FastifyRequest,
  reply: FastifyReply,
  target: CorsRoute | null,
  policy: CompiledPolicy | undefined,
  watch: SlotWatch | null | undefined,
  reason: CorsRefusalReason,
  message: string,
  subject?: { method?: string, header?: string }
): void {
  logRefusal(request, reason, target, message, subject)
  if (policy !== undefined) {
    // A route with a policy decided: Origin and Access-Control-Request-Method were well-formed.
    if (watch != null || decisionChannel.hasSubscribers) observePreflight(request, target as CorsRoute, watch, request.headers[ORIGIN] as string, request.headers[ACRM] as string, reason)
  } else if (decisionChannel.hasSubscribers) {
    publishDecision(request, target, request.headers[ORIGIN], true, reason, false)
  }
  ;(policy?.varyPreflight ?? varyWhenNoPolicy).addTo(reply)
  reply.code(403).send()
}

class Refusal {
  constructor (readonly reason: CorsRefusalReason, readonly detail: string, readonly header?: string) {}
}

// Browsers send the same few Access-Control-Request-Headers values again and again: answers to
// short values are kept per policy, in a cache that is emptied when full, so hostile values cannot grow it.
const CACHED_VALUE_LENGTH = 256
const CACHED_ANSWERS = 256
const answers = new WeakMap<CompiledPolicy, Map<string, string | Refusal>>()

/**
 * Rule 9: the names in Access-Control-Request-Headers, lower case and each once, joined for
 * Access-Control-Allow-Headers; or why they are refused. Items are comma-separated, spaces and tabs
 * around them and empty items are ignored.
 */
export function checkRequestHeaders (value: unknown, policy: CompiledPolicy): string | Refusal {
  if (value === undefined) return ''
  if (typeof value !== 'string') return new Refusal('malformed_request', 'the Access-Control-Request-Headers header is repeated')
  if (value.length > CACHED_VALUE_LENGTH) return parseRequestHeaders(value, policy)
  let cache = answers.get(policy)
  if (cache === undefined) {
    cache = new Map()
    answers.set(policy, cache)
  }
  let answer = cache.get(value)
  if (answer === undefined) {
    answer = parseRequestHeaders(value, policy)
    if (cache.size >= CACHED_ANSWERS) cache.clear()
    cache.set(value, answer)
  }
  return answer
}

function parseRequestHeaders (value: string, policy: CompiledPolicy): string | Refusal {
  if (value.length > MAX_ACRH_LENGTH) return new Refusal('malformed_request', `Access-Control-Request-Headers is longer than ${MAX_ACRH_LENGTH} characters`)
  const names: string[] = []
  let count = 0
  let start = 0
  while (start <= value.length) {
    let end = value.indexOf(',', start)
    if (end === -1) end = value.length
    let from = start
    let to = end
    while (from < to && isWhitespace(value.charCodeAt(from))) from++
    while (to > from && isWhitespace(value.charCodeAt(to - 1))) to--
    start = end + 1
    if (from === to) continue
    if (!isToken(value, from, to)) {
      const header = value.slice(from, to)
      return new Refusal('malformed_request', `${JSON.stringify(header)} in Access-Control-Request-Headers is not a header name`, header)
    }
    if (++count > MAX_ACRH_NAMES) return new Refusal('malformed_request', `Access-Control-Request-Headers has more than ${MAX_ACRH_NAMES} names`)
    const name = value.slice(from, to).toLowerCase()
    if (!policy.allowHeaders.has(name) && !(policy.anyHeader && name !== 'authorization')) {
      return new Refusal('header_not_allowed', name === 'authorization' && policy.anyHeader
        ? "the request header authorization is not allowed: '*' does not cover it, list it by name"
        : `the request header ${name} is not allowed`, name)
    }
    if (!names.includes(name)) names.push(name)
  }
  return names.join(', ')
}

function isWhitespace (c: number): boolean {
  return c === 32 || c === 9
}
