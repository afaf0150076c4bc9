// The applications under load: for each scenario, the same routes three times, without CORS, with
// this plugin, and with @fastify/cors configured to answer the same requests the same way.

import { subscribe } from 'node:diagnostics_channel'
import Fastify, { type FastifyContextConfig, type FastifyInstance, type FastifyPluginCallback } from 'fastify'
import type { FastifyCorsOptions } from '@fastify/cors'
import type { CorsPolicy, CorsPluginOptions, CorsRouteOption } from '../lib/index.ts'
import {
  ALLOWED_HEADERS, APP_METHODS, CANDIDATE_ORIGINS, APP_PATHS, APP_POLICIES, EXACT_ORIGINS, ONE_ORIGIN, PATTERN_ORIGINS, PATTERN_REGEXPS,
  SWEEP_PATH, appPath, appPolicyName, appPolicyOrigins, appPolicyRegExp, sweepLists, type Contender, type ScenarioName,
  type SweepContender, type SweepSize,
} from './scenarios.ts'

/** Where the plugin comes from: the TypeScript source (through tsx) or the build in dist/. */
export type PluginSource = 'source' | 'dist'

export type CorsModule =
  | { readonly kind: 'plugin', readonly plugin: FastifyPluginCallback<CorsPluginOptions> }
  | { readonly kind: 'fastify-cors', readonly plugin: FastifyPluginCallback<FastifyCorsOptions> }
  | { readonly kind: 'bare' }

/** Loads the CORS module of a contender; done before the clock for startup starts, and timed apart. */
export async function loadCors (contender: Contender | SweepContender, source: PluginSource): Promise<CorsModule> {
  if (contender === 'plugin') {
    // A variable specifier, so that type-checking does not need a build.
    const specifier = source === 'dist' ? '../dist/index.js' : '../lib/index.ts'
    const mod = await import(specifier) as typeof import('../lib/index.ts')
    return { kind: 'plugin', plugin: mod.default }
  }
  if (contender === 'fastify-cors') {
    const mod = await import('@fastify/cors')
    return { kind: 'fastify-cors', plugin: mod.default as FastifyPluginCallback<FastifyCorsOptions> }
  }
  return { kind: 'bare' }
}

const hello = async () => ({ hello: 'world' })

/** Decisions the subscriber of scenario 6a has seen. */
let decisions = 0
export const decisionsSeen = (): number => decisions

/** The list of scenarios 2, 3 and 4b, for each plugin. */
const LIST_POLICY: CorsPolicy = { origins: [...EXACT_ORIGINS, ...PATTERN_ORIGINS] }
const LIST_FASTIFY_CORS: Array<string | RegExp> = [...EXACT_ORIGINS, ...PATTERN_REGEXPS]

/**
 * Every contender's app has one encapsulated plugin (empty here), as real applications do: any plugin
 * registered without fastify-plugin is one. Fastify's ready() skips avvio's hook runner for an app with
 * neither a child scope nor an onReady hook, and only that short path leaves Node's process.nextTick
 * monomorphic; a child scope or an onReady hook (the plugin has one) turns it megamorphic for the life
 * of the process, 3-5 µs per request on this machine. Without this, bare Fastify and the floor would
 * be measured in a state no real application is in (see docs/speed.md).
 */
async function newApp (): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(async function applicationPlugins () {})
  return app
}

