import type { FastifyRequest } from 'fastify'
import { CorsPolicyError, describe, type CorsPolicyProblem } from './errors.ts'
import type { CorsPluginOptions } from './options.ts'
import type { CorsOriginFunction, CorsPolicy } from './policy.ts'

type OriginValue = boolean | string | RegExp | Array<boolean | string | RegExp>
type OriginCallback = (err: Error | null, origin: OriginValue) => void

/** The options of @fastify/cors that have a meaning here; the others are accepted and ignored. */
export interface FastifyCorsOptions {
  origin?: OriginValue | ((origin: string | undefined, callback: OriginCallback) => void | Promise<OriginValue>)
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
   * browsers (it becomes `'*'` without credentials, which is what browsers did with it).
   */
  dangerouslyAllowUnsafeOrigins?: boolean
}

// @fastify/cors defaults, so that a migrated app answers browsers the same way.
const FASTIFY_CORS_METHODS = 'GET,HEAD,POST'
const WHERE = 'fromFastifyCors'

/**
 * Turns @fastify/cors options into this plugin's options: `app.register(cors, fromFastifyCors(old))`.
 * The result is a `default` policy for the scope; unsafe options are refused with the safe equivalent.
 */
export function fromFastifyCors (options: FastifyCorsOptions = {}, { dangerouslyAllowUnsafeOrigins = false }: FromFastifyCorsOptions = {}): CorsPluginOptions {
  if (typeof options.delegator === 'function') {
    throw new CorsPolicyError([{ where: WHERE, path: '/delegator', message: 'has no equivalent: declare each route\'s policy in its config.cors instead, which preflights honour too' }])
  }
  const origin = options.origin ?? '*'
  if (origin === false) return { default: false }
  const problems: CorsPolicyProblem[] = []
  const refuse = (path: string, message: string): void => { problems.push({ where: WHERE, path, message }) }
  const credentials = options.credentials === true

  let origins: CorsPolicy['origins'] = '*'
  let keepCredentials = credentials
  if (origin === '*' || (Array.isArray(origin) && origin.includes('*'))) {
    if (credentials && !dangerouslyAllowUnsafeOrigins) {
      refuse('/origin', "is '*' with credentials, which browsers always refused for credentialed requests; " +
        "list the origins (origins: ['https://app.example.com'], credentials: true), or drop credentials")
    }
    keepCredentials = false
  } else if (origin === true) {
    if (credentials && !dangerouslyAllowUnsafeOrigins) {
      refuse('/origin', 'is true with credentials: it reflects every origin, so any site could read your users\' data; ' +
        "list the origins instead (origins: ['https://app.example.com'])")
    }
    // Without credentials, reflecting any origin lets the same pages read the same responses as '*'.
    origins = credentials ? () => true : '*'
  } else if (typeof origin === 'function') {
    origins = wrapOriginFunction(origin)
  } else {
    const list = (Array.isArray(origin) ? origin : [origin]).filter((o): o is string | RegExp => typeof o === 'string' || o instanceof RegExp)
    const unanchored = list.filter((o): o is RegExp => o instanceof RegExp && !(o.source.startsWith('^') && o.source.endsWith('$')))
    if (unanchored.length > 0 && !dangerouslyAllowUnsafeOrigins) {
      for (const regexp of unanchored) {
        refuse(`/origin/${Array.isArray(origin) ? origin.indexOf(regexp) : 0}`,
          `${String(regexp)} is not anchored, so it also matches look-alike origins (https://example.com.evil.io); ` +
          `write /^${regexp.source.replace(/^\^?/, '').replace(/\$?$/, '')}$/`)
      }
    }
    origins = unanchored.length > 0 ? (requestOrigin: string) => matchesAny(requestOrigin, list) : list
  }

  const policy: CorsPolicy = {
    origins,
    methods: splitList(options.methods ?? FASTIFY_CORS_METHODS),
    // @fastify/cors echoes the requested headers when none are listed: '*' does the same, but for authorization.
    allowHeaders: options.allowedHeaders === undefined || options.allowedHeaders === null ? ['*'] : splitList(options.allowedHeaders),
  }
  if (keepCredentials) policy.credentials = true
  if (options.exposedHeaders !== undefined && options.exposedHeaders !== null) policy.exposeHeaders = splitList(options.exposedHeaders)
  if (options.maxAge !== undefined && options.maxAge !== null) policy.maxAge = options.maxAge
  if (problems.length > 0) throw new CorsPolicyError(problems)
  return { default: policy }
}

function splitList (value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String)
  if (typeof value === 'string') return value.split(',').map((item) => item.trim()).filter((item) => item !== '')
  throw new CorsPolicyError([{ where: WHERE, path: '', message: `a list option is ${describe(value)}; write a comma-separated string or an array` }])
}

function matchesAny (origin: string, list: ReadonlyArray<string | RegExp>): boolean {
  return list.some((allowed) => typeof allowed === 'string' ? allowed === origin : allowed.test(origin))
}

/**
 * @fastify/cors origin functions answer through a callback or a promise, with an origin option as the
 * value. The first answer counts (a second callback changes nothing). A thrown error, an error passed
 * to the callback and a rejection mean "not allowed" and are logged; so does no answer within the
 * policy's originTimeout. A value allows only when it is `true`, `'*'`, the origin itself, a RegExp
 * matching it, or a list holding one of those: anything else (undefined, null, another origin) does not.
 */
function wrapOriginFunction (fn: (origin: string | undefined, callback: OriginCallback) => void | Promise<OriginValue>): CorsOriginFunction {
  return (origin: string, request: FastifyRequest) => new Promise<boolean>((resolve, reject) => {
    // A synchronous throw rejects this promise: the Promise constructor catches it.
    const result: unknown = fn.call(request.server, origin, (err, value) => {
      if (err !== null && err !== undefined) reject(err)
      else resolve(allowsByValue(origin, value))
    })
    if (typeof result === 'object' && result !== null && typeof (result as PromiseLike<unknown>).then === 'function') {
      (result as PromiseLike<unknown>).then((value) => resolve(allowsByValue(origin, value)), reject)
    }
  })
}

/** Whether an @fastify/cors origin value allows `origin`; anything it does not describe does not. */
function allowsByValue (origin: string, value: unknown): boolean {
  if (value === true || value === '*') return true
  const list: unknown[] = Array.isArray(value) ? value : [value]
  return list.some((item) => item === origin || (item instanceof RegExp && item.test(origin)))
}
