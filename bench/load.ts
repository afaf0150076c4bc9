// The load generator, in a process of its own so that it never shares an event loop with a server:
//   node --import tsx bench/load.ts [--ttl seconds]
// Reads one job per line on stdin (JSON, a LoadJob), runs autocannon, and prints one JSON line per
// job (a LoadResult). Exits when stdin closes, or after --ttl seconds (default 1800) whatever happens.

import { createInterface } from 'node:readline'
import autocannon from 'autocannon'

export interface LoadJob {
  readonly url: string
  readonly method: string
  readonly headers: Readonly<Record<string, string>>
  /** Seconds; fractions allowed. */
  readonly duration: number
  /** Responses to wait for instead of a duration: a run that ends with some, however busy the machine. */
  readonly amount?: number
  readonly connections: number
  readonly pipelining: number
}

export interface LoadResult {
  /** Responses completed. */
  readonly requests: number
  /** Seconds, as measured by autocannon. */
  readonly seconds: number
  readonly rps: number
  readonly p50: number
  readonly p99: number
  readonly errors: number
  readonly timeouts: number
  readonly non2xx: number
  /** CPU time of this process over wall time: near 1, the load generator is the bottleneck. */
  readonly cpu: number
}

const at = process.argv.indexOf('--ttl')
const ttl = at === -1 ? 1800 : Number(process.argv[at + 1])
setTimeout(() => process.exit(3), ttl * 1000).unref()

async function run (job: LoadJob): Promise<LoadResult> {
  const cpuBefore = process.cpuUsage()
  const wallBefore = performance.now()
  const result = await autocannon({
    url: job.url,
    method: job.method as autocannon.Request['method'],
    headers: { ...job.headers },
    duration: job.duration,
    ...(job.amount === undefined ? {} : { amount: job.amount }),
    connections: job.connections,
    pipelining: job.pipelining,
    // autocannon notices the end of a run at a sample: sample often enough that short runs end on time.
    sampleInt: Math.max(20, Math.min(100, job.duration * 200)),
    timeout: 10,
  })
  const cpu = process.cpuUsage(cpuBefore)
  const wall = performance.now() - wallBefore
  const seconds = result.duration > 0 ? result.duration : wall / 1000
  return {
    requests: result.requests.total,
    seconds,
    rps: result.requests.total / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    cpu: (cpu.user + cpu.system) / 1000 / wall,
  }
}

// One job at a time, in order.
let queue = Promise.resolve()
const lines = createInterface({ input: process.stdin })
lines.on('line', (line) => {
  if (line.trim() === '') return
  queue = queue.then(async () => {
    const result = await run(JSON.parse(line) as LoadJob)
    process.stdout.write(JSON.stringify(result) + '\n')
  }).catch((err: unknown) => {
    process.stdout.write(JSON.stringify({ error: String(err) }) + '\n')
  })
})
lines.on('close', () => { queue.then(() => process.exit(0), () => process.exit(1)) })
