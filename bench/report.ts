// Tables for the terminal and for bench/results.md, and the issue's targets checked against a run.

import { readFileSync } from 'node:fs'
import { availableParallelism, cpus, platform, release, totalmem } from 'node:os'
import { join } from 'node:path'
import { ROOT } from './children.ts'
import type { MicroResults } from './micro.ts'
import { PATTERN_PATHS, type ColdStartResult } from './coldstart.ts'
import type { BenchResults, ContenderResult, ScenarioResult } from './runner.ts'
import {
  CONTENDER_TITLES, SCENARIOS, SWEEP_CONTENDERS, SWEEP_ORIGIN_TITLES, SWEEP_SIZE_TITLES, type Contender, type ScenarioName,
} from './scenarios.ts'
import { summarizeCase, type SweepResults } from './sweep.ts'

export type Format = 'terminal' | 'markdown'

/** A table; columns after the first `left` ones are right-aligned. */
export function table (header: readonly string[], rows: ReadonlyArray<readonly string[]>, format: Format, left = 1): string {
  if (format === 'markdown') {
    const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`
    const rule = header.map((_, i) => (i < left ? '---' : '---:'))
    return [line(header), line(rule), ...rows.map(line)].join('\n')
  }
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => (row[i] ?? '').length)))
  const pad = (cells: readonly string[]): string =>
    cells.map((cell, i) => (i < left ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number))).join('  ').trimEnd()
  return [pad(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(pad)].join('\n')
}

const int = (n: number): string => Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–'
const fixed = (n: number, digits: number): string => Number.isFinite(n) ? n.toFixed(digits) : '–'
const ratio = (n: number): string => Number.isFinite(n) ? `${n.toFixed(2)}×` : '–'
/** Targets are compared unrounded: three digits, so that a 0.928 is not shown as a missed 0.93. */
const ratio3 = (n: number): string => Number.isFinite(n) ? `${n.toFixed(3)}×` : '–'
const mb = (bytes: number): string => fixed(bytes / 2 ** 20, 1)
const percent = (n: number): string => Number.isFinite(n) ? `${Math.round(n * 100)}%` : '–'

function contender (scenario: ScenarioResult, name: Contender): ContenderResult {
  return scenario.contenders.find((c) => c.contender === name) as ContenderResult
}

/** Below this share of a core, the server was not the bottleneck of the round. */
const SATURATED = 0.9

/** One row per scenario and contender: the load results. */
export function renderLoad (results: BenchResults, format: Format): string {
  const rows = results.scenarios.flatMap((scenario) => scenario.contenders.map((c) => [
    SCENARIOS[scenario.scenario].number,
    scenario.scenario,
    CONTENDER_TITLES[c.contender],
    int(c.rps) + (c.serverCpu < SATURATED ? '*' : ''),
    fixed(c.p99, 0),
    ratio(c.ratioToBare),
    ratio(c.ratioToFastifyCors),
    fixed(c.serverMicros, 2),
    percent(c.serverCpu),
    percent(c.loadCpu),
    String(c.errors + c.timeouts + c.non2xx),
  ]))
  return table(['#', 'scenario', 'contender', 'req/s', 'p99 ms', '× bare', '× @fastify/cors', 'server µs/req', 'server CPU', 'load CPU', 'errors'],
    rows, format, 3) + (rows.some((row) => (row[3] as string).endsWith('*'))
    ? `\n\n* The server used less than ${percent(SATURATED)} of a core: the load generator or other work on the machine held it back, and its req/s says more about them than about the server.`
    : '')
}

/** Scenario 5: startup, heap and routes of each contender, and what the generated OPTIONS routes add. */
export function renderStartup (results: BenchResults, format: Format): string | null {
  const scenario = results.scenarios.find((s) => s.scenario === 'app-500')
  if (scenario === undefined) return null
  const rows = scenario.contenders.map((c) => {
    const s = c.startup
    return [
      CONTENDER_TITLES[c.contender],
      String(s?.routes ?? '–'),
      fixed(s?.importMs ?? Number.NaN, 1),
      fixed(s?.readyMs ?? Number.NaN, 1),
      mb(s?.heapUsed ?? Number.NaN),
      mb(s?.heapModule ?? Number.NaN),
      mb(s?.heapApp ?? Number.NaN),
      int(c.rps),
      ratio(c.ratioToBare),
    ]
  })
  const bare = contender(scenario, 'bare').startup
  const plugin = contender(scenario, 'plugin').startup
  const lines = [table(['contender', 'routes', 'import ms', 'ready ms', 'heap MB', 'module heap MB', 'app heap MB', 'req/s', '× bare'], rows, format)]
  if (bare !== null && plugin !== null) {
    lines.push('', `The plugin against the same app without CORS: +${plugin.routes - bare.routes} routes (the generated OPTIONS routes), ` +
      `+${fixed(plugin.readyMs - bare.readyMs, 1)} ms to ready(), +${mb(plugin.heapUsed - bare.heapUsed)} MB of heap after ready() ` +
      `(+${mb(plugin.heapModule)} MB of module code and data, +${mb(plugin.heapApp - bare.heapApp)} MB in the app).`)
  }
  return lines.join('\n')
}

const spread = (ns: readonly number[]): number => Math.max(...ns) / Math.min(...ns)

const SIZE_LABELS: Readonly<Record<number, string>> = { 1: '1 (+1 pattern)', 100: '100 (+10)', 10_000: '10,000 (+1,000)' }

export function renderMicro (micro: MicroResults, format: Format): string {
  const header = ['subject', 'case', ...micro.sizes.map((size) => `${SIZE_LABELS[size] ?? int(size)} ns`), 'slowest ÷ fastest']
  const rows = micro.rows.map((row) => [row.subject, row.case, ...row.ns.map((ns) => fixed(ns, 1)), ratio(spread(row.ns))])
  return table(header, rows, format, 2)
}

const signed = (n: number, digits: number): string => Number.isFinite(n) ? `${n >= 0 ? '+' : '−'}${Math.abs(n).toFixed(digits)}` : '–'

/** The no-pipelining sweep, one row per allowlist and request origin: medians and paired ratios with their range. */
export function renderSweep (sweep: SweepResults, format: Format): string {
  const rows = sweep.cases.map((c) => {
    const s = summarizeCase(c)
    return [
      SWEEP_SIZE_TITLES[c.size],
      SWEEP_ORIGIN_TITLES[c.kind],
      ...SWEEP_CONTENDERS.map((contender) => int(s.rps[contender])),
      `${ratio3(s.toFloor.median)} (${fixed(s.toFloor.min, 3)}–${fixed(s.toFloor.max, 3)})`,
      `${ratio3(s.toBare.median)} (${fixed(s.toBare.min, 3)}–${fixed(s.toBare.max, 3)})`,
      ...SWEEP_CONTENDERS.map((contender) => fixed(s.micros[contender], 2)),
      `${signed(s.microsOverFloor.median, 2)} (${signed(s.microsOverFloor.min, 2)} to ${signed(s.microsOverFloor.max, 2)})`,
      SWEEP_CONTENDERS.map((contender) => percent(s.spread[contender])).join(' / '),
    ]
  })
  return table([
    'allowed origins', 'request origin', 'bare req/s', 'floor req/s', 'plugin req/s', 'plugin ÷ floor (range)', 'plugin ÷ bare (range)',
    'bare µs/req', 'floor µs/req', 'plugin µs/req', 'plugin − floor µs (range)', 'spread bare / floor / plugin',
  ], rows, format, 2)
}

/** Every round of the sweep: each contender's req/s, server µs per request and young generation, in the order they ran. */
export function renderSweepRounds (sweep: SweepResults, format: Format): string {
  const rows = sweep.cases.flatMap((c) => c.rounds.plugin.map((plugin, i) => {
    const floor = c.rounds.floor[i]
    const bare = c.rounds.bare[i]
    const order = SWEEP_CONTENDERS.slice().sort((a, b) => (c.rounds[a][i]?.position ?? 0) - (c.rounds[b][i]?.position ?? 0))
    const young = (contender: typeof SWEEP_CONTENDERS[number]): string => {
      const [before, after] = c.rounds[contender][i]?.newSpace ?? [Number.NaN, Number.NaN]
      return `${fixed(before / 2 ** 20, 0)}→${fixed(after / 2 ** 20, 0)}`
    }
    return [
      SWEEP_SIZE_TITLES[c.size],
      SWEEP_ORIGIN_TITLES[c.kind],
      String(i + 1),
      order.join(', '),
      ...SWEEP_CONTENDERS.map((contender) => int(c.rounds[contender][i]?.rps ?? Number.NaN)),
      ratio3((plugin.rps) / (floor?.rps ?? Number.NaN)),
      ratio3((plugin.rps) / (bare?.rps ?? Number.NaN)),
      ...SWEEP_CONTENDERS.map((contender) => fixed(c.rounds[contender][i]?.serverMicros ?? Number.NaN, 2)),
      SWEEP_CONTENDERS.map(young).join(' / '),
    ]
  }))
  return table([
    'allowed origins', 'request origin', 'round', 'order', 'bare req/s', 'floor req/s', 'plugin req/s', 'plugin ÷ floor', 'plugin ÷ bare',
    'bare µs/req', 'floor µs/req', 'plugin µs/req', 'new space MB bare / floor / plugin',
  ], rows, format, 4)
}

export interface TargetCheck {
  readonly target: string
  readonly measured: string
  /** For a ratio to @fastify/cors: bare Fastify's ratio to it in the same run, which no CORS layer can exceed. */
  readonly ceiling: string
  readonly met: boolean
}

/** The issue's targets, for the scenarios that were run. Reported, never asserted. */
export function checkTargets (results: BenchResults): TargetCheck[] {
  const checks: TargetCheck[] = []
  const find = (name: ScenarioName): ScenarioResult | undefined => results.scenarios.find((s) => s.scenario === name)
  const againstBare = (name: ScenarioName, min: number): void => {
    const s = find(name)
    if (s === undefined) return
    const r = contender(s, 'plugin').ratioToBare
    checks.push({ target: `${SCENARIOS[name].number} ${name}: ≥ ${min.toFixed(2)} × bare Fastify's req/s`, measured: ratio3(r), ceiling: '', met: r >= min })
  }
  const againstFastifyCors = (name: ScenarioName, min: number): void => {
    const s = find(name)
    if (s === undefined) return
    const r = contender(s, 'plugin').ratioToFastifyCors
    const ceiling = ratio(contender(s, 'bare').ratioToFastifyCors)
    checks.push({ target: `${SCENARIOS[name].number} ${name}: ≥ ${min} × @fastify/cors's req/s`, measured: ratio3(r), ceiling, met: r >= min })
  }
  againstBare('simple', 0.96)
  againstBare('list-hit', 0.95)
  againstBare('list-miss', 0.95)
  againstBare('preflight-1100', 0.95)
  againstFastifyCors('preflight-1', 1)
  const large = find('app-500')
  if (large !== undefined) {
    const plugin = contender(large, 'plugin').startup
    const other = contender(large, 'fastify-cors').startup
    if (plugin !== null && other !== null) {
      const ready = plugin.readyMs / other.readyMs
      const heap = plugin.heapUsed / other.heapUsed
      checks.push({ target: '5 app-500: time to ready() ≤ 1.10 × @fastify/cors', measured: ratio3(ready), ceiling: '', met: ready <= 1.1 })
      checks.push({ target: '5 app-500: heap after ready() ≤ 1.10 × @fastify/cors', measured: ratio3(heap), ceiling: '', met: heap <= 1.1 })
    }
  }
  const cold = results.coldStart
  if (cold !== null) {
    const imported = cold.importMs.plugin / cold.importMs.fastifyCors
    const ready = cold.readyMs.plugin / cold.readyMs.floor
    const heap = cold.heapUsed.plugin / cold.heapUsed.floor
    checks.push({ target: 'cold start: import ≤ 3 × @fastify/cors\'s', measured: ratio3(imported), ceiling: '', met: imported <= 3 })
    checks.push({ target: `cold start: ${int(cold.routes)} routes, register + ready() ≤ 1.10 × the floor`, measured: ratio3(ready), ceiling: '', met: ready <= 1.1 })
    checks.push({ target: `cold start: ${int(cold.routes)} routes, heap after ready() ≤ 1.15 × the floor`, measured: ratio3(heap), ceiling: '', met: heap <= 1.15 })
    const pattern = cold.patternHeap.plugin / cold.patternHeap.floor
    checks.push({ target: `cold start: ${int(PATTERN_PATHS)} paths × 2 routes with a subdomain pattern, heap ≤ 1.15 × the floor`, measured: ratio3(pattern), ceiling: '', met: pattern <= 1.15 })
  }
  if (results.sweep !== null) {
    for (const c of results.sweep.cases) {
      const summary = summarizeCase(c)
      const what = `no pipelining, ${SWEEP_SIZE_TITLES[c.size]} allowed, ${SWEEP_ORIGIN_TITLES[c.kind]}`
      checks.push({ target: `${what}: ≥ 0.97 × the floor's req/s`, measured: ratio3(summary.toFloor.median), ceiling: '', met: summary.toFloor.median >= 0.97 })
      checks.push({
        target: `${what}: server µs/req within 0.5 of the floor's`,
        measured: signed(summary.microsOverFloor.median, 2),
        ceiling: '',
        met: summary.microsOverFloor.median <= 0.5,
      })
    }
  }
  if (results.micro !== null) {
    for (const row of results.micro.rows) {
      const flat = spread(row.ns)
      checks.push({ target: `micro ${row.subject}, ${row.case}: flat from 1 to 10,000 origins (within 2×)`, measured: ratio3(flat), ceiling: '', met: flat <= 2 })
    }
  }
  return checks
}

