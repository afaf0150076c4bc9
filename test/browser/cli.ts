// `fastify-cors-policy check` held to the real thing: every case of test/cli-cases.ts runs as a
// fetch() in each engine (Chromium, Firefox) and through the command, against the same plain
// node:http API. They must agree on whether the page could read the response, except where the
// Fetch standard and the engine differ (the case says so, and the command notes it); and where the
// engine refuses, the command's reason is, word for word, what that engine's console printed.
import { main } from '../../lib/cli.ts'
import { MISTAKES, startMistakesApi } from '../cli-cases.ts'
import type { Test } from 'tap'
import { openPage, pageFetch, startPageServer, type EngineName, type Engine } from './harness.ts'

/** The console line that carries the reason: Chromium logs it as an error, Firefox as a page error. */
const REASON: Record<EngineName, (text: string) => boolean> = {
  Chromium: (text) => text.includes('has been blocked by CORS policy'),
  Firefox: (text) => text.startsWith('Cross-Origin Request Blocked:'),
}

export async function cliAgreement (t: Test, engine: Engine): Promise<void> {
  const { name: ENGINE } = engine
  const { origin: PAGE } = await startPageServer(t)
  const api = await startMistakesApi(PAGE)
  t.teardown(() => api.close())
  const page = await openPage(engine, PAGE)
  const printed: string[] = []
  page.on('console', (message) => { if (message.type() === 'error') printed.push(message.text()) })
  page.on('pageerror', (error) => { printed.push((error as Error).message) })

  t.test(`${ENGINE}: ${ENGINE} and the command agree on every case, and the command's reason is ${ENGINE}'s console message`, async (t) => {
    let agreed = 0
    for (const c of MISTAKES) {
      const init: Record<string, unknown> = { method: c.method ?? 'GET', headers: c.headers ?? {} }
      if (c.credentials === true) init.credentials = 'include'
      printed.length = 0
      const browser = await pageFetch(page, api.origin + c.path, init)
      const args = ['check', api.origin + c.path, '--origin', PAGE, '--json']
      if (c.method !== undefined) args.push('--method', c.method)
      for (const [name, value] of Object.entries(c.headers ?? {})) args.push('--header', `${name}:${value}`)
      if (c.credentials === true) args.push('--credentials')
      let stdout = ''
      const status = await main(args, { stdout: (text) => { stdout += text }, stderr: () => {} })
      const report = JSON.parse(stdout) as { ok: boolean, reason: string | null, firefoxReason: string | null, browserDifferences: string[] }
      const engineSays = c.browsers?.[ENGINE] ?? c.ok
      t.equal(report.ok, c.ok, `${c.name}: the command follows the Fetch standard (${c.ok ? 'readable' : 'blocked'})`)
      t.equal(status, c.ok ? 0 : 1)
      t.equal(browser.ok, engineSays, `${c.name}: ${ENGINE} ${engineSays ? 'reads it' : 'blocks it'}` +
        (engineSays === c.ok ? '' : `, unlike the standard; the command notes: ${report.browserDifferences.join(' ')}`))
      if (engineSays !== c.ok) t.equal(report.browserDifferences.length, 1, `${c.name}: the difference is noted`)
      if (!browser.ok && !report.ok) {
        // The console line may come a moment after fetch() rejected.
        for (let i = 0; i < 20 && !printed.some(REASON[ENGINE]); i++) await new Promise((resolve) => setTimeout(resolve, 25))
        t.equal(report[ENGINE === 'Chromium' ? 'reason' : 'firefoxReason'], printed.find(REASON[ENGINE]), `${c.name}: the reason in ${ENGINE}'s words`)
      }
      if (browser.ok === report.ok || engineSays !== c.ok) agreed++
    }
    t.equal(agreed, MISTAKES.length, `${agreed} of ${MISTAKES.length} cases: ${ENGINE} does what the command says it does`)
  })
}
