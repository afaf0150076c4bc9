// The playground of `npm start`, opened in each engine (Chromium, Firefox): every scenario button
// runs, and the page shows the outcome, the preflight and the API's own report that each scenario
// is there to show.
import { startPlayground } from '../../playground/server.ts'
import type { Test } from 'tap'
import type { Engine, EngineName } from './harness.ts'

interface ShownStep { ok: string, preflight: string, outcome: string, seen: string, read: string[], why: string, cookies: string[] }
interface ShownCard { outcome: string, badge: string, steps: ShownStep[] }

/**
 * What each engine reports (console error, or page error in Firefox) for a request the CORS check
 * refused; and for the cross-site login, Chromium the 401 of GET /me without the session cookie,
 * Firefox the cookie it rejected (FIREFOX_REJECTED_COOKIE).
 */
const CORS_CONSOLE_NOISE: Record<EngineName, (text: string) => boolean> = {
  Chromium: (text) => text.includes('has been blocked by CORS policy') || text === 'Failed to load resource: net::ERR_FAILED' ||
    text === 'Failed to load resource: the server responded with a status of 401 (Unauthorized)',
  Firefox: (text) => text.startsWith('Cross-Origin Request Blocked:') || text === FIREFOX_REJECTED_COOKIE,
}

const FIREFOX_REJECTED_COOKIE = 'Cookie “playground_session” has been rejected because it is in a cross-site context and its “SameSite” is “Lax” or “Strict”.'

