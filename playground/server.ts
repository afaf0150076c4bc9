// `npm start`: the playground. A page on one origin and the API of ./api.ts on another, so that
// every fetch the page makes is cross-origin, and the API reports what it saw and answered.
import { readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import Fastify, { type FastifyInstance, type RouteHandlerMethod } from 'fastify'
import { api } from './api.ts'
import type { CorsPolicyReportRow } from 'fastify-cors-policy'
import { judgeSetCookie, type SetCookieVerdict } from 'fastify-cors-policy/testing'

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url))

export interface PlaygroundOptions {
  /** Port of the page; 0 for any free port. Busy ports fall back to a free one. Default 3000. */
  pagePort?: number
  /** Port of the API. Default 3001. */
  apiPort?: number
  /** Log at this level (pino, to stdout): `debug` shows why the plugin refused each request. Default: no log. */
  logLevel?: string
}

export interface Playground {
  pageUrl: string
  apiUrl: string
  /** The same API as http://127.0.0.1:PORT: another site than the page's (http://localhost), with no set-up. */
  crossSiteApiUrl: string
  /** Prints the API's policy report (app.printCorsPolicies()). */
  printPolicies: () => void
  close: () => Promise<void>
}

/** Starts the page server and the API server on localhost. */
export async function startPlayground (options: PlaygroundOptions = {}): Promise<Playground> {
  const logger = options.logLevel === undefined ? false : { level: options.logLevel }
  const page = Fastify({ logger })
  const files = {
    html: readFileSync(here('page/index.html'), 'utf8'),
    css: readFileSync(here('page/playground.css'), 'utf8'),
    js: readFileSync(here('page/playground.js'), 'utf8'),
    api: readFileSync(here('api.ts'), 'utf8'),
  }
  let apiUrl = ''
  let crossSiteApiUrl = ''
  let policyTable = ''
  page.get('/', async (_request, reply) => {
    const html = files.html.replaceAll('{{API}}', apiUrl).replaceAll('{{CROSS_SITE_API}}', crossSiteApiUrl)
      .replace('{{API_SOURCE}}', () => escapeHtml(files.api))
      .replace('{{POLICY_REPORT}}', () => policyTable)
    return reply.type('text/html; charset=utf-8').send(html)
  })
  page.get('/playground.css', async (_request, reply) => reply.type('text/css; charset=utf-8').send(files.css))
  page.get('/playground.js', async (_request, reply) => reply.type('text/javascript; charset=utf-8').send(files.js))
  const pageUrl = await listen(page, options.pagePort ?? 3000)

  // The policies name the page's origin, so the API is built once the page has its port.
  const app = Fastify({ logger })
  const readLog = recordCors(app)
  await api(app, { pageOrigin: pageUrl })
  // After the plugin, so that it governs the route: the page reads the log cross-origin.
  app.get('/__log', { config: { cors: 'public' } }, readLog)
  try {
    apiUrl = await listen(app, options.apiPort ?? 3001)
  } catch (error) {
    await page.close()
    throw error
  }
  // localhost and 127.0.0.1 are two sites: the same API on the other name is a cross-site API.
  crossSiteApiUrl = apiUrl.replace('//localhost:', '//127.0.0.1:')
  policyTable = reportTable(app.corsPolicyReport().filter((row) => row.path !== '/__log'))
  return {
    pageUrl,
    apiUrl,
    crossSiteApiUrl,
    printPolicies: () => { app.printCorsPolicies() },
    close: async () => { await Promise.all([page.close(), app.close()]) },
  }
}

async function listen (app: FastifyInstance, port: number): Promise<string> {
  try {
    await app.listen({ port, host: 'localhost' })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) throw error
    await app.listen({ port: 0, host: 'localhost' })
  }
  return `http://localhost:${(app.server.address() as AddressInfo).port}`
}

/** The plugin's policy report as an HTML table: every route, its policy and what that policy allows. */
function reportTable (rows: CorsPolicyReportRow[]): string {
  const columns: Array<[keyof CorsPolicyReportRow, string]> = [
    ['method', 'method'], ['path', 'path'], ['policy', 'policy'], ['origins', 'origins'], ['credentials', 'credentials'],
    ['allowHeaders', 'allow headers'], ['exposeHeaders', 'expose headers'], ['maxAge', 'max age'],
  ]
  const cell = (row: CorsPolicyReportRow, key: keyof CorsPolicyReportRow): string => {
    const value = row[key]
    return escapeHtml(value === null ? (key === 'policy' ? 'no CORS' : '–') : value === '' ? '–' : String(value))
  }
  const head = columns.map(([, title]) => `<th>${title}</th>`).join('')
  const body = rows.map((row) => `<tr>${columns.map(([key]) => `<td>${cell(row, key)}</td>`).join('')}</tr>`).join('\n')
  return `<table class="report"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`
}

function escapeHtml (text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')
}

