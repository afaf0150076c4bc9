// The cookie half of the browser model held to the real thing: every case of test/cookie-cases.ts
// runs as a credentialed fetch() from a real page on a real origin (http and https, same-site and
// cross-site), against a plain node:http(s) API, in each engine's regular profile with the cookie
// settings it ships with (asserted first). For each cookie the engine's jar says whether it was
// stored, the API says whether the page's next call of the same URL sent it back, and a visit to
// the API's own origin says whether it was kept for the page's site only (partitioned). The
// model's verdict must be exactly that, for every case and each engine; and so must the verdict of
// `fastify-cors-policy check` on the same calls (the cases on localhost and 127.0.0.1), run in a
// process of its own that trusts the suite's certificate through NODE_EXTRA_CA_CERTS.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import type { Page } from 'puppeteer-core'
import { isPotentiallyTrustworthy } from '../../lib/tools/browser/site.ts'
import type { CookieEngine } from '../../lib/tools/browser/cookies.ts'
import { COOKIE_BATCHES, batchUrl, caseCookieName, modelVerdicts, startCookieServers, withPort, type Ports } from '../cookie-cases.ts'
import { FIREFOX_COOKIE_PREFS, TEST_CERTIFICATE, inFirefoxChrome, type Engine, type EngineName } from './harness.ts'

/** What an engine measurably does with a cookie. */
interface Measured { stored: boolean, sentBack: boolean, partitioned: boolean }

const KEY: Record<EngineName, CookieEngine> = { Chromium: 'chromium', Firefox: 'firefox' }

/** Firefox's cookie preferences that decide what is measured, with the values it ships with (153 ESR). */
const FIREFOX_SHIPPED = {
  // 5: Total Cookie Protection (third-party cookies in a jar of the top-level site).
  'network.cookie.cookieBehavior': 5,
  'network.cookie.sameSite.laxByDefault': false,
  'network.cookie.sameSite.noneRequiresSecure': true,
  'network.cookie.sameSite.schemeful': false,
  'network.cookie.CHIPS.enabled': true,
}

async function assertSettings (t: Test, engine: Engine, page: Page): Promise<void> {
  if (engine.name === 'Chromium') {
    // chrome://prefs-internals exists only in a regular (not off-the-record) profile.
    await page.goto('chrome://prefs-internals')
    const prefs = JSON.parse(await page.evaluate(() => document.body.innerText)) as Record<string, unknown>
    const pref = (...path: string[]): unknown => path.reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], prefs)
    // 1 is "Block third-party cookies" (0 allows them, 2 blocks them in incognito only): this build's default.
    t.same(pref('profile', 'cookie_controls_mode'), { value: 1, metadata: ['default', 'user_modifiable', 'extension_modifiable'] },
      'Chromium: the regular profile, third-party cookie setting at its default (block third-party cookies)')
    t.same(pref('profile', 'default_content_setting_values', 'cookies'), { value: 1, metadata: ['default', 'user_modifiable', 'extension_modifiable'] },
      'Chromium: cookies allowed (the default content setting)')
  } else {
    const prefixes = JSON.stringify(FIREFOX_COOKIE_PREFS)
    const changed = await inFirefoxChrome(engine.browser, `return ${prefixes}.flatMap((b) => Services.prefs.getChildList(b)).filter((n) => Services.prefs.prefHasUserValue(n))`)
    t.same(changed, [], 'Firefox: no cookie preference differs from what the browser ships with')
    const values = await inFirefoxChrome(engine.browser, `return Object.fromEntries(${JSON.stringify(Object.keys(FIREFOX_SHIPPED))}.map((n) => ` +
      '[n, Services.prefs.getPrefType(n) === Services.prefs.PREF_INT ? Services.prefs.getIntPref(n) : Services.prefs.getBoolPref(n)]))')
    t.same(values, FIREFOX_SHIPPED, 'Firefox: the shipped cookie settings the model describes (Total Cookie Protection, no Lax by default, not schemeful)')
  }
}

/** Runs fetches in the page at once; each resolves to whether the script could read it and, with echo, the Cookie header the API received. */
function fetchAll (page: Page, calls: Array<{ url: string, init: object }>): Promise<Array<{ ok: boolean, body: string }>> {
  return page.evaluate((calls) => Promise.all(calls.map(async ({ url, init }) => {
    try {
      const response = await fetch(url, init)
      return { ok: true, body: await response.text() }
    } catch {
      return { ok: false, body: '' }
    }
  })), calls)
}

