// The browser suite's harness: real browsers (Debian's Chromium and Firefox ESR, both driven by
// puppeteer-core, Chromium over CDP and Firefox over WebDriver BiDi), a page server and an API
// server on loopback, and the API's own record of what reached it. Everything past the launch is
// the same code for both engines: a test file describes its cases once and runs them in each.
import { accessSync, constants } from 'node:fs'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import puppeteer, { type Browser, type BrowserContext, type Page } from 'puppeteer-core'
import type { Test } from 'tap'
import cors, { type CorsPluginOptions } from '../../lib/index.ts'
import { makeTestCertificate } from '../certificate.ts'

/** Set by .ci/run: there a browser that is missing or cannot start fails the suite. */
const REQUIRED = process.env.CORS_BROWSER_REQUIRED === '1'

/**
 * Host names that both engines resolve to 127.0.0.1, so that pages can have real subdomain
 * origins and real sites: under the reserved `.test` domain, and two names under github.io, a
 * public suffix of the list's private section (each name there is a site of its own). Chromium
 * maps them with --host-resolver-rules, Firefox with the network.dns.localDomains preference; a
 * name missing here fails to resolve in both.
 */
export const TEST_HOSTS = [
  'example.test', 'app.example.test', 'a.b.example.test', 'example.test.evil.test', 'api.example.test', 'api.other.test',
  'alice.github.io', 'bob.github.io',
] as const

/**
 * The certificate of the suite's HTTPS servers, made when the suite starts: for every name above,
 * localhost and 127.0.0.1. Chromium accepts it by its public key (--ignore-certificate-errors-spki-list),
 * Firefox through the automation's acceptInsecureCerts.
 */
export const TEST_CERTIFICATE = makeTestCertificate([...TEST_HOSTS, 'localhost', '127.0.0.1'])

/**
 * Firefox's cookie preferences as the browser ships them: puppeteer's profile writes some
 * (network.cookie.sameSite.laxByDefault, and browser.contentblocking.features.standard, which
 * older versions turned into network.cookie.cookieBehavior), so the launch clears every user
 * value under these names. test/browser/cookies.ts asserts the effective values.
 */
export const FIREFOX_COOKIE_PREFS = ['network.cookie.', 'browser.contentblocking.features.'] as const

export type EngineName = 'Chromium' | 'Firefox'

export interface Engine {
  name: EngineName
  /** As the browser reports it, e.g. `156.0.8078.114` or `153.8.0`. */
  version: string
  /**
   * Where a part of the suite opens its pages: a browser context of its own (own cookies, own
   * preflight cache, own connections), closed when the part ends, before its servers close.
   * In Chromium these contexts are off the record.
   */
  pages: BrowserContext
  /** The browser itself: its default context is the engine's regular profile, as a user has it. */
  browser: Browser
}

/** One part of the browser suite, run in each engine. */
export type Part = (t: Test, engine: Engine) => Promise<void>

interface Launcher {
  name: EngineName
  path: string
  install: string
  launch: (path: string) => Promise<Browser>
}

const LAUNCHERS: Launcher[] = [
  {
    name: 'Chromium',
    path: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    install: 'install it with apt-get install chromium, or set CHROMIUM_PATH',
    launch: (executablePath) => puppeteer.launch({
      executablePath,
      headless: true,
      args: [
        '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--disable-quic',
        `--host-resolver-rules=${TEST_HOSTS.map((host) => `MAP ${host} 127.0.0.1`).join(', ')}`,
        `--ignore-certificate-errors-spki-list=${TEST_CERTIFICATE.spki}`,
      ],
    }),
  },
  {
    name: 'Firefox',
    path: process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr',
    install: 'install it with apt-get install firefox-esr, or set FIREFOX_PATH',
    launch: async (executablePath) => {
      const browser = await puppeteer.launch({
        browser: 'firefox',
        executablePath,
        headless: true,
        acceptInsecureCerts: true,
        // Lets the suite read and reset preferences in the browser's own (chrome) scope.
        args: ['--remote-allow-system-access'],
        extraPrefsFirefox: { 'network.dns.localDomains': TEST_HOSTS.join(',') },
      })
      await inFirefoxChrome(browser, `for (const branch of ${JSON.stringify(FIREFOX_COOKIE_PREFS)}) ` +
        'for (const name of Services.prefs.getChildList(branch)) Services.prefs.clearUserPref(name)')
      return browser
    },
  },
]

/**
 * Launches every engine once (concurrently) and runs the parts in each, the engines side by side,
 * in a subtest named after the engine and its version: the parts one after another, each in a
 * subtest of its own and in a browser context of its own. One launch serves every part (a Firefox
 * launch costs about 4 s of CPU); each browser closes at the end of its subtest. Without
 * CORS_BROWSER_REQUIRED=1, an engine that is not installed is one skipped line saying how to
 * install it (with neither installed, the file plans no test, with that line); with it, a missing
 * engine fails. An engine that is installed but cannot start is a failure.
 */