export async function playground (t: Test, engine: Engine): Promise<void> {
  const { name: ENGINE } = engine
  const playground = await startPlayground({ pagePort: 0, apiPort: 0 })
  t.teardown(() => playground.close())
  const page = await engine.pages.newPage()
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push((error as Error).message))
  page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()) })
  await page.goto(playground.pageUrl)
  await page.waitForSelector('body[data-ready="true"]')
  const PAGE = playground.pageUrl

  /** Clicks the scenario's button, waits for it to finish, and reads what the card shows. */
  const run = async (id: string): Promise<ShownCard> => {
    await page.click(`[data-scenario="${id}"] button.run`)
    await page.waitForSelector(`[data-scenario="${id}"][data-state="done"]`)
    return page.evaluate((id) => {
      const card = document.querySelector(`[data-scenario="${id}"]`) as HTMLElement
      const text = (node: Element | null): string => (node as HTMLElement | null)?.innerText.trim() ?? ''
      return {
        outcome: card.dataset.outcome ?? '',
        badge: text(card.querySelector('.badge')),
        steps: [...card.querySelectorAll<HTMLElement>('.step')].map((step) => ({
          ok: step.dataset.ok ?? '',
          preflight: step.dataset.preflight ?? '',
          outcome: text(step.querySelector('.outcome')),
          seen: text(step.querySelector('table.seen tbody')),
          read: [...step.querySelectorAll('.read')].map(text),
          why: text(step.querySelector('.why')),
          cookies: [...step.querySelectorAll('.cookie')].map(text),
        })),
      }
    }, id)
  }

  t.test(`${ENGINE}: the page names both origins and draws the simple and the preflighted flow`, async (t) => {
    t.equal(await page.$eval('.origins', (node) => (node as HTMLElement).innerText), `page ${PAGE}\n→\nAPI ${playground.apiUrl}`)
    t.equal(await page.$$eval('.flows svg', (nodes) => nodes.length), 2)
    t.match(await page.$eval('details.source', (node) => (node as HTMLElement).innerText), 'playground/api.ts')
  })

  t.test(`${ENGINE}: simple GET: readable, no preflight, Access-Control-Allow-Origin: *`, async (t) => {
    const card = await run('simple')
    t.match(card, { outcome: 'readable', steps: [{ ok: 'true', preflight: 'no', outcome: 'readable · 200 {"hello":"world"}' }] })
    t.match(card.steps[0]?.seen, 'access-control-allow-origin: *')
    t.match(card.steps[0]?.why, 'A simple request, so no preflight')
  })

  t.test(`${ENGINE}: preflighted JSON POST: the preflight is allowed, then the POST is readable`, async (t) => {
    const card = await run('preflight')
    t.match(card, { outcome: 'readable', steps: [{ ok: 'true', preflight: 'yes', outcome: /^readable · 201 / }] })
    t.match(card.steps[0]?.seen, /OPTIONS \/orders[^]*Access-Control-Request-Headers: content-type[^]*204[^]*access-control-allow-headers: content-type[^]*POST \/orders[^]*201/)
    t.match(card.steps[0]?.why, 'content-type application/json')
  })

  t.test(`${ENGINE}: blocked origin: the handler ran, no Access-Control-* header came back, the page got a TypeError`, async (t) => {
    const card = await run('blocked')
    t.match(card, { outcome: 'blocked', steps: [{ ok: 'false', preflight: 'no', outcome: /^blocked TypeError/ }] })
    t.match(card.steps[0]?.seen, /GET \/partners\/catalog\s+200\s+no Access-Control-\* headers/)
    t.match(card.steps[0]?.why, `no Access-Control-Allow-Origin for ${PAGE}`)
  })

  t.test(`${ENGINE}: disallowed header: the preflight is refused with 403 and the GET never goes`, async (t) => {
    const card = await run('header')
    t.match(card, { outcome: 'blocked', steps: [{ ok: 'false', preflight: 'refused', outcome: /^blocked TypeError/ }] })
    t.match(card.steps[0]?.seen, /^OPTIONS \/hello[^]*Access-Control-Request-Headers: x-debug\s+403\s+no Access-Control-\* headers$/)
    t.match(card.steps[0]?.why, 'never sent the GET')
  })

  t.test(`${ENGINE}: credentialed request: the cookie set by POST /session comes back to GET /me, readable`, async (t) => {
    const card = await run('credentials')
    t.match(card, {
      outcome: 'readable',
      steps: [
        { ok: 'true', preflight: 'no', outcome: /^readable · 200 \{"signedIn":"guest-/ },
        { ok: 'true', preflight: 'no', outcome: /^readable · 200 \{"user":"guest-/ },
      ],
    })
    t.match(card.steps[1]?.seen, /GET \/me\s+Cookie: …\s+200\s+access-control-allow-origin: .*\s+access-control-allow-credentials: true/)
    t.match(card.steps[1]?.why, 'The cookie went along')
    t.equal(card.steps[0]?.cookies.length, 1, 'the login\'s cookie, judged by the API')
    t.match(card.steps[0]?.cookies[0], new RegExp(`^Set-Cookie: playground_session=…; Path=/; SameSite=Lax; HttpOnly; Max-Age=3600\\s+${ENGINE} \\(this browser\\): stored and sent back: a first-party cookie \\(localhost is on the page's site`))
    t.notMatch(card.steps[0]?.cookies[0], /guest-/, 'never the value')
  })

  t.test(`${ENGINE}: credentials with a public policy: the API answers *, which never admits credentials`, async (t) => {
    const card = await run('wildcard')
    t.match(card, { outcome: 'blocked', steps: [{ ok: 'false', preflight: 'no', outcome: /^blocked TypeError/ }] })
    t.match(card.steps[0]?.seen, /Cookie: …\s+200\s+access-control-allow-origin: \*/)
    t.match(card.steps[0]?.why, 'never admits a request with credentials')
  })

  t.test(`${ENGINE}: exposed header: x-request-id is readable, x-trace-id is null`, async (t) => {
    const card = await run('expose')
    t.match(card, { outcome: 'readable', steps: [{ ok: 'true', preflight: 'no' }] })
    t.same(card.steps[0]?.read, [
      "response.headers.get('x-request-id') → 'req-7f3a'",
      "response.headers.get('x-trace-id') → null",
    ])
    t.match(card.steps[0]?.seen, 'access-control-expose-headers: x-request-id')
  })

  t.test(`${ENGINE}: per-route policy: PUT and DELETE on one path, each preflight judged by its own route`, async (t) => {
    const card = await run('per-route')
    t.match(card, {
      outcome: 'mixed',
      badge: 'PUT READABLE · DELETE BLOCKED',
      steps: [
        { ok: 'true', preflight: 'yes', outcome: 'readable · 200 {"name":"kettle"}' },
        { ok: 'false', preflight: 'refused', outcome: /^blocked TypeError/ },
      ],
    })
    t.match(card.steps[1]?.why, "the DELETE route's policy refused the preflight (403)")
  })

  t.test(`${ENGINE}: running a preflighted scenario again within 5 s reuses the cached preflight`, async (t) => {
    const card = await run('preflight')
    t.match(card, { outcome: 'readable', steps: [{ ok: 'true', preflight: 'cached' }] })
    t.match(card.steps[0]?.why, 'reused its cached preflight answer')
  })

  t.test(`${ENGINE}: login from another site (127.0.0.1): CORS allows both calls, the cookie is not stored, /me gets none; the card says why and shows the safe fix`, async (t) => {
    const card = await run('cross-site-login')
    t.match(card, {
      outcome: 'readable',
      steps: [
        { ok: 'true', preflight: 'no', outcome: /^readable · 200 \{"signedIn":"guest-/ },
        { ok: 'true', preflight: 'no', outcome: /^readable · 401 \{"error":"no session cookie"\}/ },
      ],
    })
    t.match(card.steps[1]?.seen, /^GET \/me\s+200|^GET \/me\s+401/, 'GET /me reached the API')
    t.notMatch(card.steps[1]?.seen, 'Cookie: …', `${ENGINE} sent no cookie`)
    t.match(card.steps[1]?.why, 'No cookie went along')
    const [cookie] = card.steps[0]!.cookies
    t.match(cookie, new RegExp(`${ENGINE} \\(this browser\\): not stored: 127\\.0\\.0\\.1 is another site \\((?:http://)?127\\.0\\.0\\.1\\) than the page's \\((?:http://)?localhost\\), and a cross-site response cannot set a SameSite=Lax cookie`))
    t.match(cookie, /Safe fix: Serve the API on http:\/\/localhost \(another port is fine: ports do not make sites\): the cookie is then first-party, and SameSite=Lax keeps working in every browser\./)
    t.match(cookie, /SameSite=None; Secure; Partitioned[^]*CSRF/, 'the cross-site way comes second, with CSRF defences')
    if (ENGINE === 'Firefox') t.ok(errors.includes(FIREFOX_REJECTED_COOKIE), 'Firefox\'s console says it rejected the cookie, and why')
  })

  t.test(`${ENGINE}: the page shows every route with its policy, from app.corsPolicyReport()`, async (t) => {
    const rows = await page.$$eval('#policy-report tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)))
    const byRoute = new Map(rows.map((cells) => [`${cells[0]} ${cells[1]}`, cells]))
    t.match(byRoute.get('GET /hello'), ['GET', '/hello', 'public', '*'])
    t.match(byRoute.get('POST /orders'), ['POST', '/orders', 'app', /^http:\/\/localhost:\d+$/, 'true', 'content-type', 'x-request-id'])
    t.match(byRoute.get('DELETE /items/:id'), ['DELETE', '/items/:id', 'inline', 'https://admin.example'])
    t.match(byRoute.get('GET /internal/metrics'), ['GET', '/internal/metrics', 'no CORS'])
    t.notOk(byRoute.has('GET /__log'), 'the playground\'s own log route is left out')
  })

  t.test(`${ENGINE}: the page ran without script errors`, async (t) => {
    t.ok(errors.some(CORS_CONSOLE_NOISE[ENGINE]), `${ENGINE} reported the blocked scenarios, so its errors reach this test`)
    t.same(errors.filter((text) => !CORS_CONSOLE_NOISE[ENGINE](text)), [])
  })
}
