// Runs the scenarios: servers in child processes, the load generator in another, contenders
// interleaved round by round (A B C, A B C, …) so that drift of a noisy machine hits them alike.

import { request } from 'node:http'
import { loadavg } from 'node:os'
import type { PluginSource } from './apps.ts'
import { LineChild } from './children.ts'
import type { LoadJob, LoadResult } from './load.ts'
import { measureColdStart, type ColdStartOptions, type ColdStartResult } from './coldstart.ts'
import type { MicroResults } from './micro.ts'
import type { ServerReady } from './server.ts'
import { median } from './stats.ts'
import { runSweep, type SweepOptions, type SweepResults } from './sweep.ts'
import { CONTENDERS, SCENARIOS, SWEEP_CONTENDERS, appOf, sweepKinds, type Contender, type Sample, type Scenario, type ScenarioName } from './scenarios.ts'

export interface BenchOptions {
  readonly scenarios: readonly ScenarioName[]
  readonly rounds: number
  /** Seconds per round and contender. */
  readonly duration: number
  /** Responses per round and contender instead of `duration` (the smoke test: never a round without one). */
  readonly amount?: number
  /** Seconds of load on each server before the rounds; 0 for none. */
  readonly warmup: number
  readonly connections: number
  readonly pipelining: number
  readonly plugin: PluginSource
  /** Calls per micro-benchmark measurement, or false to skip it. */
  readonly micro: false | { readonly iterations: number }
  /** Fresh processes and routes of the cold-start measurement, or false to skip it. */
  readonly coldStart?: false | ColdStartOptions
  /**
   * The no-pipelining sweep (bare Fastify, the floor, the plugin; see sweep.ts), or false to skip it.
   * It takes the rounds, duration, amount and warm-up above, and its own connections and pipelining.
   */
  readonly sweep?: false | SweepOptions
  /** Progress, one line at a time. */
  readonly log?: (line: string) => void
}

export interface RoundResult extends LoadResult {
  /** CPU time of the server over the round's wall time: near 1, the server is the bottleneck. */
  readonly serverCpu: number
  /** CPU time of the server per response, µs: the cost of a request, less sensitive to a busy machine than req/s. */
  readonly serverMicros: number
}

/** Scenario 5's startup figures: medians over fresh processes (see `ServerReady`). */
export type StartupResult = Omit<ServerReady, 'port'>

export interface ContenderResult {
  readonly contender: Contender
  readonly rounds: readonly RoundResult[]
  /** Medians over the rounds. */
  readonly rps: number
  readonly p99: number
  /** Median over the rounds of this contender's req/s ÷ bare Fastify's in the same round. */
  readonly ratioToBare: number
  /** The same against @fastify/cors. */
  readonly ratioToFastifyCors: number
  readonly requests: number
  readonly errors: number
  readonly timeouts: number
  readonly non2xx: number
  readonly serverCpu: number
  readonly serverMicros: number
  readonly loadCpu: number
  /** Scenario 5: medians over the fresh process of each round. */
  readonly startup: StartupResult | null
}

export interface ScenarioResult {
  readonly scenario: ScenarioName
  readonly contenders: readonly ContenderResult[]
}

export interface BenchResults {
  readonly options: Omit<BenchOptions, 'log'>
  readonly scenarios: readonly ScenarioResult[]
  readonly micro: MicroResults | null
  readonly coldStart: ColdStartResult | null
  readonly sweep: SweepResults | null
  readonly startedAt: Date
  readonly seconds: number
  /** The machine's 1-minute load average before and after: other work shows here. */
  readonly load: readonly [number, number]
}

const SPAWN_TIMEOUT = 60_000

export async function runBench (options: BenchOptions): Promise<BenchResults> {
  const log = options.log ?? (() => {})
  const startedAt = new Date()
  const loadBefore = loadavg()[0] as number
  const ttl = Math.ceil(plannedSeconds(options) * 2 + 300)
  const load = new LineChild('load.ts', ['--ttl', String(ttl)])
  const pool = new ServerPool(options.plugin, ttl)
  const scenarios: ScenarioResult[] = []
  let sweep: SweepResults | null = null
  try {
    for (const [index, name] of options.scenarios.entries()) {
      const scenario = SCENARIOS[name]
      log(`[${index + 1}/${options.scenarios.length}] ${scenario.number} ${name}: ${scenario.title}`)
      if (scenario.startup) {
        scenarios.push(await runStartupScenario(scenario, options, load, log))
        continue
      }
      const servers = await pool.serversOf(name)
      scenarios.push(await runScenario(scenario, servers, options, load, log))
      await pool.keepOnly(options.scenarios[index + 1])
    }
    if (options.sweep !== undefined && options.sweep !== false) {
      log(`no-pipelining sweep: ${options.sweep.connections} connections, pipelining ${options.sweep.pipelining}, sizes ${options.sweep.sizes.join(', ')}`)
      sweep = await runSweep(options.sweep, { ...options, ttl }, load, log)
    }
  } finally {
    await pool.keepOnly(undefined)
    await load.close()
  }
  let micro: MicroResults | null = null
  if (options.micro !== false) {
    log(`micro-benchmark, ${options.micro.iterations} calls per measurement`)
    micro = await runMicroChild(options.micro.iterations)
  }
  let coldStart: ColdStartResult | null = null
  if (options.coldStart !== undefined && options.coldStart !== false) {
    log(`cold start, ${options.coldStart.processes} fresh processes of each, an app of ${options.coldStart.routes} routes`)
    coldStart = measureColdStart(options.coldStart, log)
  }
  const { log: _log, ...rest } = options
  return {
    options: rest,
    scenarios,
    micro,
    coldStart,
    sweep,
    startedAt,
    seconds: (Date.now() - startedAt.getTime()) / 1000,
    load: [loadBefore, loadavg()[0] as number],
  }
}

