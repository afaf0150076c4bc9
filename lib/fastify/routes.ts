import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions, onSendHookHandler } from 'fastify'
import { deciderOf } from '../decision/decider.ts'
import { CorsPolicyError } from '../policy/errors.ts'
import { ALLOW } from '../policy/headers.ts'
import { schemaHeaderNames, withSchemaHeaders, type SchemaHeaderNames } from '../policy/schema-headers.ts'
import { actualHook, type ActualRoute } from './actual-hook.ts'
import { resolveRoutePolicy, type Registration } from './options.ts'
import { PREFLIGHT_CONSTRAINT, addPreflightStrategy } from './preflight-constraint.ts'
import type { CorsPath, CorsRegistry, CorsRoute } from './registry.ts'
import type { DerivedSlot, PolicySlot } from './slot.ts'
import { summarize } from './summary.ts'

const kGenerated = Symbol('fastify-cors-policy.generated')

// Options of every generated OPTIONS route, shared: Fastify copies what it keeps.
const GENERATED_CONFIG = Object.freeze({ [kGenerated]: true })
const NO_CONSTRAINTS = Object.freeze({})

const PREFLIGHT_ONLY = Object.freeze({ [PREFLIGHT_CONSTRAINT]: 'preflight' })

type DeclaredRoute = RouteOptions & { url: string, prefix: string, routePath: string }

export function isGeneratedRoute (route: { config?: unknown }): boolean {
  return (route.config as Record<symbol, unknown> | undefined)?.[kGenerated] === true
}

/**
 * Called from onRoute for each route of a scope this registration governs: resolves the route's
 * policy, records it as a preflight target, attaches the actual-request hook, and generates the
 * OPTIONS route of its path when it is the first CORS-enabled route there.
 */
export function governRoute (scope: FastifyInstance, route: DeclaredRoute, registration: Registration, registry: CorsRegistry): void {
  const methods = Array.isArray(route.method) ? route.method : withMethod([], route.method)
  const label = `${methods.join(',')} ${route.url}`
  const schema = route.schema as { cors?: unknown } | undefined
  const config = (route.config as { cors?: unknown } | undefined)?.cors
  const resolved = resolveRoutePolicy({ config, schema: schema?.cors }, `route ${label}`, registration, registry.policies)
  const { name } = resolved
  let slot = resolved.slot
  if (schema?.cors !== undefined) {
    // Kept away from schema compilers and OpenAPI generators; the options are a copy of the
    // application's, so the HEAD route Fastify derives from them still sees it.
    const { cors: _cors, ...rest } = schema
    route.schema = rest
  }
  if (slot !== null && slot.current.policy.source.headersFromSchema) {
    slot = deriveSlot(slot, schemaHeaderNames(route.schema as Record<string, unknown> | undefined, `route ${label}`), registry, registration)
  }

  const inline = config !== undefined || schema?.cors !== undefined
  const entry: CorsRoute = new GovernedRoute(methods, route.url, slot, name, inline)
  registry.routes.push(entry)
  if (registration.openapiExtension && slot !== null) {
    route.schema = { ...route.schema, 'x-cors': summarize(entry) } as object
  }
  const urls = answeredUrls(route)
  const paths: CorsPath[] = []
  for (const url of urls) {
    const path = registry.path(url)
    for (const method of methods) {
      path.methods = withMethod(path.methods, method)
      registry.addTarget(method, url, path, route.constraints, entry)
    }
    path.allow = null
    if (methods.includes('OPTIONS')) yieldPlainOptions(scope, route, path, methods)
    paths.push(path)
  }
  if (slot === null) return

  route.onSend = appendHook(route.onSend, actualHook(entry as ActualRoute))
  for (let i = 0; i < urls.length; i++) {
    const path = paths[i] as CorsPath
    if (path.generated === 'none') generateOptionsRoute(scope, route, urls[i] as string, path, methods, registry)
  }
}

/** A route's own slot for a policy with headersFromSchema, kept in step with the slot it derives from. */
function deriveSlot (base: PolicySlot, names: SchemaHeaderNames, registry: CorsRegistry, registration: Registration): DerivedSlot {
  const derived: DerivedSlot = { current: deciderOf(withSchemaHeaders(base.current.policy, names, registry.policies)), watch: null, names }
  registry.derivedSlots(base).push(derived)
  // A report-only candidate or a census on the base watches the route too.
  registration.watcher?.deriveWatch(base, derived)
  return derived
}

/**
 * The URLs a route answers on, each to be recorded and given its OPTIONS route on its own:
 * - Fastify adds a route declared as '/' under a prefix twice, as `/prefix` and `/prefix/`
 *   (prefixTrailingSlash 'both', the default), and runs onRoute for the first only. A route declared
 *   as '' looks the same here; it gets the twin too, which is harmless.
 * - find-my-way answers a URL whose last segment is an optional parameter (`/a/:id?`) both with and
 *   without it (`/a/:id`, `/a`); either may also be another route's URL.
 */
