// The browser suite's harness: a real Chromium (the Debian package, driven by playwright-core),
// a page server and an API server on loopback, and the API's own record of what reached it.
import { accessSync, constants } from 'node:fs'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import { chromium, type Browser, type Page } from 'playwright-core'
import type { Test } from 'tap'
import cors, { type CorsPluginOptions } from '../../lib/index.ts'

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
/** Set by .ci/run: there a browser that is missing or cannot start fails the suite. */
const REQUIRED = process.env.CORS_BROWSER_REQUIRED === '1'

const LAUNCH_ARGS = [
  '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic',
]

/**
 * Launches Chromium once for a test file and closes it at the end of `t`. Without a browser
 * (and without CORS_BROWSER_REQUIRED=1) it plans no test, with one line saying why and how to
 * install one, and returns null. A browser that is installed but cannot start is a failure.
 */
export async function launchBrowser (t: Test): Promise<Browser | null> {
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK)
  } catch {
    const install = 'install it with apt-get install chromium, or set CHROMIUM_PATH'
    if (REQUIRED) t.fail(`the browser suite is required (CORS_BROWSER_REQUIRED=1) but there is no Chromium at ${CHROMIUM_PATH}; ${install}`)
    else t.plan(0, `browser suite not run: no Chromium at ${CHROMIUM_PATH}; ${install}`)
    return null
  }
  try {
    const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: LAUNCH_ARGS })
    t.teardown(() => browser.close())
    return browser
  } catch (error) {
    t.fail(`Chromium at ${CHROMIUM_PATH} did not start (${(error as Error).message.split('\n')[0]}); ` +
      `try ${CHROMIUM_PATH} --headless --no-sandbox --dump-dom about:blank to see why`)
    return null
  }
}

async function listen (app: FastifyInstance): Promise<number> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  return (app.server.address() as AddressInfo).port
}

const PAGE = '<!doctype html><meta charset="utf-8"><title>page</title><script src="/probe.js"></script>'

// Runs in the page. Each probe resolves to what the page's script could see: never a rejection.
const PROBE_JS = String.raw`
async function probe (url, init, read) {
  try {
    const response = await fetch(url, init)
    const headers = {}
    for (const name of read || []) headers[name] = response.headers.get(name)
    return { ok: true, status: response.status, body: await response.text(), headers }
  } catch (error) {
    return { ok: false, error: error.name }
  }
}
function probeXhr (url) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest()
    xhr.open('GET', url)
    xhr.withCredentials = true
    xhr.onload = () => resolve({ ok: true, status: xhr.status, body: xhr.responseText })
    xhr.onerror = () => resolve({ ok: false, error: 'error event', status: xhr.status })
    xhr.send()
  })
}
// A sandboxed iframe (scripts allowed, same origin not) has an opaque origin: it sends Origin: null.
function probeFromSandbox (url, init) {
  return new Promise((resolve) => {
    const frame = document.createElement('iframe')
    frame.setAttribute('sandbox', 'allow-scripts')
    const script = probe.toString() + ';probe(' + JSON.stringify(url) + ',' + JSON.stringify(init) + ')' +
      '.then((result) => parent.postMessage(Object.assign(result, { frameOrigin: self.origin }), "*"))'
    frame.srcdoc = '<script>' + script.replace(/<\//g, '<\\/') + '<' + '/script>'
    addEventListener('message', function done (event) {
      if (event.source !== frame.contentWindow) return
      removeEventListener('message', done)
      frame.remove()
      resolve(event.data)
    })
    document.body.append(frame)
  })
}
`

/**
 * Serves a blank page with the probes. It answers on two origins: `http://localhost:PORT` (the
 * page the policies list) and `http://127.0.0.1:PORT` (another origin, same server).
 */
