import type { FastifyRequest } from 'fastify'
import { CorsPolicyError, describe, type CorsPolicyProblem } from '../policy/errors.ts'
import { isAnchored } from '../policy/misconfig.ts'
import type { CorsPluginOptions, CorsRouteOption } from '../fastify/options.ts'
import type { CorsOriginFunction, CorsPolicy } from '../policy/policy.ts'

type OriginValue = boolean | string | RegExp | Array<boolean | string | RegExp>
type OriginCallback = (err: Error | null, origin: OriginValue) => void
type FastifyCorsOriginFunction = (origin: string | undefined, callback: OriginCallback) => void | Promise<OriginValue>

/**
 * The options of @fastify/cors that have a meaning here. The others are accepted and ignored, but for
 * what has no equivalent or never worked, which is refused: `delegator`, and a `hook` @fastify/cors refuses.
 */
export interface FastifyCorsOptions {
  origin?: OriginValue | FastifyCorsOriginFunction
  methods?: string | string[]
  allowedHeaders?: string | string[]
  exposedHeaders?: string | string[]
  credentials?: boolean
  maxAge?: number
  [ignored: string]: unknown
}

export interface FromFastifyCorsOptions {
  /**
   * Keep what @fastify/cors did where it was unsafe: `origin: true` with credentials reflects every
   * origin, an unanchored RegExp matches look-alike domains, `'*'` with credentials never worked in
   * browsers (it becomes `'*'` without credentials, which is what browsers did with it; an origin
   * function's `'*'` answer on a credentialed policy then reflects the origin with credentials).
   */
  dangerouslyAllowUnsafeOrigins?: boolean
}

// @fastify/cors defaults, so that a migrated app answers browsers the same way.
const FASTIFY_CORS_METHODS = 'GET,HEAD,POST'
// The hooks @fastify/cors accepts: any other value made it fail at registration.
const FASTIFY_CORS_HOOKS = ['onRequest', 'preParsing', 'preValidation', 'preHandler', 'preSerialization']

/**
 * Turns @fastify/cors options into this plugin's options: `app.register(cors, fromFastifyCors(old))`.
 * The result is a `default` policy for the scope; unsafe options are refused with the safe equivalent.
 */
export function fromFastifyCors (options: FastifyCorsOptions = {}, { dangerouslyAllowUnsafeOrigins = false }: FromFastifyCorsOptions = {}): CorsPluginOptions {
  return { default: convert(options, 'fromFastifyCors', dangerouslyAllowUnsafeOrigins, FASTIFY_CORS_METHODS) }
}

/**
 * Turns the @fastify/cors options of a route's `config.cors` into this plugin's route policy:
 * `config: { cors: fromFastifyCorsRoute({ origin: ['https://a.com'], credentials: true }) }`.
 * @fastify/cors merged them over the plugin's options; here the route's policy stands alone, so
 * spread the plugin's options in where the route relied on them. Without `methods`, the policy
 * allows the route's own methods.
 */
export function fromFastifyCorsRoute (options: FastifyCorsOptions, { dangerouslyAllowUnsafeOrigins = false }: FromFastifyCorsOptions = {}): CorsRouteOption {
  return convert(options, 'fromFastifyCorsRoute', dangerouslyAllowUnsafeOrigins, null)
}

function convert (options: unknown, where: string, unsafe: boolean, defaultMethods: string | null): CorsPolicy | false {
  if (typeof options === 'function') {
    throw new CorsPolicyError([{
      where,
      path: '',
      message: 'are a function (@fastify/cors\'s register(cors, () => delegator) form, options decided per request), which has no equivalent: ' +
        "declare each route's policy in its config.cors instead, which preflights honour too",
    }])
  }
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new CorsPolicyError([{ where, path: '', message: `are ${describe(options)}; pass the @fastify/cors options object` }])
  }
  const record = options as FastifyCorsOptions
  const problems: CorsPolicyProblem[] = []
  const refuse = (path: string, message: string): void => { problems.push({ where, path, message }) }
  if (record.delegator !== undefined) {
    refuse('/delegator', "has no equivalent: declare each route's policy in its config.cors instead, which preflights honour too")
  }
  if (record.hook !== undefined && !FASTIFY_CORS_HOOKS.includes(record.hook as string)) {
    refuse('/hook', `is ${describe(record.hook)}, which @fastify/cors refuses too (it takes ${FASTIFY_CORS_HOOKS.join(', ')}); ` +
      'remove it: preflights are answered in onRequest and headers set in onSend, whatever the hook')
  }
  const origin = record.origin === undefined ? '*' : record.origin
  const credentials = record.credentials === true
  const origins = convertOrigin(origin, credentials, unsafe, refuse)
  if (problems.length > 0) throw new CorsPolicyError(problems)
  if (origins === false) return false

  const methods = record.methods ?? defaultMethods
  const policy: CorsPolicy = {
    origins,
    // @fastify/cors echoes the requested headers when none are listed: '*' does the same, but for authorization.
    allowHeaders: record.allowedHeaders === undefined || record.allowedHeaders === null ? ['*'] : splitList(record.allowedHeaders, where, '/allowedHeaders'),
  }
  if (methods !== null) policy.methods = splitList(methods, where, '/methods')
  // '*' with credentials never worked in browsers: without credentials is what browsers did with it.
  if (credentials && origins !== '*') policy.credentials = true
  if (record.exposedHeaders !== undefined && record.exposedHeaders !== null) policy.exposeHeaders = splitList(record.exposedHeaders, where, '/exposedHeaders')
  if (record.maxAge !== undefined && record.maxAge !== null) policy.maxAge = record.maxAge
  return policy
}