function names (cookieHeader: string): Set<string> {
  return new Set(cookieHeader.split(';').map((pair) => pair.trim().split('=')[0]!))
}

export async function cookies (t: Test, engine: Engine): Promise<void> {
  const { name: ENGINE, browser } = engine
  // The regular profile (in Chromium, the contexts of the other parts are off the record).
  const context = browser.defaultBrowserContext()
  const page = await context.newPage()
  t.teardown(() => page.close())
  await assertSettings(t, engine, page)

  const { ports, command } = await acquireServers()
  t.teardown(releaseServers)
  const measured = new Map<string, Measured>()

  // One visit to each page origin; every batch of that page at once, then every echo at once.
  const byPage = new Map<string, number[]>()
  COOKIE_BATCHES.forEach((b, index) => {
    const origin = withPort(b.page, 'page', ports)
    byPage.set(origin, [...byPage.get(origin) ?? [], index])
  })
  const fetched = new Map<number, { ok: boolean, echoed: Set<string> }>()
  for (const [origin, indexes] of byPage) {
    await page.goto(origin + '/')
    t.equal(await page.evaluate(() => isSecureContext), isPotentiallyTrustworthy(new URL(origin)), `${ENGINE}: ${origin} is ${isPotentiallyTrustworthy(new URL(origin)) ? '' : 'not '}a secure context`)
    const sets = await fetchAll(page, indexes.map((index) => ({
      url: batchUrl(index, ports),
      init: { credentials: COOKIE_BATCHES[index]!.credentials, method: COOKIE_BATCHES[index]!.via === 'preflight' ? 'PUT' : 'GET' },
    })))
    const echoes = await fetchAll(page, indexes.map((index) => ({ url: `${batchUrl(index, ports)}&echo=1`, init: { credentials: 'include' } })))
    indexes.forEach((index, i) => fetched.set(index, { ok: sets[i]!.ok, echoed: names(echoes[i]!.body) }))
  }

  // The jar, and what the API's own origin gets when visited, on the path of each stored cookie.
  const stored = new Map((await context.cookies()).map((cookie) => [cookie.name, cookie]))
  const visitUrl = (batchIndex: number, path: string): string => `${withPort(COOKIE_BATCHES[batchIndex]!.api, 'api', ports)}${path === '/' ? '' : path}/visit`
  const visits = new Map<string, Set<string>>()
  COOKIE_BATCHES.forEach((b, batchIndex) => b.cases.forEach((_c, caseIndex) => {
    const kept = stored.get(caseCookieName(batchIndex, caseIndex))
    if (kept !== undefined) visits.set(visitUrl(batchIndex, kept.path), new Set())
  }))
  for (const url of visits.keys()) {
    await page.goto(url)
    visits.set(url, names(await page.evaluate(() => document.body.innerText)))
  }

  t.test(`${ENGINE}: the cookie model says what ${ENGINE} did with each Set-Cookie`, async (t) => {
    let agreed = 0
    let cases = 0
    COOKIE_BATCHES.forEach((b, batchIndex) => {
      const { ok, echoed } = fetched.get(batchIndex)!
      const readable = b.via !== 'refused' && b.via !== 'refused-redirect'
      t.equal(ok, readable, `${b.title}: the page ${readable ? 'reads' : 'cannot read'} the response`)
      b.cases.forEach((c, caseIndex) => {
        const name = caseCookieName(batchIndex, caseIndex)
        const kept = stored.get(name)
        const actual: Measured = { stored: kept !== undefined, sentBack: echoed.has(name), partitioned: kept !== undefined && !visits.get(visitUrl(batchIndex, kept.path))!.has(name) }
        measured.set(name, actual)
        const model = modelVerdicts(batchIndex, caseIndex, ports)[KEY[ENGINE]]
        const said: Measured = { stored: model.stored, sentBack: model.sentBack, partitioned: model.partitioned }
        cases++
        if (t.same(said, actual, `${b.title}, ${c.label}: ${model.reason}`)) agreed++
      })
    })
    t.equal(agreed, cases, `${agreed} of ${cases} cookies: ${ENGINE} does what the model says`)
  })

  t.test(`${ENGINE}: fastify-cors-policy check says what ${ENGINE} did with each cookie (HTTPS trusted through NODE_EXTRA_CA_CERTS)`, async (t) => {
    const results = await command
    let agreed = 0
    let cases = 0
    for (const [batchIndex, { status, report }] of results) {
      const b = COOKIE_BATCHES[batchIndex]!
      const readable = b.via !== 'refused' && b.via !== 'refused-redirect'
      t.same([report.ok, status], [readable, readable ? 0 : 1], `${b.title}: the CORS verdict and the exit status, whatever the cookies`)
      t.equal(report.setCookies.length, b.cases.length, `${b.title}: every cookie of the answers is judged`)
      b.cases.forEach((c, caseIndex) => {
        const name = caseCookieName(batchIndex, caseIndex)
        const verdict = report.setCookies.find((cookie) => cookie.name === name)!.engines[KEY[ENGINE]]
        cases++
        if (t.same({ stored: verdict.stored, sentBack: verdict.sentBack, partitioned: verdict.partitioned }, measured.get(name), `${b.title}, ${c.label}: ${verdict.reason}`)) agreed++
      })
    }
    t.ok(results.size >= 12, `${results.size} calls of the command`)
    t.equal(agreed, cases, `${agreed} of ${cases} cookies: the command says what ${ENGINE} did`)
  })
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

type CommandResults = Awaited<ReturnType<typeof runCommand>>

/**
 * The servers, and the command's verdicts on their calls, shared by the engines that run the part
 * at the same time (the servers keep no state, and the command's verdicts name both engines): one
 * set of servers and one command process instead of one per engine. The last engine to finish
 * closes them.
 */
let shared: Promise<{ ports: Ports, command: Promise<CommandResults>, close: () => Promise<void> }> | undefined
let users = 0

function acquireServers (): Promise<{ ports: Ports, command: Promise<CommandResults> }> {
  users++
  shared ??= startCookieServers(TEST_CERTIFICATE).then(({ ports, close }) => {
    // Computed while the browsers work; awaited by each engine's subtest, so never an unhandled rejection meanwhile.
    const command = runCommand(ports)
    command.catch(() => {})
    return { ports, command, close }
  })
  return shared
}

async function releaseServers (): Promise<void> {
  if (--users > 0) return
  const servers = await shared!
  shared = undefined
  await servers.close()
}

/** Every batch of the command's cases, as `check` runs it: exit status and its JSON report. */
async function runCommand (ports: Ports): Promise<Map<number, { status: number, report: { ok: boolean, setCookies: Array<{ name: string, engines: Record<CookieEngine, Measured & { reason: string }> }> } }>> {
  const batches = COOKIE_BATCHES.map((b, index) => ({ b, index })).filter(({ b }) => b.cli)
  const argvs = batches.map(({ b, index }) => [
    'check', batchUrl(index, ports), '--origin', withPort(b.page, 'page', ports), '--json',
    ...(b.credentials === 'include' ? ['--credentials'] : []),
    ...(b.via === 'preflight' ? ['--method', 'PUT'] : []),
  ])
  const folder = mkdtempSync(join(tmpdir(), 'cookie-cli-'))
  try {
    const ca = join(folder, 'ca.pem')
    writeFileSync(ca, TEST_CERTIFICATE.cert)
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', './test/typescript-loader.mjs', 'test/cli-runner.ts'], {
        cwd: ROOT,
        env: { ...process.env, NODE_EXTRA_CA_CERTS: ca },
        stdio: ['pipe', 'pipe', 'inherit'],
      })
      let stdout = ''
      child.stdout.on('data', (chunk) => { stdout += chunk })
      child.on('error', reject)
      child.on('close', (code) => code === 0 ? resolve(stdout) : reject(new Error(`the command runner exited with ${code}`)))
      child.stdin.end(JSON.stringify(argvs))
    })
    const results = JSON.parse(output) as Array<{ status: number, stdout: string }>
    return new Map(batches.map(({ index }, i) => [index, { status: results[i]!.status, report: JSON.parse(results[i]!.stdout) }]))
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
}
