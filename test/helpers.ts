import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance, type FastifyServerOptions, type InjectOptions } from 'fastify'
import cors, { type CorsPluginOptions, type CorsRouteOption } from '../lib/index.ts'

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

/** Starts an app with these plugin options and, when given, a `PUT /me` route declaring `route`; returns why it did not start, or null. */
export async function startupError (options: unknown, route?: unknown): Promise<unknown> {
  const app = Fastify()
  try {
    await app.register(cors, options as CorsPluginOptions)
    if (route !== undefined) app.put('/me', { config: { cors: route as CorsRouteOption } }, async () => 'me')
    await app.ready()
  } catch (err) {
    return err
  } finally {
    await app.close()
  }
  return null
}
