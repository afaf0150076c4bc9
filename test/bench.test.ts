import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { checkSameResponses } from '../bench/sweep.ts'
import { renderMarkdown, renderTerminal } from '../bench/report.ts'
import { runBench } from '../bench/runner.ts'
import { CONTENDERS, CONTENDER_TITLES, SCENARIOS, SCENARIO_NAMES, SWEEP_CONTENDERS, type SweepSize } from '../bench/scenarios.ts'

// The benchmark's smoke test: every scenario, through the code `npm run bench` runs, for 100
// responses per contender (a number, not a duration: a busy machine slows the run, never empties it).
// It proves the bench still runs and each contender answers as its scenario requires; it never
// looks at timings or ratios, which mean nothing in so short a run. The no-pipelining sweep runs for
// two allowlists, the smallest and the one with patterns, which between them have every request origin.

const SWEEP_SIZES: SweepSize[] = ['1', '5000+200']

t.test('every scenario runs, each contender serves its requests without an error, and the report has a row for each', async (t) => {
  const results = await runBench({
    scenarios: SCENARIO_NAMES,
    rounds: 1,
    duration: 0.1,
    amount: 100,
    warmup: 0,
    connections: 4,
    pipelining: 1,
    plugin: 'dist',
    micro: { iterations: 1000 },
    coldStart: { processes: 1, routes: 20 },
    sweep: { sizes: SWEEP_SIZES, connections: 4, pipelining: 1 },
  })

  t.same(results.scenarios.map((s) => s.scenario), SCENARIO_NAMES)
  for (const scenario of results.scenarios) {
    t.same(scenario.contenders.map((c) => c.contender), CONTENDERS, `${scenario.scenario}: every contender, in order`)
    for (const c of scenario.contenders) {
      const what = `${scenario.scenario}, ${c.contender}`
      t.equal(c.rounds.length, 1, `${what}: one round`)
      t.ok(c.requests >= 100, `${what}: served its 100 requests`)
      t.same({ errors: c.errors, timeouts: c.timeouts, non2xx: c.non2xx }, { errors: 0, timeouts: 0, non2xx: 0 }, `${what}: no errors`)
      t.ok(c.rps > 0 && c.p99 >= 0, `${what}: req/s and p99 reported`)
    }
  }

  const large = results.scenarios.find((s) => s.scenario === 'app-500')
  const routes = Object.fromEntries(large?.contenders.map((c) => [c.contender, c.startup?.routes]) ?? [])
  // 500 routes and 100 derived HEAD routes; the plugin adds one OPTIONS route per path, @fastify/cors one catch-all.
  t.same(routes, { bare: 600, plugin: 700, 'fastify-cors': 601 }, 'scenario 5: the routes of each app')
  for (const c of large?.contenders ?? []) {
    t.ok((c.startup?.readyMs ?? 0) > 0 && (c.startup?.heapUsed ?? 0) > 0, `scenario 5, ${c.contender}: startup and heap reported`)
  }

  t.same(results.micro?.rows.map((row) => [row.subject, row.ns.length, row.ns.every((ns) => ns > 0)]), [
    ['OriginMatcher.matches', 3, true],
    ['OriginMatcher.matches', 3, true],
    ['OriginMatcher.matches', 3, true],
    ['OriginMatcher.matches', 3, true],
    ['Decider.requestHeaders', 3, true],
    ['Decider.requestHeaders', 3, true],
  ], 'micro-benchmark: each case for the three list sizes')

  const cold = results.coldStart
  t.ok(cold !== null && [cold.importMs.plugin, cold.importMs.fastifyCors, cold.readyMs.floor, cold.readyMs.plugin, cold.heapUsed.floor, cold.heapUsed.plugin,
    cold.patternHeap.floor, cold.patternHeap.plugin].every((n) => n > 0),
  'cold start: import, ready, heap and the heap with a pattern measured for each')

  t.same(results.sweep?.cases.map((c) => `${c.size} ${c.kind}`),
    ['1 exact', '1 miss', '5000+200 exact', '5000+200 pattern', '5000+200 miss'], 'sweep: each allowlist with its request origins')
  for (const c of results.sweep?.cases ?? []) {
    for (const contender of SWEEP_CONTENDERS) {
      const what = `sweep ${c.size} ${c.kind}, ${contender}`
      const [round] = c.rounds[contender]
      t.equal(c.rounds[contender].length, 1, `${what}: one round`)
      t.ok(round !== undefined && round.requests >= 100, `${what}: served its 100 requests`)
      t.same({ errors: round?.errors, timeouts: round?.timeouts, non2xx: round?.non2xx }, { errors: 0, timeouts: 0, non2xx: 0 }, `${what}: no errors`)
      t.ok(round !== undefined && round.serverMicros >= 0 && round.newSpace.every((bytes) => bytes > 0), `${what}: server CPU and young generation read`)
    }
  }

  const markdown = renderMarkdown(results)
  for (const name of SCENARIO_NAMES) {
    for (const contender of CONTENDERS) {
      const row = `| ${SCENARIOS[name].number} | ${name} | ${CONTENDER_TITLES[contender]} |`
      t.ok(markdown.includes(row), `results.md has the row ${row}`)
    }
  }
  for (const row of ['| 1 | exact hit |', '| 1 | miss |', '| 5,000 + 200 patterns | exact hit |', '| 5,000 + 200 patterns | pattern hit |', '| 5,000 + 200 patterns | miss |']) {
    t.ok(markdown.includes(row), `results.md has the sweep row ${row}`)
  }
  for (const heading of ['## Requests per second', '## Scenario 5: an app of 500 routes', '## Micro-benchmark: ns per call', '## Cold start',
    '## No pipelining: the plugin against the floor', '### Every round', '## Targets', '## Method']) {
    t.ok(markdown.includes(`\n${heading}\n`), `results.md has the section ${heading}`)
  }
  t.match(markdown, /\| CPU \| .+ \|\n\| cores \| \d+ \|/, 'results.md names the machine')
  t.match(renderTerminal(results), /simple\s+bare Fastify/, 'the terminal table has the same rows')
})

