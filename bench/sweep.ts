// The no-pipelining sweep: bare Fastify, the floor and the plugin, for each allowlist size and each
// kind of request origin, 50 keep-alive connections with one request at a time on each. The three
// servers of a size run side by side, interleaved round after round (the order turns each round, so
// that none always follows the same one), and the server's CPU time is read from /proc.

import { execFileSync } from 'node:child_process'
import { appendFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'node:http'
import type { PluginSource } from './apps.ts'
import { LineChild } from './children.ts'
import type { LoadJob, LoadResult } from './load.ts'
import type { ServerReady } from './server.ts'
import { median } from './stats.ts'
import {
  SWEEP_CONTENDERS, SWEEP_PATH, sweepKinds, sweepOrigin, type SweepContender, type SweepOriginKind, type SweepSize,
} from './scenarios.ts'

export interface SweepOptions {
  readonly sizes: readonly SweepSize[]
  readonly connections: number
  readonly pipelining: number
}

export interface SweepRound extends LoadResult {
  /** The contender's place in this round's order, from 0. */
  readonly position: number
  /** The server's CPU time (all its threads, from /proc/<pid>/stat) per response, µs. */
  readonly serverMicros: number
  /** The server's CPU time over the round's wall time. */
  readonly serverCpu: number
  /** V8's young generation (new space) before and after the round, bytes: what each scavenge has room for. */
  readonly newSpace: readonly [number, number]
}

export interface SweepCase {
  readonly size: SweepSize
  readonly kind: SweepOriginKind
  readonly origin: string
  readonly rounds: Readonly<Record<SweepContender, readonly SweepRound[]>>
}

export interface SweepResults {
  readonly options: SweepOptions
  readonly cases: readonly SweepCase[]
  /** Where the server CPU time came from: /proc (clock ticks of 1/N s), or the server's own process.cpuUsage(). */
  readonly cpuSource: string
}

const SPAWN_TIMEOUT = 60_000

/** Clock ticks per second of /proc/<pid>/stat's utime and stime. */
function clockTicks (): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100
  } catch {
    return 100
  }
}

/** CPU time of a process so far, µs, from /proc/<pid>/stat (utime + stime, every thread); null without /proc. */
function procCpuMicros (pid: number, ticks: number): number | null {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return null
  }
  // After the command name in parentheses (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 1e6 / ticks
}

interface SweepServer {
  readonly contender: SweepContender
  readonly child: LineChild
  readonly port: number
  /** Appends a line to the server's trace file, when BENCH_SWEEP_TRACE_DIR asks for one. */
  readonly trace?: (line: string) => void
}

async function startServer (contender: SweepContender, size: SweepSize, plugin: PluginSource, ttl: number): Promise<SweepServer> {
  // No --expose-gc: nothing forces a collection in these servers, as in a server in production.
  const traceDir = process.env.BENCH_SWEEP_TRACE_DIR
  const traceFile = traceDir === undefined ? undefined : join(traceDir, `${size}-${contender}.log`)
  const trace = traceFile === undefined ? undefined : (line: string): void => appendFileSync(traceFile, line + '\n')
  const child = new LineChild('server.ts', [contender, `sweep:${size}`, '--plugin', plugin, '--ttl', String(ttl)], sweepNodeFlags(), trace)
  try {
    const ready = JSON.parse(await child.next(SPAWN_TIMEOUT)) as ServerReady
    return { contender, child, port: ready.port, trace }
  } catch (err) {
    await child.close()
    throw err
  }
}

/**
 * Node flags for the sweep's servers, for diagnosis only: BENCH_SWEEP_NODE_FLAGS='--trace-gc-nvp', with
 * BENCH_SWEEP_TRACE_DIR=dir to keep what the flags print (dir/<size>-<contender>.log, marks of each round included).
 */
function sweepNodeFlags (): string[] {
  return (process.env.BENCH_SWEEP_NODE_FLAGS ?? '').split(' ').filter(Boolean)
}

/** A response as the identity check compares it: Date left out, header names in lower case, in order. */
interface Response {
  readonly status: number
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly body: string
}