export async function startPageServer (t: Test): Promise<{ origin: string, otherOrigin: string }> {
  const app = Fastify()
  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(PAGE))
  app.get('/probe.js', async (_request, reply) => reply.type('text/javascript').send(PROBE_JS))
  const port = await listen(app)
  t.teardown(() => app.close())
  return { origin: `http://localhost:${port}`, otherOrigin: `http://127.0.0.1:${port}` }
}

/** What the API saw of one request, recorded before the plugin runs, with the status it answered. */
export interface Seen {
  method: string
  path: string
  origin: string | undefined
  acrm: string | undefined
  acrh: string | undefined
  cookie: string | undefined
  status: number | null
}

export interface Api {
  origin: string
  /** Every request that reached the API, in order. */
  seen: Seen[]
  /** How many requests reached `method path` (path without query). */
  count: (method: string, path: string) => number
  /** The requests to `path`, as `METHOD status` strings: `['OPTIONS 204', 'PUT 200']`. */
  trace: (path: string) => string[]
}

/**
 * An API on its own origin (`http://localhost:PORT`) using the plugin. Its request log is an
 * onRequest hook added before the plugin, so it records preflights too; the status comes from an
 * onSend hook, which runs before a byte goes out, so it is there once the page has its answer.
 */
export async function startApi (t: Test, options: CorsPluginOptions, routes: (app: FastifyInstance) => void): Promise<Api> {
  const app = Fastify()
  const seen: Seen[] = []
  const entries = new WeakMap<object, Seen>()
  app.addHook('onRequest', async (request) => {
    const header = (name: string): string | undefined => {
      const value = request.headers[name]
      return Array.isArray(value) ? value.join(', ') : value
    }
    const entry: Seen = {
      method: request.method,
      path: request.url.split('?')[0] as string,
      origin: header('origin'),
      acrm: header('access-control-request-method'),
      acrh: header('access-control-request-headers'),
      cookie: header('cookie'),
      status: null,
    }
    seen.push(entry)
    entries.set(request, entry)
  })
  app.addHook('onSend', async (request, reply) => {
    const entry = entries.get(request)
    if (entry !== undefined) entry.status = reply.statusCode
  })
  await app.register(cors, options)
  routes(app)
  const port = await listen(app)
  t.teardown(() => app.close())
  return {
    origin: `http://localhost:${port}`,
    seen,
    count: (method, path) => seen.filter((s) => s.method === method && s.path === path).length,
    trace: (path) => seen.filter((s) => s.path === path).map((s) => `${s.method} ${s.status ?? '-'}`),
  }
}

/** What a page script could see of one request: a readable response, or the error it got. */
export interface Outcome {
  ok: boolean
  status?: number
  body?: string
  headers?: Record<string, string | null>
  error?: string
  frameOrigin?: string
}

/** A page (tab) showing the blank page of `origin`, closed with the browser. Reuse it: a new one costs ~0.5 s. */
export async function openPage (browser: Browser, origin: string): Promise<Page> {
  const page = await browser.newPage()
  await page.goto(origin + '/')
  return page
}

/** Runs `fetch(url, init)` in the page and reports what its script could see. */
export function pageFetch (page: Page, url: string, init: object = {}, readHeaders: string[] = []): Promise<Outcome> {
  return page.evaluate(`probe(${JSON.stringify(url)}, ${JSON.stringify(init)}, ${JSON.stringify(readHeaders)})`)
}

/** Runs an `XMLHttpRequest` with `withCredentials = true` in the page. */
export function pageXhr (page: Page, url: string): Promise<Outcome> {
  return page.evaluate(`probeXhr(${JSON.stringify(url)})`)
}

/** Runs `fetch(url, init)` in a sandboxed iframe of the page, whose origin is `null`. */
export function sandboxFetch (page: Page, url: string, init: object = {}): Promise<Outcome> {
  return page.evaluate(`probeFromSandbox(${JSON.stringify(url)}, ${JSON.stringify(init)})`)
}

/** A page script's failed fetch: what browsers give for any CORS failure, with no detail. */
export const BLOCKED: Outcome = { ok: false, error: 'TypeError' }