function answeredUrls (route: DeclaredRoute): readonly string[] {
  const twin = route.routePath === '' && route.prefix !== '' && (route.prefixTrailingSlash ?? 'both') === 'both'
  const urls = twin ? [route.url, route.url + '/'] : [route.url]
  return urls.flatMap((url) => {
    const optional = OPTIONAL_LAST_PARAMETER.exec(url)
    return optional === null ? [url] : [url.slice(0, optional.index) || '/', url.slice(0, -1)]
  })
}

const OPTIONAL_LAST_PARAMETER = /\/:[^/]+\?$/

function appendHook (existing: RouteOptions['onSend'], hook: onSendHookHandler): onSendHookHandler | onSendHookHandler[] {
  // Fastify takes a hook alone as well as in a list: no array per route for the usual case.
  if (existing === undefined) return hook
  return Array.isArray(existing) ? [...existing, hook] : [existing, hook]
}

/**
 * What the plugin keeps of each route it governs, thousands of them in a large app: the label and the
 * policy's label, which only logs, events and reports read, are written the first time one asks.
 */
class GovernedRoute implements CorsRoute {
  readonly governed = true
  #label: string | undefined
  #policyLabel: string | null | undefined
  readonly #inline: boolean

  constructor (
    readonly methods: readonly string[], readonly url: string, readonly slot: PolicySlot | null, readonly policyName: string | null, inline: boolean
  ) {
    this.#inline = inline
  }

  get label (): string {
    this.#label ??= `${this.methods.join(',')} ${this.url}`
    return this.#label
  }

  // Equal policies share one compiled policy and its label: logs name the policy as this route knows it.
  get policyLabel (): string | null {
    if (this.#policyLabel !== undefined) return this.#policyLabel
    const name = this.policyName
    this.#policyLabel = this.slot === null
      ? null
      : name !== null ? `policy ${JSON.stringify(name)}` : this.#inline ? `inline policy of route ${this.label}` : 'default policy'
    return this.#policyLabel
  }
}

/**
 * Frozen lists of methods, shared: by the routes declared for one method (most of them), and by the
 * paths that have the same methods (most paths of an app), where a list or a Set each would cost
 * hundreds of bytes in an app of thousands of routes.
 */
const METHOD_LISTS = new Map<string, readonly string[]>()

/** `methods` with `method` added at the end, as a shared list. */
function withMethod (methods: readonly string[], method: string): readonly string[] {
  if (methods.includes(method)) return methods
  const key = methods.length === 0 ? method : `${methods.join(' ')} ${method}`
  let list = METHOD_LISTS.get(key)
  if (list === undefined) METHOD_LISTS.set(key, list = Object.freeze([...methods, method]))
  return list
}

/**
 * One OPTIONS route per CORS-enabled path, never a catch-all. It answers every OPTIONS request there,
 * unless the application has its own OPTIONS route on the path: then it is constrained to preflights.
 */
function generateOptionsRoute (scope: FastifyInstance, route: DeclaredRoute, url: string, path: CorsPath, methods: readonly string[], registry: CorsRegistry): void {
  const beside = methods.includes('OPTIONS') || scope.hasRoute({ method: 'OPTIONS', url })
  if (beside) addPreflightStrategy(scope)
  path.generated = beside ? 'preflight' : 'all'
  registry.generatedUrls.push(url)
  scope.route({
    method: 'OPTIONS',
    // route.url already carries the scope's prefix, which scope.route adds again.
    url: url.slice(route.prefix.length),
    prefixTrailingSlash: 'slash',
    constraints: beside ? PREFLIGHT_ONLY : NO_CONSTRAINTS,
    config: GENERATED_CONFIG as object,
    // Hidden from OpenAPI generators (@fastify/swagger honours schema.hide, and sees only the routes
    // declared after it). Without one, no schema: Fastify builds less for a route without.
    ...(scope.hasPlugin('@fastify/swagger') ? { schema: { hide: true } as object } : {}),
    handler: plainOptionsHandler(path),
  })
}

/**
 * The application declares an OPTIONS route on a path where the plugin already answers all OPTIONS:
 * the application's route takes plain OPTIONS, the plugin's keeps preflights (rule 14).
 */
function yieldPlainOptions (scope: FastifyInstance, route: DeclaredRoute, path: CorsPath, methods: readonly string[]): void {
  if (path.generated !== 'all') return
  if (methods.length > 1) {
    throw new CorsPolicyError([{
      where: `route ${methods.join(',')} ${route.url}`,
      path: '',
      message: 'declares OPTIONS together with other methods on a path whose OPTIONS route the plugin already generated; ' +
        'declare this OPTIONS route on its own (app.options), or before the other routes of the path',
    }])
  }
  addPreflightStrategy(scope)
  route.constraints = { ...route.constraints, [PREFLIGHT_CONSTRAINT]: 'plain' }
}

/** Rule 14: plain OPTIONS gets 204 and the path's methods. */
function plainOptionsHandler (path: CorsPath) {
  return function corsPlainOptions (_request: FastifyRequest, reply: FastifyReply): FastifyReply {
    path.allow ??= allowHeader(path.methods)
    return reply.code(204).header(ALLOW, path.allow).send()
  }
}

function allowHeader (methods: readonly string[]): string {
  const all = new Set(methods)
  if (all.has('GET')) all.add('HEAD')
  all.add('OPTIONS')
  return [...all].sort().join(', ')
}