export async function eachEngine (t: Test, parts: Record<string, Part>): Promise<void> {
  const missing: Array<[name: EngineName, reason: string]> = []
  const launched = await Promise.all(LAUNCHERS.map(async (launcher): Promise<{ name: EngineName, version: string, browser: Browser } | null> => {
    try {
      accessSync(launcher.path, constants.X_OK)
    } catch {
      const reason = `no ${launcher.name} at ${launcher.path}; ${launcher.install}`
      if (REQUIRED) t.fail(`the browser suite is required (CORS_BROWSER_REQUIRED=1) but there is ${reason}`)
      else missing.push([launcher.name, reason])
      return null
    }
    try {
      const browser = await launcher.launch(launcher.path)
      const version = (await browser.version()).replace(/^[^/]*\//, '')
      return { name: launcher.name, version, browser }
    } catch (error) {
      t.fail(`${launcher.name} at ${launcher.path} did not start (${(error as Error).message.split('\n')[0]}); ` +
        `try ${launcher.path} --headless --screenshot about:blank to see why`)
      return null
    }
  }))
  if (missing.length === LAUNCHERS.length) {
    t.plan(0, `browser suite not run: ${missing.map(([, reason]) => reason).join('; ')}`)
    return
  }
  for (const [name, reason] of missing) t.test(`${name}: browser suite not run`, { skip: reason }, () => {})
  const engines = launched.filter((engine) => engine !== null)
  t.jobs = Math.max(1, engines.length)
  for (const { name, version, browser } of engines) {
    t.test(`${name} ${version}`, { buffered: true }, async (t) => {
      t.teardown(() => browser.close())
      for (const [title, part] of Object.entries(parts)) {
        await t.test(title, async (t) => {
          const pages = await browser.createBrowserContext()
          try {
            await part(t, { name, version, pages, browser })
          } finally {
            // Teardowns run last-in first-out: registered after the part's servers, the context
            // closes before them, so no keep-alive or preconnected socket of its holds a close().
            t.teardown(() => pages.close())
          }
        })
      }
    })
  }
}

/**
 * Evaluates `expression` in Firefox's browser (chrome) scope, where `Services` is, and returns its
 * value (JSON-serializable). WebDriver BiDi reaches that scope with --remote-allow-system-access.
 */
export async function inFirefoxChrome (browser: Browser, expression: string): Promise<unknown> {
  const connection = (browser as unknown as { connection: { send: (method: string, params: object) => Promise<{ result: any }> } }).connection
  const { result: tree } = await connection.send('browsingContext.getTree', { 'moz:scope': 'chrome' })
  const { result } = await connection.send('script.evaluate', {
    expression: `JSON.stringify((() => { ${expression} })() ?? null)`,
    target: { context: tree.contexts[0].context },
    awaitPromise: false,
  })
  if (result.type !== 'success') throw new Error(`Firefox chrome scope: ${JSON.stringify(result.exceptionDetails?.text ?? result)}`)
  return JSON.parse(result.result.value)
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
 * Serves a blank page with the probes. It answers on every name of the machine: `origin` is
 * `http://localhost:PORT` (the page the policies list), `otherOrigin` is `http://127.0.0.1:PORT`
 * (another origin, same server), and `at(host)` is `http://HOST:PORT` for one of TEST_HOSTS.
 */
export async function startPageServer (t: Test): Promise<{ origin: string, otherOrigin: string, at: (host: typeof TEST_HOSTS[number]) => string }> {
  const app = Fastify()
  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(PAGE))
  app.get('/probe.js', async (_request, reply) => reply.type('text/javascript').send(PROBE_JS))
  const port = await listen(app)
  t.teardown(() => app.close())
  return { origin: `http://localhost:${port}`, otherOrigin: `http://127.0.0.1:${port}`, at: (host) => `http://${host}:${port}` }
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

/** A page (tab) showing the blank page of `origin`, closed with the part's context. Reuse it: a new one costs ~0.5 s. */
export async function openPage (engine: Engine, origin: string): Promise<Page> {
  const page = await engine.pages.newPage()
  await page.goto(origin + '/')
  return page
}

/** Runs `fetch(url, init)` in the page and reports what its script could see. */
export function pageFetch (page: Page, url: string, init: object = {}, readHeaders: string[] = []): Promise<Outcome> {
  return page.evaluate(`probe(${JSON.stringify(url)}, ${JSON.stringify(init)}, ${JSON.stringify(readHeaders)})`) as Promise<Outcome>
}

/** Runs an `XMLHttpRequest` with `withCredentials = true` in the page. */
export function pageXhr (page: Page, url: string): Promise<Outcome> {
  return page.evaluate(`probeXhr(${JSON.stringify(url)})`) as Promise<Outcome>
}

/** Runs `fetch(url, init)` in a sandboxed iframe of the page, whose origin is `null`. */
export function sandboxFetch (page: Page, url: string, init: object = {}): Promise<Outcome> {
  return page.evaluate(`probeFromSandbox(${JSON.stringify(url)}, ${JSON.stringify(init)})`) as Promise<Outcome>
}

/** A page script's failed fetch: what browsers give for any CORS failure, with no detail. */
export const BLOCKED: Outcome = { ok: false, error: 'TypeError' }
