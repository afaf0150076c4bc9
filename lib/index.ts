import { createRequire } from 'node:module'
import type fastifyPlugin from 'fastify-plugin'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import { ACRM, ORIGIN } from './policy/headers.ts'
import { CorsPolicyError, messages } from './policy/errors.ts'
import { releaseSuffixList } from './policy/origin.ts'
import { actualHook } from './fastify/actual-hook.ts'
import { checkEarlierRoutes } from './fastify/earlier-routes.ts'
import { livePolicies, type CorsPolicies } from './fastify/live.ts'
import { readOptions, type CorsPluginOptions, type Registration } from './fastify/options.ts'
import { answerPreflight } from './fastify/preflight-hook.ts'
import { registryOf } from './fastify/registry.ts'
import { governRoute, isGeneratedRoute } from './fastify/routes.ts'
import { Watches } from './fastify/watches.ts'
import { formatReport, reportRows, type CorsPolicyReportRow } from './tools/report.ts'

export { CorsPolicySchema, type CorsPolicy, type CorsPolicyJson, type CorsOriginFunction } from './policy/policy.ts'
export { CorsPolicyError, CORS_POLICY_INVALID, type CorsPolicyProblem } from './policy/errors.ts'
export { CORS_REFUSAL_REASONS, type CorsRefusalReason } from './decision/decision.ts'
export { fromFastifyCors, fromFastifyCorsRoute, type FastifyCorsOptions, type FromFastifyCorsOptions } from './tools/migrate.ts'
export type { CorsDecision } from './observation/log.ts'
export type { CorsPolicies } from './fastify/live.ts'
export { CORS_DECISION_CHANNEL, type CorsDecisionEvent } from './observation/events.ts'
export type { CorsCensus, CorsCensusOrigin, CorsCensusPolicy } from './observation/census.ts'
export { suggestCorsPolicy, type SuggestCorsPolicyOptions, type SuggestedCorsPolicy } from './observation/suggest.ts'
export type { CorsPolicyReportRow } from './tools/report.ts'
export type { CorsPolicySummary } from './fastify/summary.ts'
export type { CorsDeclaredPolicy, CorsPluginOptions, CorsPolicyNames, CorsPolicyName, CorsRouteOption } from './fastify/options.ts'

const kRegistration = Symbol('fastify-cors-policy.registration')

type Scope = FastifyInstance & { [kRegistration]?: Registration }

// Async, so that an invalid configuration rejects app.register()/app.ready(): avvio does not catch
// what a callback plugin throws synchronously, and the process would crash instead.
const plugin: FastifyPluginAsync<CorsPluginOptions> = async function fastifyCorsPolicy (app, options) {
  const scope = app as Scope
  if (Object.hasOwn(scope, kRegistration)) {
    throw new CorsPolicyError([{ where: 'plugin options', path: '', message: messages.registeredTwice }])
  }
  const registry = registryOf(app)
  const registration = readOptions(options, registry.policies)
  if (checkEarlierRoutes(app, registry)) registry.seeAllRoutes()
  // The census's code is loaded only by the registrations that turn it on.
  const census = registration.censusSize === null ? null : new (await import('./observation/census.ts')).Census(registration.censusSize)
  const watches = new Watches(registration, registry, census)
  registration.watcher = watches
  // Child scopes inherit this through the prototype chain: the nearest registration governs a route.
  scope[kRegistration] = registration

  app.addHook('onRoute', function corsOnRoute (route) {
    if ((this as Scope)[kRegistration] !== registration || isGeneratedRoute(route)) return
    governRoute(this, route, registration, registry)
  })

  // Added now, so it runs before the hooks the application adds after registering the plugin (rule 13).
  // Every registration answers any generated route's preflight, through the registry the server
  // shares: so the first registration on a route's scope chain answers, before the hooks added after
  // it, even where a child scope's registration governs the route.
  app.addHook('onRequest', function corsPreflight (request, reply, next) {
    if (request.method !== 'OPTIONS') return next()
    const origin = request.headers[ORIGIN]
    const method = request.headers[ACRM]
    // Plain OPTIONS (rule 14), and OPTIONS on paths the plugin did not generate a route for (rule 12).
    // (request.routeOptions builds an object on each read: it comes last.)
    if (origin === undefined || method === undefined || !isGeneratedRoute(request.routeOptions)) return next()
    // A promise when an origin function answers later: Fastify's hook runner waits for it.
    return answerPreflight(registry, request, reply, origin, method)
  })

  // Every route's policy has been checked once the app is ready: the Public Suffix List, which only
  // those checks need, is released then (an onReady hook runs once, never on a request).
  app.addHook('onReady', function corsReleaseSuffixList (done) {
    releaseSuffixList()
    done()
  })

  // Fastify refuses a decorator declared twice in one scope only: a child that registers the plugin
  // again gets its own, over its parent's.
  app.decorate('corsPolicies', livePolicies(registration, registry, watches))
  app.decorate('corsPolicyReport', () => reportRows(registry.routes))
  app.decorate('printCorsPolicies', () => {
    const table = formatReport(reportRows(registry.routes))
    process.stdout.write(table)
    return table
  })

  const fallback = registration.defaultRoute
  if (fallback !== null) {
    // Rule 7: a 404 answered by this scope's not-found handler carries the default policy's headers.
    const onSendActual = actualHook(fallback)
    app.addHook('onSend', function corsNotFound (request, reply, payload, next) {
      // Actual requests only: a preflight (OPTIONS with Origin and ACRM) is rule 12's.
      if (!request.is404 || (this as Scope)[kRegistration] !== registration || (request.method === 'OPTIONS' &&
        request.headers[ORIGIN] !== undefined && request.headers[ACRM] !== undefined)) return next(null, payload)
      // A promise when an origin function answers later: Fastify's hook runner waits for it.
      return onSendActual.call(this, request, reply, payload, next)
    })
  }
}

// fastify-plugin is CommonJS: require() takes it as it is, where an ESM import reads its source for its export names.
const fp = createRequire(import.meta.url)('fastify-plugin') as typeof fastifyPlugin
/** The plugin. Register it before the routes it governs: `await app.register(cors, options)`. */
const fastifyCorsPolicy = fp(plugin, { fastify: '5.x', name: 'fastify-cors-policy' })
export default fastifyCorsPolicy
export { fastifyCorsPolicy }

declare module 'fastify' {
  interface FastifyInstance {
    /** The named policies of the registration governing this scope; `replace` swaps one in while the app runs. */
    corsPolicies: CorsPolicies
    /** Every route the plugin governs on this server with its policy (call after ready). */
    corsPolicyReport: () => CorsPolicyReportRow[]
    /** Prints `corsPolicyReport()` as a table to standard output, and returns the text. */
    printCorsPolicies: () => string
  }
  interface FastifyContextConfig {
    /** This route's CORS policy: a policy, a policy's name, or false. Leave it out for the scope's default. */
    cors?: import('./fastify/options.ts').CorsRouteOption
  }
  interface FastifySchema {
    /** This route's CORS policy, declared beside its other schemas. Same values as `config.cors`. */
    cors?: import('./fastify/options.ts').CorsRouteOption
  }
}
