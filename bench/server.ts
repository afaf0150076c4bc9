// One server of the benchmark, in a process of its own:
//   node --import tsx --expose-gc bench/server.ts <contender> <scenario> [--plugin source|dist] [--ttl seconds]
//   node --import tsx --expose-gc bench/server.ts <bare|floor|plugin> sweep:<size> [...]   (the no-pipelining sweep)
// Prints one JSON line when listening on 127.0.0.1 (port, startup time, heap), then answers commands
// on stdin, one per line: `cpu` prints the process's CPU time so far. It exits when stdin closes, or
// after --ttl seconds (default 600) whatever happens.

import { createInterface } from 'node:readline'
import { getHeapSpaceStatistics } from 'node:v8'
import type { AddressInfo } from 'node:net'
import { buildApp, buildSweepApp, loadCors, type PluginSource } from './apps.ts'
import { SWEEP_CONTENDERS, isContender, isScenarioName, isSweepSize, type SweepContender } from './scenarios.ts'

/** What the server reports when it listens. Heap figures are bytes, measured after a forced GC. */
export interface ServerReady {
  readonly port: number
  /** Loading the CORS module, ms (0 for bare Fastify). */
  readonly importMs: number
  /** From `Fastify()` to the end of `ready()`, ms. */
  readonly readyMs: number
  /** heapUsed after `ready()`. */
  readonly heapUsed: number
  /** What loading the CORS module added to heapUsed (its code and data). */
  readonly heapModule: number
  /** What building the app added to heapUsed, from `Fastify()` to `ready()`. */
  readonly heapApp: number
  /** Routes Fastify registered: the application's, the HEAD routes it derives, and generated ones. */
  readonly routes: number
}

const [contender, scenario] = process.argv.slice(2)
const option = (name: string): string | undefined => {
  const at = process.argv.indexOf(`--${name}`)
  return at === -1 ? undefined : process.argv[at + 1]
}
const sweepSize = scenario?.startsWith('sweep:') === true ? scenario.slice('sweep:'.length) : null
const valid = sweepSize === null
  ? contender !== undefined && isContender(contender) && scenario !== undefined && isScenarioName(scenario)
  : contender !== undefined && (SWEEP_CONTENDERS as readonly string[]).includes(contender) && isSweepSize(sweepSize)
if (!valid || contender === undefined || scenario === undefined) {
  process.stderr.write('usage: server.ts <bare|plugin|fastify-cors> <scenario> | <bare|floor|plugin> sweep:<size> [--plugin source|dist] [--ttl seconds]\n')
  process.exit(2)
}
const source: PluginSource = option('plugin') === 'dist' ? 'dist' : 'source'
const ttl = Number(option('ttl') ?? 600)

// Bounded whatever the parent does.
setTimeout(() => process.exit(3), ttl * 1000).unref()

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})
gc()
gc()
const heapBefore = process.memoryUsage().heapUsed

let start = performance.now()
const cors = await loadCors(contender as SweepContender, source)
const importMs = performance.now() - start

gc()
gc()
const heapImported = process.memoryUsage().heapUsed
start = performance.now()
let routes = 0
const app = sweepSize !== null && isSweepSize(sweepSize)
  ? await buildSweepApp(contender as SweepContender, sweepSize, cors)
  : await buildApp(cors, scenario as Parameters<typeof buildApp>[1], () => { routes++ })
await app.ready()
const readyMs = performance.now() - start

gc()
gc()
const heapUsed = process.memoryUsage().heapUsed
await app.listen({ host: '127.0.0.1', port: 0 })
const ready: ServerReady = {
  port: (app.server.address() as AddressInfo).port,
  importMs,
  readyMs,
  heapUsed,
  heapModule: heapImported - heapBefore,
  heapApp: heapUsed - heapImported,
  routes,
}
process.stdout.write(JSON.stringify(ready) + '\n')

const lines = createInterface({ input: process.stdin })
lines.on('line', (line) => {
  if (line.trim() === 'cpu') {
    const { user, system } = process.cpuUsage()
    process.stdout.write(JSON.stringify({ cpuMicros: user + system }) + '\n')
  }
  if (line.trim() === 'heap') {
    // V8's young generation as it stands: its size moves with the allocations before (see sweep.ts).
    const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, s.space_size]))
    process.stdout.write(JSON.stringify({ newSpace: spaces.new_space, heapUsed: process.memoryUsage().heapUsed }) + '\n')
  }
})
lines.on('close', () => {
  setTimeout(() => process.exit(0), 2000).unref()
  app.close().then(() => process.exit(0), () => process.exit(1))
})