/** Builds the application of one scenario; `ready()` is the caller's. `onRoute` sees every route added. */
export async function buildApp (cors: CorsModule, scenario: ScenarioName, onRoute: () => void = () => {}): Promise<FastifyInstance> {
  const app = await newApp()
  app.addHook('onRoute', onRoute)
  switch (scenario) {
    case 'simple':
    case 'list-hit':
    case 'list-miss': {
      const one = scenario === 'simple'
      if (cors.kind === 'plugin') await app.register(cors.plugin, { default: one ? { origins: [ONE_ORIGIN] } : LIST_POLICY })
      // An array even for one origin: the allowed origin is echoed, others get no header, Vary: Origin always.
      if (cors.kind === 'fastify-cors') await app.register(cors.plugin, { origin: one ? [ONE_ORIGIN] : LIST_FASTIFY_CORS })
      app.get('/', hello)
      return app
    }
    case 'preflight-1':
    case 'preflight-1100': {
      const one = scenario === 'preflight-1'
      if (cors.kind === 'plugin') {
        const origins = one ? [ONE_ORIGIN] : LIST_POLICY.origins
        await app.register(cors.plugin, { default: { origins, allowHeaders: ALLOWED_HEADERS } })
      }
      if (cors.kind === 'fastify-cors') {
        // Strings joined once, its cheapest form; it answers every OPTIONS from its own catch-all route.
        await app.register(cors.plugin, {
          origin: one ? [ONE_ORIGIN] : LIST_FASTIFY_CORS,
          methods: 'GET,HEAD,PUT',
          allowedHeaders: ALLOWED_HEADERS.join(','),
        })
      }
      app.get('/', hello)
      app.put('/', hello)
      // Without CORS, the cheapest answer to OPTIONS: an empty 204 from a route of its own.
      if (cors.kind === 'bare') app.options('/', (_request, reply) => { reply.code(204).send() })
      return app
    }
    case 'app-500':
      await buildLargeApp(app, cors)
      return app
    case 'events':
    case 'report-only': {
      if (cors.kind === 'plugin') {
        const reportOnly: CorsPluginOptions['reportOnly'] = scenario === 'report-only' ? { web: { origins: CANDIDATE_ORIGINS } } : {}
        await app.register(cors.plugin, { policies: { web: { origins: [ONE_ORIGIN] } }, default: 'web', reportOnly })
        // What a metrics subscriber does at the least: read the event.
        if (scenario === 'events') subscribe('fastify-cors-policy:decision', (event) => { decisions += (event as { allowed: boolean }).allowed ? 1 : 0 })
      }
      if (cors.kind === 'fastify-cors') await app.register(cors.plugin, { origin: [ONE_ORIGIN] })
      app.get('/', hello)
      return app
    }
  }
}

/**
 * Scenario 5. The plugin takes 50 named policies and each route names one; @fastify/cors takes
 * each route's options in `config.cors` (one shared object per policy), which it merges per request.
 */
async function buildLargeApp (app: FastifyInstance, cors: CorsModule): Promise<void> {
  const policies: Record<string, CorsPolicy> = {}
  const fastifyCorsPolicies: FastifyCorsOptions[] = []
  for (let k = 0; k < APP_POLICIES; k++) {
    const credentials = k % 2 === 0
    policies[appPolicyName(k)] = {
      origins: appPolicyOrigins(k),
      credentials,
      allowHeaders: ALLOWED_HEADERS,
      exposeHeaders: ['x-total-count'],
      maxAge: 600,
    }
    const [app0, admin] = appPolicyOrigins(k) as [string, string]
    fastifyCorsPolicies.push({
      origin: [app0, admin, appPolicyRegExp(k)],
      credentials,
      allowedHeaders: ALLOWED_HEADERS.join(','),
      exposedHeaders: 'x-total-count',
      maxAge: 600,
    })
  }
  if (cors.kind === 'plugin') await app.register(cors.plugin, { policies })
  // CORS off unless a route says otherwise.
  if (cors.kind === 'fastify-cors') await app.register(cors.plugin, { origin: false })
  for (let i = 0; i < APP_PATHS; i++) {
    const k = i % APP_POLICIES
    // @fastify/cors reads its own options from the same config key the plugin types.
    const config: FastifyContextConfig = cors.kind === 'plugin'
      ? { cors: appPolicyName(k) }
      : cors.kind === 'fastify-cors' ? { cors: fastifyCorsPolicies[k] as unknown as CorsRouteOption } : {}
    for (const method of APP_METHODS) app.route({ method, url: appPath(i), config, handler: hello })
  }
}

/**
 * An application of the no-pipelining sweep: one GET route, and for the floor and the plugin the
 * allowlist of `size`. The floor is bare Fastify plus the hook below, exactly as the issue gives it
 * (not tuned): the least a CORS layer that writes these headers for these origins can cost.
 */
export async function buildSweepApp (contender: SweepContender, size: SweepSize, plugin: CorsModule): Promise<FastifyInstance> {
  const app = await newApp()
  const { exact: exactOrigins, patterns } = sweepLists(size)
  if (contender === 'plugin') {
    if (plugin.kind !== 'plugin') throw new Error('the plugin contender needs the plugin module')
    await app.register(plugin.plugin, { default: { origins: [...exactOrigins, ...patterns] } })
  }
  if (contender === 'floor') {
    const exact = new Set(exactOrigins)
    const suffixes = new Set(patterns.map((p) => p.slice('https://*'.length)))
    app.addHook('onSend', (request, reply, payload, done) => {
      reply.header('vary', 'Origin')
      const o = request.headers.origin
      if (typeof o === 'string') {
        let ok = exact.has(o)
        for (let i = o.indexOf('.'); !ok && i !== -1; i = o.indexOf('.', i + 1)) ok = suffixes.has(o.slice(i))
        if (ok) reply.header('access-control-allow-origin', o)
      }
      done(null, payload)
    })
  }
  app.get(SWEEP_PATH, hello)
  return app
}
