import { createRequire } from 'node:module'
import type { Static } from '@sinclair/typebox'
import type { ValueErrorType } from '@sinclair/typebox/errors'
import type { FastifyRequest } from 'fastify'
import { describe, type CorsPolicyProblem } from './errors.ts'
import { isToken } from './headers.ts'
import { findMisconfigurations, isAnchored } from './misconfig.ts'
import { parseOriginEntry, type OriginEntry } from './origin.ts'
import { CorsPolicySchema, isPolicyShape } from './policy-check.ts'
import type { CorsPolicySchemaType } from './policy-schema.ts'

export { CorsPolicySchema }

export type CorsPolicyJson = Static<CorsPolicySchemaType>

/** Decides an origin held elsewhere (a database, a tenant list). Throwing or rejecting means "not allowed". */
export type CorsOriginFunction = (origin: string, request: FastifyRequest) => boolean | Promise<boolean>

/** A CORS policy: the JSON part described by `CorsPolicySchema`, with RegExp and function origins besides. */
export interface CorsPolicy {
  /** `'*'`, a list of exact origins and patterns (RegExps allowed in the list), a RegExp written `^…$`, or a function. */
  origins: '*' | ReadonlyArray<string | RegExp> | RegExp | CorsOriginFunction
  credentials?: boolean
  methods?: readonly string[]
  allowHeaders?: readonly string[]
  exposeHeaders?: readonly string[]
  maxAge?: number
  /** The route's `schema.headers` names join `allowHeaders`, its `schema.response[status].headers` names join `exposeHeaders`. */
  headersFromSchema?: boolean
  /** Allows plain `http://` origins other than loopback with credentials, which startup otherwise refuses. */
  dangerouslyAllowInsecureOrigins?: boolean
  /** Milliseconds an origins function may take to answer (1 to 60000, default 2000); no answer in time means not allowed. */
  originTimeout?: number
}

/** How long an origins function may take when its policy does not say: browsers wait, so the bound is short. */
export const DEFAULT_ORIGIN_TIMEOUT = 2000

/** A policy once checked: what `compile` turns into header values and a matcher. */
export interface NormalizedPolicy {
  readonly origins: '*' | { readonly entries: readonly OriginEntry[], readonly regexps: readonly RegExp[] } | CorsOriginFunction
  readonly credentials: boolean
  readonly methods: readonly string[] | null
  /** Lower case, each once, without `'*'`. */
  readonly allowHeaders: readonly string[]
  /** `'*'` was listed: any name but authorization. */
  readonly anyHeader: boolean
  readonly exposeHeaders: readonly string[]
  readonly maxAge: number | null
  readonly headersFromSchema: boolean
  /** Present when origins is a function: milliseconds it may take to answer (the default filled in). */
  readonly originTimeout?: number
}

/** The fields of a policy, as the schema lists them. */
export const POLICY_FIELDS: readonly string[] = Object.keys(CorsPolicySchema.properties)
// Option names of @fastify/cors that are no policy field here: an unknown field among them names the converters.
const FASTIFY_CORS_OPTIONS = new Set(['origin', 'allowedHeaders', 'exposedHeaders', 'preflight', 'preflightContinue', 'strictPreflight',
  'optionsSuccessStatus', 'hideOptionsRoute', 'hook', 'delegator', 'cacheControl', 'logLevel'])

// RFC 9110 token: the grammar of method and header names.
const TOKEN_RULE = "write it as an HTTP token: letters, digits and !#$%&'*+-.^_`|~, without spaces or separators"
// Fetch standard, "forbidden method": a browser never sends these, so listing them is a mistake.
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK'])
/** Fetch standard, "forbidden response-header name": browsers never show these to scripts, exposed or not. */
export const FORBIDDEN_RESPONSE_HEADERS: ReadonlySet<string> = new Set(['set-cookie', 'set-cookie2'])

/**
 * Checks a policy and returns it normalized, or adds every problem it has to `problems` and returns null.
 * `where` names the declaration in the messages: `route PUT /me`, `policy "partners"`.
 */