t.test('the sweep refuses to compare a plugin whose response differs from the floor\'s', async (t) => {
  const origin = 'https://app0.customer.example'
  const servers: Server[] = []
  const listen = async (headers: Record<string, string>): Promise<number> => {
    const server = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'application/json', ...headers }).end('{"hello":"world"}') })
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return (server.address() as AddressInfo).port
  }
  t.teardown(() => { for (const server of servers) server.close() })
  const bare = await listen({})
  const floor = await listen({ vary: 'Origin', 'access-control-allow-origin': origin })
  const same = await listen({ vary: 'Origin', 'access-control-allow-origin': origin })
  const extra = await listen({ vary: 'Origin', 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true' })
  const noVary = await listen({ 'access-control-allow-origin': origin })
  await t.resolves(checkSameResponses([{ contender: 'bare', port: bare }, { contender: 'floor', port: floor }, { contender: 'plugin', port: same }], '1', 'exact'),
    'identical responses pass')
  await t.rejects(checkSameResponses([{ contender: 'bare', port: bare }, { contender: 'floor', port: floor }, { contender: 'plugin', port: extra }], '1', 'exact'),
    /the plugin's response differs from the floor's/, 'a header more fails, naming both responses')
  await t.rejects(checkSameResponses([{ contender: 'bare', port: bare }, { contender: 'floor', port: noVary }, { contender: 'plugin', port: noVary }], '1', 'exact'),
    /expected status 200, vary: Origin/, 'the same wrong answer from both fails too')
  await t.rejects(checkSameResponses([{ contender: 'bare', port: floor }, { contender: 'floor', port: floor }, { contender: 'plugin', port: same }], '1', 'exact'),
    /bare Fastify answered with CORS headers/, 'bare Fastify with CORS headers fails')
})
