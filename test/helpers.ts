import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { Writable } from 'node:stream'
import type { Test } from 'tap'
import Fastify, { type FastifyInstance, type FastifyServerOptions, type InjectOptions } from 'fastify'
import cors, { CORS_DECISION_CHANNEL, type CorsDecisionEvent, type CorsPluginOptions, type CorsRouteOption } from '../lib/index.ts'

export const APP = 'https://app.example.com'
export const EVIL = 'https://evil.example'

/** A Fastify app with the plugin registered; `routes` declares the routes after it. */
export async function build (
  options: CorsPluginOptions,
  routes: (app: FastifyInstance) => void,
  server: FastifyServerOptions = {}
): Promise<FastifyInstance> {
  const app = Fastify(server)
  await app.register(cors, options)
  routes(app)
  await app.ready()
  return app
}

/** The CORS-relevant headers of a response (Access-Control-*, Vary, Allow), for exact comparison. */
export function corsHeaders (headers: Record<string, unknown>): Record<string, string> {
  const picked: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith('access-control-') || name === 'vary' || name === 'allow') picked[name] = String(value)
  }
  return picked
}

export function preflight (url: string, origin: string, method: string, requestHeaders?: string): InjectOptions {
  const headers: Record<string, string> = { origin, 'access-control-request-method': method }
  if (requestHeaders !== undefined) headers['access-control-request-headers'] = requestHeaders
  return { method: 'OPTIONS', url, headers }
}

export const PREFLIGHT_VARY = 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers'

/** The log lines of an app, parsed: pass `logger` to Fastify, read `lines` after the requests. */
export function logCapture (level = 'debug'): { logger: { level: string, stream: Writable }, lines: Array<Record<string, any>> } {
  const lines: Array<Record<string, any>> = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line))
      callback()
    },
  })
  return { logger: { level, stream }, lines }
}

/** The refusal decisions logged so far, flattened: reason, detail (the sentence), origin, method, header, route, policy. */
export function refusals (lines: ReadonlyArray<Record<string, any>>): Array<Record<string, unknown>> {
  return lines.filter((line) => line.cors !== undefined && line.level === 20).map((line) => {
    const { message, ...subject } = line.cors.detail
    return { allowed: line.cors.allowed, reason: line.cors.reason, detail: message, ...subject }
  })
}

/**
 * Starts an app with these plugin options and, when given, a `PUT /me` route declaring `route` (or
 * the routes `route` declares, when it is a function); returns why it did not start (thrown by a
 * route declaration or by ready()), or null.
 */
export async function startupError (options: unknown, routes: (app: FastifyInstance) => void): Promise<unknown>
export async function startupError (options: unknown, route?: unknown): Promise<unknown>
export async function startupError (options: unknown, route?: unknown): Promise<unknown> {
  const app = Fastify()
  try {
    await app.register(cors, options as CorsPluginOptions)
    if (typeof route === 'function') (route as (app: FastifyInstance) => void)(app)
    else if (route !== undefined) app.put('/me', { config: { cors: route as CorsRouteOption } }, async () => 'me')
    await app.ready()
  } catch (err) {
    return err
  } finally {
    await app.close()
  }
  return null
}

/**
 * Makes the app see repeated Origin headers as a list, as an HTTP layer that keeps them apart would
 * (Node's joins them with ", "): an onRequest hook, so add it before the plugin.
 */
export function keepRepeatedOrigins (app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => {
    const raw = request.raw.rawHeaders
    const origins = raw.filter((_value, i) => i % 2 === 1 && raw[i - 1]?.toLowerCase() === 'origin')
    if (origins.length > 1) request.headers.origin = origins as unknown as string
  })
}

/** Collects the CORS decisions published while the test runs. */
export function listenDecisions (t: Test): CorsDecisionEvent[] {
  const events: CorsDecisionEvent[] = []
  const onEvent = (message: unknown): void => { events.push(message as CorsDecisionEvent) }
  subscribe(CORS_DECISION_CHANNEL, onEvent)
  t.teardown(() => { unsubscribe(CORS_DECISION_CHANNEL, onEvent) })
  return events
}