export function checkPolicy (value: unknown, where: string, problems: CorsPolicyProblem[]): NormalizedPolicy | null {
  const before = problems.length
  const add = (path: string, message: string): void => { problems.push({ where, path, message }) }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof RegExp) {
    add('', `is ${describe(value)}; a policy is an object such as { origins: ['https://app.example.com'] }`)
    return null
  }
  const policy = value as Record<string, unknown>
  const origins = policy.origins
  reportShape(policy, add)

  const credentials = policy.credentials === true
  const normalizedOrigins = checkOrigins(origins, credentials, add)
  findMisconfigurations(policy, add)
  if (policy.originTimeout !== undefined && typeof origins !== 'function') {
    add('/originTimeout', 'applies only to an origins function, and origins is not one; remove it')
  }
  if (origins === '*' && credentials) {
    add('/credentials', "is true with origins '*'; browsers refuse credentials from a wildcard origin: list the origins instead")
  }
  const methods = checkMethods(policy.methods, add)
  const allowHeaders = checkHeaderNames(policy.allowHeaders, '/allowHeaders', add)
  const exposeHeaders = checkHeaderNames(policy.exposeHeaders, '/exposeHeaders', add)
  if (credentials && exposeHeaders?.includes('*')) {
    add(`/exposeHeaders/${exposeHeaders.indexOf('*')}`, "is '*' with credentials; browsers then read it as a header named \"*\", not as any header: list the names")
  }
  if (problems.length > before || normalizedOrigins === null) return null

  const allow = allowHeaders ?? []
  return Object.freeze({
    origins: normalizedOrigins,
    credentials,
    methods: methods === null ? null : Object.freeze([...new Set(methods)]),
    allowHeaders: Object.freeze([...new Set(allow.filter((h) => h !== '*').map((h) => h.toLowerCase()))]),
    anyHeader: allow.includes('*'),
    exposeHeaders: Object.freeze(dedupeIgnoringCase(exposeHeaders ?? [])),
    maxAge: typeof policy.maxAge === 'number' ? policy.maxAge : null,
    headersFromSchema: policy.headersFromSchema === true,
    ...(typeof normalizedOrigins === 'function'
      ? { originTimeout: typeof policy.originTimeout === 'number' ? policy.originTimeout : DEFAULT_ORIGIN_TIMEOUT }
      : {}),
  })
}