async function get (port: number, origin: string): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'GET', path: SWEEP_PATH, headers: { origin } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => {
        const headers: Array<[string, string]> = []
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          const name = (res.rawHeaders[i] as string).toLowerCase()
          if (name !== 'date') headers.push([name, res.rawHeaders[i + 1] as string])
        }
        resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString('utf8') })
      })
    })
    req.setTimeout(10_000, () => req.destroy(new Error('timed out')))
    req.on('error', reject)
    req.end()
  })
}

const header = (response: Response, name: string): string | undefined => response.headers.find(([n]) => n === name)?.[1]

/**
 * Before the load: the floor and the plugin must answer byte for byte alike (Date aside), with the
 * CORS headers the origin calls for, and bare Fastify without them. Throws, naming the difference.
 */
export async function checkSameResponses (
  servers: ReadonlyArray<Pick<SweepServer, 'contender' | 'port'>>, size: SweepSize, kind: SweepOriginKind
): Promise<void> {
  const origin = sweepOrigin(size, kind)
  const answers = new Map<SweepContender, Response>()
  for (const server of servers) answers.set(server.contender, await get(server.port, origin))
  const floor = answers.get('floor') as Response
  const plugin = answers.get('plugin') as Response
  const bare = answers.get('bare') as Response
  const where = `sweep ${size}, ${kind} (Origin: ${origin})`
  const show = (r: Response): string => JSON.stringify(r)
  if (JSON.stringify(floor) !== JSON.stringify(plugin)) {
    throw new Error(`${where}: the plugin's response differs from the floor's, so their speeds cannot be compared:\n` +
      `  floor:  ${show(floor)}\n  plugin: ${show(plugin)}`)
  }
  const allowed = kind !== 'miss'
  const expected = `status 200, vary: Origin${allowed ? `, access-control-allow-origin: ${origin}` : ', no access-control-allow-origin'}`
  if (plugin.status !== 200 || header(plugin, 'vary') !== 'Origin' || header(plugin, 'access-control-allow-origin') !== (allowed ? origin : undefined)) {
    throw new Error(`${where}: expected ${expected}, the floor and the plugin both answered ${show(plugin)}`)
  }
  if (bare.status !== 200 || header(bare, 'access-control-allow-origin') !== undefined || header(bare, 'vary') !== undefined) {
    throw new Error(`${where}: bare Fastify answered with CORS headers or an error: ${show(bare)}`)
  }
}

function job (port: number, origin: string, options: SweepOptions, duration: number, amount: number | undefined): LoadJob {
  return {
    url: `http://127.0.0.1:${port}${SWEEP_PATH}`,
    method: 'GET',
    headers: { origin },
    duration,
    amount,
    connections: options.connections,
    pipelining: options.pipelining,
  }
}

async function loadOnce (load: LineChild, loadJob: LoadJob): Promise<LoadResult> {
  const answer = JSON.parse(await load.ask(JSON.stringify(loadJob), loadJob.duration * 1000 + 30_000)) as LoadResult | { error: string }
  if ('error' in answer) throw new Error(`load generator: ${answer.error}`)
  return answer
}

export interface SweepRun {
  readonly rounds: number
  readonly duration: number
  readonly amount?: number
  readonly warmup: number
  readonly plugin: PluginSource
  readonly ttl: number
}