/** What the API saw of one request and the CORS headers it answered with. */
interface Entry {
  seq: number
  method: string
  url: string
  origin: string | null
  /** Access-Control-Request-Method and -Headers: set on preflights. */
  requestMethod: string | null
  requestHeaders: string | null
  cookie: boolean
  status: number | null
  sent: Record<string, string>
  /** Each Set-Cookie of the answer as Chromium and Firefox treat it (fastify-cors-policy/testing's judgeSetCookie). Names and attributes only. */
  cookies: SetCookieVerdict[]
}

const MAX_ENTRIES = 500

/**
 * Records every request to the API (but the log's own) before the plugin sees it, and the
 * Access-Control-* headers of the answer once sent; `GET /__log?since=N` returns the entries after
 * N. A blocked response is hidden from the page: this log is how the page shows it anyway.
 */
function recordCors (app: FastifyInstance): RouteHandlerMethod {
  const log: Entry[] = []
  const answered = new WeakMap<Entry, Promise<void>>()
  const open = new WeakMap<object, { entry: Entry, finish: () => void }>()
  let seq = 0

  app.addHook('onRequest', async (request) => {
    if (request.url.startsWith('/__log')) return
    const header = (name: string): string | null => {
      const value = request.headers[name]
      return value === undefined ? null : String(value)
    }
    const entry: Entry = {
      seq: ++seq,
      method: request.method,
      url: request.url,
      origin: header('origin'),
      requestMethod: header('access-control-request-method'),
      requestHeaders: header('access-control-request-headers'),
      cookie: request.headers.cookie !== undefined,
      status: null,
      sent: {},
      cookies: [],
    }
    log.push(entry)
    if (log.length > MAX_ENTRIES) log.shift()
    answered.set(entry, new Promise<void>((resolve) => { open.set(request, { entry, finish: resolve }) }))
  })

  // onResponse runs after every onSend hook, the plugin's included, has set its headers.
  app.addHook('onResponse', async (request, reply) => {
    const record = open.get(request)
    if (record === undefined) return
    record.entry.status = reply.statusCode
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (name.startsWith('access-control-')) record.entry.sent[name] = String(value)
    }
    const setCookie = reply.getHeader('set-cookie')
    const origin = record.entry.origin
    if (setCookie !== undefined && origin !== null) {
      // The page's scenarios that set cookies all call with credentials: 'include'.
      const url = new URL(request.url, `http://${request.headers.host}`)
      for (const line of [setCookie].flat()) {
        const verdict = judgeSetCookie(String(line), { page: origin, url, from: 'response', credentials: true, refused: record.entry.sent['access-control-allow-origin'] === undefined, later: url })
        if (verdict !== null) record.entry.cookies.push(verdict)
      }
    }
    record.finish()
  })

  return async function readLog (request) {
    const query = request.query as { since?: string }
    // Without `since`: only where the log stands, for a page that just opened.
    if (query.since === undefined) return { next: seq, entries: [] }
    const since = Number(query.since) || 0
    const entries = log.filter((entry) => entry.seq > since)
    // The page asks right after its fetch settled: the API may be a moment from its onResponse hook.
    const unanswered = entries.filter((entry) => entry.status === null).map((entry) => answered.get(entry))
    await Promise.race([Promise.all(unanswered), new Promise((resolve) => setTimeout(resolve, 1000).unref())])
    return { next: entries.at(-1)?.seq ?? since, entries }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const env = (name: string, fallback: number): number => {
    const value = process.env[name]
    return value === undefined || value === '' ? fallback : Number(value)
  }
  const playground = await startPlayground({
    pagePort: env('PORT', 3000),
    apiPort: env('API_PORT', 3001),
    logLevel: process.env.LOG_LEVEL || undefined,
  })
  console.log(`CORS playground: open ${playground.pageUrl}`)
  console.log(`  page ${playground.pageUrl}, API ${playground.apiUrl}, the same API as another site ${playground.crossSiteApiUrl}`)
  console.log('  (PORT and API_PORT choose the ports;')
  console.log('  LOG_LEVEL=debug logs why each request was refused). Ctrl-C stops it.\n')
  console.log('The API\'s routes and policies (app.printCorsPolicies()):\n')
  playground.printPolicies()
  let stopping = false
  const stop = (): void => {
    if (stopping) return
    stopping = true
    // close() stops listening at once; a connection that lingers past this does not hold the exit.
    setTimeout(() => process.exit(1), 3000).unref()
    playground.close().then(() => process.exit(0), () => process.exit(1))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  // `npm start` runs this under `sh -c`: a SIGTERM to npm is passed to that shell only, which dies
  // without passing it on (Ctrl-C reaches every process of the terminal's group instead). This
  // process is then left to init: the parent it started with is gone, so stop, and free the ports.
  const parent = process.ppid
  setInterval(() => { if (process.ppid !== parent) stop() }, 200).unref()
}