interface Running {
  readonly child: LineChild
  readonly port: number
}

/** The servers of the load scenarios, by contender and application, kept while the next scenario needs them. */
class ServerPool {
  readonly #running = new Map<string, Promise<Running>>()
  constructor (readonly plugin: PluginSource, readonly ttl: number) {}

  async serversOf (scenario: ScenarioName): Promise<Map<Contender, Running>> {
    const started = CONTENDERS.map((contender) => {
      const key = `${contender} ${appOf(contender, scenario)}`
      let running = this.#running.get(key)
      if (running === undefined) {
        running = start(contender, scenario, this.plugin, this.ttl)
        this.#running.set(key, running)
      }
      return running
    })
    const servers = await Promise.all(started)
    return new Map(CONTENDERS.map((contender, i) => [contender, servers[i] as Running]))
  }

  /** Stops the servers that `next` does not use. */
  async keepOnly (next: ScenarioName | undefined): Promise<void> {
    const keep = new Set(next === undefined ? [] : CONTENDERS.map((contender) => `${contender} ${appOf(contender, next)}`))
    const stopping: Array<Promise<void>> = []
    for (const [key, running] of this.#running) {
      if (keep.has(key)) continue
      this.#running.delete(key)
      stopping.push(running.then((r) => r.child.close(), () => {}))
    }
    await Promise.all(stopping)
  }
}

async function start (contender: Contender, scenario: ScenarioName, plugin: PluginSource, ttl: number): Promise<Running> {
  const child = new LineChild('server.ts', [contender, scenario, '--plugin', plugin, '--ttl', String(ttl)], ['--expose-gc'])
  try {
    const ready = JSON.parse(await child.next(SPAWN_TIMEOUT)) as ServerReady
    return { child, port: ready.port }
  } catch (err) {
    await child.close()
    throw err
  }
}

/** Roughly how long the load takes, for the children's time limits and for the user. */
export function plannedSeconds (options: Pick<BenchOptions, 'scenarios' | 'rounds' | 'duration' | 'warmup' | 'sweep'>): number {
  const perContender = options.warmup + options.rounds * (options.duration + 0.2)
  const sweepCases = options.sweep === undefined || options.sweep === false
    ? 0
    : options.sweep.sizes.reduce((total, size) => total + sweepKinds(size).length, 0)
  return options.scenarios.length * CONTENDERS.length * (perContender + 1) + sweepCases * SWEEP_CONTENDERS.length * (perContender + 1)
}

type Rounds = Record<Contender, RoundResult[]>

async function runScenario (
  scenario: Scenario, servers: ReadonlyMap<Contender, Running>, options: BenchOptions, load: LineChild, log: (line: string) => void
): Promise<ScenarioResult> {
  const server = (contender: Contender): Running => servers.get(contender) as Running
  for (const contender of CONTENDERS) await verify(scenario, contender, server(contender).port)
  if (options.warmup > 0) {
    for (const contender of CONTENDERS) await loadOnce(load, scenario, server(contender).port, options, options.warmup)
  }
  const rounds = emptyRounds()
  for (let round = 1; round <= options.rounds; round++) {
    for (const contender of CONTENDERS) {
      const result = await measure(load, server(contender).child, scenario, server(contender).port, options)
      rounds[contender].push(result)
      log(`  round ${round}/${options.rounds} ${contender.padEnd(12)} ${Math.round(result.rps)} req/s, p99 ${result.p99} ms`)
    }
  }
  return summarize(scenario.name, rounds, null)
}

/** Scenario 5: every round starts each contender afresh, one at a time, to time its startup alone. */
async function runStartupScenario (scenario: Scenario, options: BenchOptions, load: LineChild, log: (line: string) => void): Promise<ScenarioResult> {
  const ttl = String(Math.ceil(options.warmup + options.duration + 120))
  const rounds = emptyRounds()
  const startups: Record<Contender, ServerReady[]> = { bare: [], plugin: [], 'fastify-cors': [] }
  for (let round = 1; round <= options.rounds; round++) {
    for (const contender of CONTENDERS) {
      const server = new LineChild('server.ts', [contender, scenario.name, '--plugin', options.plugin, '--ttl', ttl], ['--expose-gc'])
      try {
        const ready = JSON.parse(await server.next(SPAWN_TIMEOUT)) as ServerReady
        startups[contender].push(ready)
        if (round === 1) await verify(scenario, contender, ready.port)
        if (options.warmup > 0) await loadOnce(load, scenario, ready.port, options, options.warmup)
        const result = await measure(load, server, scenario, ready.port, options)
        rounds[contender].push(result)
        log(`  round ${round}/${options.rounds} ${contender.padEnd(12)} ready ${ready.readyMs.toFixed(1)} ms, ` +
          `heap ${(ready.heapUsed / 2 ** 20).toFixed(1)} MB, ${Math.round(result.rps)} req/s`)
      } finally {
        await server.close()
      }
    }
  }
  return summarize(scenario.name, rounds, startups)
}