function convertOrigin (origin: unknown, credentials: boolean, unsafe: boolean, refuse: (path: string, message: string) => void): CorsPolicy['origins'] | false {
  if (origin === false) return false
  if (origin === '*' || (Array.isArray(origin) && origin.includes('*'))) {
    if (credentials && !unsafe) {
      refuse('/origin', "is '*' with credentials, which browsers always refused for credentialed requests; " +
        "list the origins (origins: ['https://app.example.com'], credentials: true), or drop credentials")
    }
    return '*'
  }
  if (origin === true) {
    if (credentials && !unsafe) {
      refuse('/origin', 'is true with credentials: it reflects every origin, so any site could read your users\' data; ' +
        "list the origins instead (origins: ['https://app.example.com'])")
    }
    // Without credentials, reflecting any origin lets the same pages read the same responses as '*'.
    return credentials ? () => true : '*'
  }
  if (typeof origin === 'function') return wrapOriginFunction(origin as FastifyCorsOriginFunction, !credentials || unsafe)
  if (origin === '' || origin === null) {
    refuse('/origin', `is ${describe(origin)}, which @fastify/cors answered with a 500 on every request; ` +
      "list the origins allowed (origin: ['https://app.example.com']), or write origin: false for no CORS")
    return false
  }
  if (typeof origin !== 'string' && !(origin instanceof RegExp) && !Array.isArray(origin)) {
    refuse('/origin', `is ${describe(origin)}; an @fastify/cors origin is a string, a RegExp, a list of them, a boolean or a function`)
    return false
  }
  const items: unknown[] = Array.isArray(origin) ? origin : [origin]
  const list: Array<string | RegExp> = []
  items.forEach((item, index) => {
    const path = Array.isArray(origin) ? `/origin/${index}` : '/origin'
    if (item instanceof RegExp && !isAnchored(item.source) && !unsafe) {
      refuse(path, `${String(item)} is not anchored, so it also matches look-alike origins (https://example.com.evil.io); ` +
        `write /^${item.source.replace(/^\^?/, '').replace(/\$?$/, '')}$/`)
    } else if (typeof item !== 'string' && !(item instanceof RegExp)) {
      refuse(path, `is ${describe(item)}; an origin list holds strings and RegExps (write origin: true to reflect any origin)`)
    }
    list.push(item as string | RegExp)
  })
  const loose = list.some((o) => o instanceof RegExp && !isAnchored(o.source))
  return loose ? (requestOrigin: string) => matchesAny(requestOrigin, list) : list
}

function splitList (value: unknown, where: string, path: string): string[] {
  if (Array.isArray(value)) return value.map(String)
  if (typeof value === 'string') return value.split(',').map((item) => item.trim()).filter((item) => item !== '')
  throw new CorsPolicyError([{ where, path, message: `is ${describe(value)}; write a comma-separated string or an array` }])
}

function matchesAny (origin: string, list: ReadonlyArray<string | RegExp>): boolean {
  return list.some((allowed) => typeof allowed === 'string' ? allowed === origin : matchesRegExp(allowed, origin))
}

/** As @fastify/cors tests a RegExp: from the start of the string, so that a `g` or `y` flag keeps no state across requests. */
function matchesRegExp (regexp: RegExp, origin: string): boolean {
  regexp.lastIndex = 0
  return regexp.test(origin)
}

const WILDCARD = Symbol('wildcard')

/**
 * @fastify/cors origin functions answer through a callback or a promise, with an origin option as the
 * value. The first answer counts (a second callback changes nothing). A thrown error, an error passed
 * to the callback and a rejection mean "not allowed" and are logged; so does no answer within the
 * policy's originTimeout. A value allows when it is `true`, the origin itself, a RegExp matching it,
 * or a list holding one of those; anything else (false, undefined, null, another origin) does not.
 * `'*'` (alone or in a list) allows too, but not on a credentialed policy: browsers never sent
 * credentials to '*', so reflecting the origin with credentials would let every site read your
 * users' data. That answer is "not allowed" and logged, unless `wildcardAllowed`.
 */
function wrapOriginFunction (fn: FastifyCorsOriginFunction, wildcardAllowed: boolean): CorsOriginFunction {
  return (origin: string, request: FastifyRequest) => new Promise<boolean>((resolve, reject) => {
    const answer = (value: unknown): void => {
      const allows = allowsByValue(origin, value)
      if (allows !== WILDCARD) resolve(allows)
      else if (wildcardAllowed) resolve(true)
      else reject(new Error(wildcardWithCredentials))
    }
    // A synchronous throw rejects this promise: the Promise constructor catches it.
    const result: unknown = fn.call(request.server, origin, (err, value) => {
      if (err !== null && err !== undefined) reject(err)
      else answer(value)
    })
    if (typeof result === 'object' && result !== null && typeof (result as PromiseLike<unknown>).then === 'function') {
      (result as PromiseLike<unknown>).then(answer, reject)
    }
  })
}

const wildcardWithCredentials = "the origin function answered '*' on a policy with credentials: browsers never send credentials to '*', " +
  "and reflecting the origin instead would let every site read your users' data, so the origin is treated as not allowed; " +
  'answer true (or the origin) for the origins you trust'

/** Whether an @fastify/cors origin value allows `origin`, or WILDCARD for `'*'`; anything it does not describe does not allow. */
function allowsByValue (origin: string, value: unknown): boolean | typeof WILDCARD {
  const list: unknown[] = Array.isArray(value) ? value : [value]
  if (list.includes('*')) return WILDCARD
  return list.some((item) => item === true || item === origin || (item instanceof RegExp && matchesRegExp(item, origin)))
}