export function renderTargets (checks: readonly TargetCheck[], format: Format): string {
  return table(['target', 'measured', 'ceiling (bare)', 'met'], checks.map((c) => [c.target, c.measured, c.ceiling, c.met ? 'yes' : 'NO']), format)
}

function version (name: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

export function machine (): Record<string, string> {
  return {
    CPU: cpus()[0]?.model.trim() ?? 'unknown',
    cores: String(availableParallelism()),
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    OS: `${platform()} ${release()}`,
    Node: process.version,
    fastify: version('fastify'),
    '@fastify/cors': version('@fastify/cors'),
    autocannon: version('autocannon'),
  }
}

function sweepSettings (results: BenchResults): string {
  const o = results.options
  const sweep = results.sweep as SweepResults
  return `${o.rounds} round${o.rounds === 1 ? '' : 's'} of ${o.amount === undefined ? `${o.duration} s` : `${o.amount} responses`} per contender after a ${o.warmup} s warm-up for each request origin, ` +
    `${sweep.options.connections} keep-alive connections, pipelining ${sweep.options.pipelining}; server CPU from ${sweep.cpuSource}`
}

function settings (results: BenchResults): string {
  const o = results.options
  const short = o.rounds < 3 || o.duration < 3 || o.warmup <= 0
  return `${o.rounds} round${o.rounds === 1 ? '' : 's'} of ${o.duration} s per contender after a ${o.warmup} s warm-up, ` +
    `${o.connections} connections, pipelining ${o.pipelining}; plugin loaded from ${o.plugin === 'dist' ? 'dist/ (the build)' : 'lib/ (the source, through tsx)'}; ` +
    `load average ${fixed(results.load[0], 2)} before, ${fixed(results.load[1], 2)} after` +
    (short ? '. A short run, below the 3 rounds of 3 s after a warm-up that a report needs: its numbers prove nothing' : '')
}

/** Cold start: medians of fresh processes, the plugin against @fastify/cors and against the floor. */
export function renderColdStart (cold: ColdStartResult, format: Format): string {
  return table(['what', '@fastify/cors', 'floor', 'plugin', 'ratio'], [
    ['import, Fastify already loaded (ms)', fixed(cold.importMs.fastifyCors, 1), '', fixed(cold.importMs.plugin, 1), `${ratio3(cold.importMs.plugin / cold.importMs.fastifyCors)} × @fastify/cors`],
    [`${int(cold.routes)} routes on ${int(cold.routes)} paths: register + ready() (ms)`, '', fixed(cold.readyMs.floor, 1), fixed(cold.readyMs.plugin, 1), `${ratio3(cold.readyMs.plugin / cold.readyMs.floor)} × floor`],
    ['the same: heap after ready() and a GC, modules included (MB)', '', mb(cold.heapUsed.floor), mb(cold.heapUsed.plugin), `${ratio3(cold.heapUsed.plugin / cold.heapUsed.floor)} × floor`],
    [`${int(PATTERN_PATHS)} paths × 2 routes, a subdomain pattern with credentials: heap after ready() − heap with Fastify loaded (MB)`, '',
      mb(cold.patternHeap.floor), mb(cold.patternHeap.plugin), `${ratio3(cold.patternHeap.plugin / cold.patternHeap.floor)} × floor`],
  ], format)
}

/** Everything, for the terminal. */
export function renderTerminal (results: BenchResults): string {
  const parts = [settings(results), '', renderLoad(results, 'terminal')]
  const startup = renderStartup(results, 'terminal')
  if (startup !== null) parts.push('', 'Scenario 5, app of 500 routes (medians of fresh processes):', startup)
  if (results.micro !== null) parts.push('', `Micro-benchmark (ns per call, median of ${results.micro.repeats} × ${int(results.micro.iterations)} calls):`, renderMicro(results.micro, 'terminal'))
  if (results.coldStart !== null) parts.push('', `Cold start (medians of ${results.coldStart.processes} fresh processes each):`, renderColdStart(results.coldStart, 'terminal'))
  if (results.sweep !== null) {
    parts.push('', `No pipelining, the plugin against the floor (${sweepSettings(results)}):`, renderSweep(results.sweep, 'terminal'),
      '', 'Every round:', renderSweepRounds(results.sweep, 'terminal'))
  }
  const targets = checkTargets(results)
  if (targets.length > 0) parts.push('', 'Targets of the issue:', renderTargets(targets, 'terminal'))
  return parts.join('\n')
}

/** bench/results.md. */
export function renderMarkdown (results: BenchResults): string {
  const info = machine()
  const parts = [
    '# Benchmark results',
    '',
    `Run on ${results.startedAt.toISOString().slice(0, 10)} (${Math.round(results.seconds)} s). Rerun with \`npm run bench\`; ` +
      'see the end of this file for what is measured and how.',
    '',
    table(['machine', ''], Object.entries(info), 'markdown', 2),
    '',
    `Settings: ${settings(results)}.`,
    '',
    '## Requests per second',
    '',
    renderLoad(results, 'markdown'),
  ]
  const startup = renderStartup(results, 'markdown')
  if (startup !== null) parts.push('', '## Scenario 5: an app of 500 routes', '', startup)
  if (results.micro !== null) {
    parts.push('', '## Micro-benchmark: ns per call', '',
      `Median of ${results.micro.repeats} measurements of ${int(results.micro.iterations)} calls; lists of N exact origins and N/10 subdomain patterns ` +
      '(for `Decider.requestHeaders`, a policy with as many allowed header names).', '',
      renderMicro(results.micro, 'markdown'))
  }
  if (results.coldStart !== null) {
    parts.push('', '## Cold start', '',
      `Medians of ${results.coldStart.processes} fresh processes of each, interleaved; the plugin as built in dist/. The floor is the ` +
      'same app with one hand-written `OPTIONS` route per path and no CORS logic: the least a design that generates one `OPTIONS` ' +
      'route per path can cost.', '', renderColdStart(results.coldStart, 'markdown'))
  }
  if (results.sweep !== null) {
    parts.push('', '## No pipelining: the plugin against the floor', '',
      `Settings: ${sweepSettings(results)}. As browsers and proxies send requests: each connection waits for a response before ` +
      'its next request. The floor is bare Fastify plus one hand-written `onSend` hook that writes the same headers for the same ' +
      'origins (`buildSweepApp` in bench/apps.ts): the least a CORS layer can cost. Before the load, the floor\'s and the plugin\'s ' +
      'responses are checked to be identical, Date aside. Ratios are paired: the two contenders of the same round, median and ' +
      'range over the rounds; "spread" is each contender\'s largest req/s over its smallest, minus one.', '',
      renderSweep(results.sweep, 'markdown'), '',
      '### Every round', '',
      '"order" is the order the contenders ran in that round (it turns each round). "new space" is V8\'s young generation before ' +
      'and after the round: each scavenge runs when it is full, so its size sets how many scavenges a request pays for.', '',
      renderSweepRounds(results.sweep, 'markdown'))
  }
  const targets = checkTargets(results)
  if (targets.length > 0) parts.push('', '## Targets', '', renderTargets(targets, 'markdown'))
  parts.push('', '## Method', '', ...METHOD)
  return parts.join('\n') + '\n'
}

const METHOD = [
  '- Each server runs in its own process on 127.0.0.1 (`bench/server.ts`); autocannon runs in another (`bench/load.ts`). ' +
    'The contenders of a scenario run interleaved, round after round (bare, plugin, @fastify/cors, bare, …), after a warm-up of each.',
  '- req/s and p99 are medians over the rounds. "× bare" and "× @fastify/cors" are the median, over the rounds, of the ratio ' +
    'between two contenders measured one after the other in the same round. "server µs/req" is the CPU time the server ' +
    'process spent per response (median of the rounds): what a request costs, less sensitive than req/s to other work on ' +
    'the machine. "server CPU" and "load CPU" are each process\'s CPU time over the round\'s wall time: the server near or ' +
    'above 100% (Node uses a few threads) means it, not the load generator, was the bottleneck.',
  '- Scenarios: 1 one exact origin; 2 and 3 a list of 1,000 exact origins and 100 `https://*.tenantN.example` patterns ' +
    '(for @fastify/cors 1,000 strings and 100 anchored RegExps), with the origin matching the last pattern (2) or nothing (3); ' +
    '4a and 4b a preflight for PUT with two request headers, with the one-origin and the 1,100-origin lists (bare Fastify: an ' +
    'empty 204 from its own OPTIONS route); 5 an app of 100 paths × 5 methods whose routes name one of 50 policies ' +
    '(@fastify/cors: the same options in each route\'s `config.cors`).',
  '- On a machine of few cores, check "server CPU": a round whose server stayed below 90% of a core (marked *) was limited by ' +
    'the load generator or by other work, and a contender that sends more header bytes then loses req/s to the load ' +
    'generator\'s parsing rather than to its own work. "server µs/req" is also biased there, in favour of the slower contender ' +
    '(an idle server reads fewer requests per system call).',
  '- Scenario 5 starts fresh processes in every round: "ready ms" runs from `Fastify()` to the end of `ready()`, "import ms" ' +
    'is loading the CORS module, "heap MB" is heapUsed after `ready()` and a forced GC; "module heap MB" is what loading the ' +
    'CORS module added to it, "app heap MB" what building the app added.',
  '- Before the load, one request checks each contender answers as the scenario requires (the same CORS headers, no error).',
  '- No pipelining (`bench/sweep.ts`): for each allowlist (1; 1,000; 5,000; 5,000 + 200 subdomain patterns; 20,000 exact origins ' +
    'such as `https://app42.customer.example`, patterns such as `https://*.tenant7.example.net`), bare Fastify, the floor and the ' +
    'plugin each run in a fresh server process (no forced GC, as in production), one GET route. For each request origin (an exact ' +
    'hit in the middle of the list, a subdomain of the last pattern, a name of the same shape that is not listed), each server gets ' +
    'a warm-up, then the rounds run interleaved, the order turning each round. "µs/req" is the server process\'s CPU time ' +
    '(utime + stime of /proc/<pid>/stat, every thread: the garbage collector\'s helpers count) over the responses of the round.',
  '- What moves the no-pipelining numbers besides the code a request runs. V8 grows its young generation only when the bytes ' +
    'surviving scavenges since the last growth exceed its size, and shrinks it at a collection when less than about 1 MB/s was ' +
    'allocated over the last seconds (the first scavenge after an idle spell, the memory reducer). Under this load only ~16 KB ' +
    'survive each scavenge (the requests in flight), so a server keeps for minutes the size its startup and its last idle spell ' +
    'left: with 1 MB semi-spaces a server pays 86 scavenges per 10,000 requests, with 16 MB ones 6, about 3 µs per request apart. ' +
    'Hence the "new space" column: rounds that started in different sizes compare the heap, not the code. The other effect: the ' +
    'inline caches of Node\'s own process.nextTick (its tick objects, nine per request) turn megamorphic during startup, which ' +
    'costs 3 to 5 µs per request for the rest of the process\'s life. It happens whenever Fastify\'s ready() runs avvio\'s hook ' +
    'runner, that is in any app with a child scope or an onReady hook (and it was seen in a few other processes); only an app ' +
    'with neither keeps them monomorphic. Real applications have child scopes, and the plugin has an onReady hook (it releases ' +
    'the Public Suffix List), so every contender\'s app here registers one encapsulated plugin: without it, bare Fastify and the ' +
    'floor would be measured in a state no real application is in. Both effects are why rounds are interleaved and reported one ' +
    'by one, and why a run on a busy machine says little below ±0.05.',
  '- Options: `npm run bench -- --rounds 5 --duration 3 --warmup 2 --connections 100 --pipelining 10 --scenarios simple,list-hit ' +
    '--plugin source|dist --no-micro`, or the environment variables BENCH_ROUNDS, BENCH_DURATION, BENCH_WARMUP, BENCH_CONNECTIONS, ' +
    'BENCH_PIPELINING, BENCH_SCENARIOS, BENCH_PLUGIN, BENCH_MICRO_ITERATIONS. `npm run bench:micro` runs the micro-benchmark alone.',
]