function emptyRounds (): Rounds {
  return { bare: [], plugin: [], 'fastify-cors': [] }
}

function job (scenario: Scenario, port: number, options: BenchOptions, duration: number): LoadJob {
  return {
    url: `http://127.0.0.1:${port}${scenario.request.path}`,
    method: scenario.request.method,
    headers: scenario.request.headers,
    duration,
    // Undefined without one; the job goes to the load generator as JSON, which leaves it out.
    amount: options.amount,
    connections: options.connections,
    pipelining: options.pipelining,
  }
}

async function loadOnce (load: LineChild, scenario: Scenario, port: number, options: BenchOptions, duration: number): Promise<LoadResult> {
  const answer = JSON.parse(await load.ask(JSON.stringify(job(scenario, port, options, duration)), duration * 1000 + 30_000)) as LoadResult | { error: string }
  if ('error' in answer) throw new Error(`load generator: ${answer.error}`)
  return answer
}

async function measure (load: LineChild, server: LineChild, scenario: Scenario, port: number, options: BenchOptions): Promise<RoundResult> {
  const cpu = async (): Promise<number> => (JSON.parse(await server.ask('cpu', 10_000)) as { cpuMicros: number }).cpuMicros
  const cpuBefore = await cpu()
  const wallBefore = performance.now()
  const result = await loadOnce(load, scenario, port, options, options.duration)
  const micros = await cpu() - cpuBefore
  const serverCpu = micros / 1000 / (performance.now() - wallBefore)
  return { ...result, serverCpu, serverMicros: result.requests > 0 ? micros / result.requests : Number.NaN }
}

/** One request before the load: a contender that does not answer as the scenario requires does not count. */
async function verify (scenario: Scenario, contender: Contender, port: number): Promise<void> {
  const sample = await new Promise<Sample>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: scenario.request.method, path: scenario.request.path, headers: scenario.request.headers }, (res) => {
      res.resume()
      res.on('end', () => {
        const headers: Record<string, string | undefined> = {}
        for (const [name, value] of Object.entries(res.headers)) headers[name] = Array.isArray(value) ? value.join(', ') : value
        resolve({ status: res.statusCode ?? 0, headers })
      })
    })
    req.setTimeout(10_000, () => req.destroy(new Error('timed out')))
    req.on('error', reject)
    req.end()
  })
  const problem = scenario.check(contender, sample)
  if (problem !== null) throw new Error(`scenario ${scenario.name}, ${contender}: ${problem}`)
}

function pairedRatio (a: readonly RoundResult[], b: readonly RoundResult[]): number {
  return median(a.map((round, i) => round.rps / (b[i] as RoundResult).rps))
}

function summarize (scenario: ScenarioName, rounds: Rounds, startups: Record<Contender, ServerReady[]> | null): ScenarioResult {
  const contenders = CONTENDERS.map((contender): ContenderResult => {
    const mine = rounds[contender]
    const sum = (pick: (round: RoundResult) => number): number => mine.reduce((total, round) => total + pick(round), 0)
    const started = startups?.[contender]
    return {
      contender,
      rounds: mine,
      rps: median(mine.map((round) => round.rps)),
      p99: median(mine.map((round) => round.p99)),
      ratioToBare: pairedRatio(mine, rounds.bare),
      ratioToFastifyCors: pairedRatio(mine, rounds['fastify-cors']),
      requests: sum((round) => round.requests),
      errors: sum((round) => round.errors),
      timeouts: sum((round) => round.timeouts),
      non2xx: sum((round) => round.non2xx),
      serverCpu: median(mine.map((round) => round.serverCpu)),
      serverMicros: median(mine.map((round) => round.serverMicros)),
      loadCpu: median(mine.map((round) => round.cpu)),
      startup: started === undefined
        ? null
        : {
            importMs: median(started.map((s) => s.importMs)),
            readyMs: median(started.map((s) => s.readyMs)),
            heapUsed: median(started.map((s) => s.heapUsed)),
            heapModule: median(started.map((s) => s.heapModule)),
            heapApp: median(started.map((s) => s.heapApp)),
            routes: (started[0] as ServerReady).routes,
          },
    }
  })
  return { scenario, contenders }
}

async function runMicroChild (iterations: number): Promise<MicroResults> {
  const child = new LineChild('micro.ts', ['--json', '--iterations', String(iterations)])
  try {
    // Generous: about 100 ns per call, fresh string included, for 6 cases × 3 sizes × 6 passes.
    return JSON.parse(await child.next(60_000 + iterations / 20)) as MicroResults
  } finally {
    await child.close()
  }
}