export async function runSweep (options: SweepOptions, run: SweepRun, load: LineChild, log: (line: string) => void): Promise<SweepResults> {
  const ticks = clockTicks()
  let usedProc = true
  const cases: SweepCase[] = []
  for (const size of options.sizes) {
    const servers: SweepServer[] = []
    try {
      // One at a time: their startups do not compete for the two cores.
      for (const contender of SWEEP_CONTENDERS) servers.push(await startServer(contender, size, run.plugin, run.ttl))
      const kinds = sweepKinds(size)
      for (const kind of kinds) await checkSameResponses(servers, size, kind)
      for (const kind of kinds) {
        const origin = sweepOrigin(size, kind)
        log(`  sweep ${size}, ${kind} (${origin})`)
        if (run.warmup > 0) {
          for (const server of servers) await loadOnce(load, job(server.port, origin, options, run.warmup, undefined))
        }
        const rounds: Record<SweepContender, SweepRound[]> = { bare: [], floor: [], plugin: [] }
        for (let round = 0; round < run.rounds; round++) {
          const order = servers.map((_, i) => servers[(i + round) % servers.length] as SweepServer)
          for (const [position, server] of order.entries()) {
            const pid = server.child.pid as number
            const askCpu = async (): Promise<number> => {
              const fromProc = procCpuMicros(pid, ticks)
              if (fromProc !== null) return fromProc
              usedProc = false
              return (JSON.parse(await server.child.ask('cpu', 10_000)) as { cpuMicros: number }).cpuMicros
            }
            const heap = async (): Promise<number> => (JSON.parse(await server.child.ask('heap', 10_000)) as { newSpace: number }).newSpace
            const newSpaceBefore = await heap()
            server.trace?.(`# round ${round + 1} start: ${size} ${kind}`)
            const cpuBefore = await askCpu()
            const wallBefore = performance.now()
            const result = await loadOnce(load, job(server.port, origin, options, run.duration, run.amount))
            const micros = await askCpu() - cpuBefore
            const wall = performance.now() - wallBefore
            const newSpaceAfter = await heap()
            server.trace?.(`# round ${round + 1} end: requests=${result.requests} cpuMicros=${Math.round(micros)}`)
            rounds[server.contender].push({
              ...result,
              position,
              serverMicros: result.requests > 0 ? micros / result.requests : Number.NaN,
              serverCpu: micros / 1000 / wall,
              newSpace: [newSpaceBefore, newSpaceAfter],
            })
            log(`    round ${round + 1}/${run.rounds} ${server.contender.padEnd(7)} ${Math.round(result.rps)} req/s, ` +
              `${(micros / Math.max(1, result.requests)).toFixed(2)} µs/req, new space ${newSpaceBefore / 2 ** 20} → ${newSpaceAfter / 2 ** 20} MB`)
          }
        }
        cases.push({ size, kind, origin, rounds })
      }
    } finally {
      await Promise.all(servers.map((server) => server.child.close()))
    }
  }
  return { options, cases, cpuSource: usedProc ? `/proc/<pid>/stat (clock ticks of 1/${ticks} s)` : 'process.cpuUsage() in the server' }
}

export interface SweepSummary {
  readonly rps: Readonly<Record<SweepContender, number>>
  readonly micros: Readonly<Record<SweepContender, number>>
  /** Medians over the rounds of the paired ratios (the two contenders of the same round), with their range. */
  readonly toFloor: { readonly median: number, readonly min: number, readonly max: number }
  readonly toBare: { readonly median: number, readonly min: number, readonly max: number }
  /** Median over the rounds of the plugin's µs/req minus the floor's, with its range. */
  readonly microsOverFloor: { readonly median: number, readonly min: number, readonly max: number }
  /** Each contender's largest req/s over its smallest, minus 1: how much its own rounds moved. */
  readonly spread: Readonly<Record<SweepContender, number>>
}

const range = (values: readonly number[]): { median: number, min: number, max: number } =>
  ({ median: median(values), min: Math.min(...values), max: Math.max(...values) })

export function summarizeCase (c: SweepCase): SweepSummary {
  const pick = (contender: SweepContender, f: (r: SweepRound) => number): number[] => c.rounds[contender].map(f)
  const paired = (f: (a: SweepRound, b: SweepRound) => number, b: SweepContender): number[] =>
    c.rounds.plugin.map((round, i) => f(round, c.rounds[b][i] as SweepRound))
  const per = (f: (contender: SweepContender) => number): Record<SweepContender, number> =>
    ({ bare: f('bare'), floor: f('floor'), plugin: f('plugin') })
  return {
    rps: per((contender) => median(pick(contender, (r) => r.rps))),
    micros: per((contender) => median(pick(contender, (r) => r.serverMicros))),
    toFloor: range(paired((a, b) => a.rps / b.rps, 'floor')),
    toBare: range(paired((a, b) => a.rps / b.rps, 'bare')),
    microsOverFloor: range(paired((a, b) => a.serverMicros - b.serverMicros, 'floor')),
    spread: per((contender) => {
      const rps = pick(contender, (r) => r.rps)
      return Math.max(...rps) / Math.min(...rps) - 1
    }),
  }
}