function dedupeIgnoringCase (names: readonly string[]): string[] {
  const seen = new Set<string>()
  return names.filter((name) => {
    const key = name.toLowerCase()
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

type Add = (path: string, message: string) => void

let typeboxErrors: typeof import('@sinclair/typebox/errors') | undefined

function reportShape (policy: Record<string, unknown>, add: Add): void {
  if (isPolicyShape(policy)) return
  // Origins, which may be a RegExp or a function, is checked by checkOrigins: the schema is shown a
  // stand-in for it, so that no problem of origins is reported twice.
  const value = Object.hasOwn(policy, 'origins') ? { ...policy, origins: '*' } : policy
  if (isPolicyShape(value)) return
  // TypeBox walks the schema for the errors, which only a policy with some needs: loaded then, it
  // costs the plugin's import nothing.
  typeboxErrors ??= createRequire(import.meta.url)('@sinclair/typebox/errors') as typeof import('@sinclair/typebox/errors')
  const reported = new Set<string>()
  for (const error of typeboxErrors.Errors(CorsPolicySchema, value)) {
    // One message per field: a failed union or array reports its branches and items too.
    const field = error.path.split('/', 2).join('/')
    if (reported.has(error.path) || reported.has(field)) continue
    reported.add(error.path)
    add(error.path, shapeMessage(typeboxErrors.ValueErrorType, error.type, error.path, error.value))
  }
}

function shapeMessage (kinds: typeof ValueErrorType, type: ValueErrorType, path: string, value: unknown): string {
  const field = path.split('/')[1] as string
  if (type === kinds.ObjectRequiredProperty) {
    return "is required; list the origins allowed to read responses, e.g. origins: ['https://app.example.com'], or origins: '*' for a public API"
  }
  if (type === kinds.ObjectAdditionalProperties) {
    const close = POLICY_FIELDS.find((f) => f.toLowerCase().startsWith(field.toLowerCase().slice(0, 4)))
    const fix = close === undefined ? 'remove it' : `did you mean "${close}"?`
    if (FASTIFY_CORS_OPTIONS.has(field)) {
      return `is not a policy field but an @fastify/cors option; ${fix}${close === undefined ? '.' : ''} To convert @fastify/cors options: ` +
        `fromFastifyCorsRoute(options) for a route's config.cors, fromFastifyCors(options) for the plugin (the fields are ${POLICY_FIELDS.join(', ')})`
    }
    return `is not a policy field; ${fix} (the fields are ${POLICY_FIELDS.join(', ')})`
  }
  switch (field) {
    case 'credentials':
    case 'headersFromSchema':
    case 'dangerouslyAllowInsecureOrigins':
      return `is ${describe(value)}; ${field} is true or false`
    case 'originTimeout':
      return `is ${describe(value)}; originTimeout is a whole number of milliseconds from 1 to 60000`
    case 'maxAge':
      return `is ${describe(value)}; maxAge is a whole number of seconds from 0 to 86400 (Firefox's cap; Chromium caps at 7200)`
    default:
      return path.split('/').length > 2
        ? `is ${describe(value)}; each item of ${field} is a string`
        : `is ${describe(value)}; ${field} is a list of strings`
  }
}

function checkOrigins (origins: unknown, credentials: boolean, add: Add): NormalizedPolicy['origins'] | null {
  if (origins === '*') return '*'
  if (typeof origins === 'function') return origins as CorsOriginFunction
  if (origins instanceof RegExp) {
    const problem = regexpProblem(origins)
    if (problem !== null) add('/origins', problem)
    return problem === null ? { entries: [], regexps: [origins] } : null
  }
  if (!Array.isArray(origins)) {
    if (origins !== undefined) add('/origins', `is ${describe(origins)}; origins is '*', a list of origins, a RegExp or a function`)
    return null
  }
  if (origins.length === 0) {
    add('/origins', 'is empty, so no origin could ever be allowed; list origins, or declare cors: false on the route to turn CORS off')
    return null
  }
  const entries: OriginEntry[] = []
  const regexps: RegExp[] = []
  let ok = true
  // The path is written only for a problem: a list of thousands of origins allocates nothing per
  // origin here beyond its entry (see parseOriginEntry).
  origins.forEach((origin: unknown, index) => {
    if (origin instanceof RegExp) {
      const problem = regexpProblem(origin)
      if (problem === null) regexps.push(origin)
      else { add(`/origins/${index}`, problem); ok = false }
      return
    }
    if (typeof origin !== 'string') {
      add(`/origins/${index}`, `is ${describe(origin)}; each origin is a string such as "https://app.example.com" or a RegExp`)
      ok = false
      return
    }
    const entry = parseOriginEntry(origin)
    if (typeof entry === 'string') {
      add(`/origins/${index}`, `${JSON.stringify(origin)} ${entry}`)
      ok = false
    } else if (credentials && entry.kind === 'exact' && entry.origin === 'null') {
      add(`/origins/${index}`, '"null" with credentials: sandboxed iframes, file: pages and redirects all share the null origin, so any of them could read credentialed responses; remove "null" or set credentials: false')
      ok = false
    } else {
      entries.push(entry)
    }
  })
  return ok ? { entries, regexps } : null
}

function regexpProblem (regexp: RegExp): string | null {
  const source = regexp.source
  if (regexp.global || regexp.sticky) {
    return `${String(regexp)} has the ${regexp.global ? 'g' : 'y'} flag, which makes test() stateful so every other request would fail; remove the flag`
  }
  if (!isAnchored(source)) {
    return `${String(regexp)} is not anchored; write it as /^…$/ so it matches whole origins only (an unanchored /example\\.com/ also matches https://example.com.evil.io)`
  }
  return null
}

function checkMethods (methods: unknown, add: Add): string[] | null {
  if (!Array.isArray(methods)) return null
  if (methods.length === 0) {
    add('/methods', "is empty, so no request could ever be allowed; leave methods out to allow the route's own methods, or declare cors: false on the route")
  }
  methods.forEach((method: unknown, index) => {
    if (typeof method !== 'string') return
    const path = `/methods/${index}`
    if (!isToken(method, 0, method.length)) add(path, `${JSON.stringify(method)} is not a method name; ${TOKEN_RULE}, e.g. "PATCH"`)
    else if (FORBIDDEN_METHODS.has(method.toUpperCase())) add(path, `${JSON.stringify(method)} is a forbidden method that browsers never send; remove it`)
    else if (method !== method.toUpperCase()) add(path, `${JSON.stringify(method)} is not upper case; methods compare case-sensitively and routes are upper case: write "${method.toUpperCase()}"`)
  })
  return methods as string[]
}

function checkHeaderNames (names: unknown, field: string, add: Add): string[] | null {
  if (!Array.isArray(names)) return null
  names.forEach((name: unknown, index) => {
    if (typeof name !== 'string') return
    if (!isToken(name, 0, name.length)) {
      add(`${field}/${index}`, `${JSON.stringify(name)} is not a valid header name; ${TOKEN_RULE}, e.g. "x-request-id"`)
    } else if (field === '/exposeHeaders' && FORBIDDEN_RESPONSE_HEADERS.has(name.toLowerCase())) {
      add(`${field}/${index}`, `${JSON.stringify(name)} is a forbidden response header: browsers never let scripts read it, ` +
        'whatever Access-Control-Expose-Headers says (cookies stay with the browser); remove it')
    }
  })
  return names as string[]
}
