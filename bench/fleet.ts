// npm run bench:fleet (also the last step of npm run bench): how fast three instances, each its own
// process, converge on a change committed to the PostgreSQL store, measured by requests; and how long
// they take to converge again after the server was stopped for 10 s. Writes bench/fleet-results.md.
// Needs PostgreSQL's binaries (as the tests: PG_BIN, /usr/lib/postgresql/*/bin, PATH); skipped without.

import { writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { CORS_POLICIES_SQL } from '../lib/postgres.ts'
import { allowedOrigin, closeAgent, startInstance, type Instance } from '../test/fleet.ts'
import { startPostgres } from '../test/postgres.ts'

const { values } = parseArgs({ options: { changes: { type: 'string' }, outage: { type: 'string' }, out: { type: 'string' }, 'no-write': { type: 'boolean' } } })
const CHANGES = Number(values.changes ?? process.env.BENCH_FLEET_CHANGES ?? 100)
const OUTAGE_MS = Number(values.outage ?? process.env.BENCH_FLEET_OUTAGE ?? 10) * 1000
const OUT = values.out ?? 'bench/fleet-results.md'

const loadBefore = loadavg()[0]!
const server = await startPostgres()
if (server === null) {
  process.stdout.write('fleet benchmark skipped: no PostgreSQL found (PG_BIN, /usr/lib/postgresql/*/bin, PATH)\n')
  process.exit(0)
}

const origin = (i: number): string => `https://tenant-${i}.example.com`
/** Polls one instance until it lets `wanted` read responses; resolves with the time it first did. */
async function enforced (instance: Instance, wanted: string, deadline: number): Promise<number> {
  for (;;) {
    if ((await allowedOrigin(instance.port, wanted)) === wanted) return performance.now()
    if (performance.now() > deadline) throw new Error(`port ${instance.port} did not enforce ${wanted} within 30 s`)
  }
}
function percentile (sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)]!
}

let fleet: Instance[] = []
try {
  await server.query(CORS_POLICIES_SQL)
  await server.query('INSERT INTO cors_policies VALUES ($1, $2, NULL)', ['tenants', { origins: [origin(0)] }])
  fleet = await Promise.all([0, 1, 2].map(() => startInstance(server.url())))
  const writer = new pg.Client({ connectionString: server.url() })
  await writer.connect()

  /** Commits a change to `wanted` and measures, from just before COMMIT, until all three enforce it. */
  const change = async (wanted: string): Promise<{ commitMs: number, convergedMs: number }> => {
    await writer.query('BEGIN')
    await writer.query('UPDATE cors_policies SET policy = $1 WHERE name = $2', [{ origins: [wanted] }, 'tenants'])
    const start = performance.now()
    await writer.query('COMMIT')
    const committed = performance.now()
    const times = await Promise.all(fleet.map((instance) => enforced(instance, wanted, start + 30_000)))
    return { commitMs: committed - start, convergedMs: Math.max(...times) - start }
  }

  for (let i = 1; i <= 5; i++) await change(origin(i)) // warm-up
  const converged: number[] = []
  for (let i = 0; i < CHANGES; i++) converged.push((await change(origin(100 + i))).convergedMs)
  const sorted = [...converged].sort((a, b) => a - b)

  // The outage: requests keep flowing to all three while the server is down.
  await writer.end()
  const before = origin(1000)
  await server.query('UPDATE cors_policies SET policy = $1 WHERE name = $2', [{ origins: [before] }, 'tenants'])
  await Promise.all(fleet.map((instance) => enforced(instance, before, performance.now() + 30_000)))
  const load = { flowing: true, sent: 0, failed: 0 }
  const flow = (async () => {
    while (load.flowing) {
      await Promise.all(fleet.map(async (instance) => {
        load.sent++
        try {
          await allowedOrigin(instance.port, before)
        } catch {
          load.failed++
        }
      }))
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  })()
  await server.stop()
  await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS))
  await server.start()
  const back = performance.now()
  const after = origin(1001)
  await server.query('UPDATE cors_policies SET policy = $1 WHERE name = $2', [{ origins: [after] }, 'tenants'])
  const committed = performance.now()
  const times = await Promise.all(fleet.map((instance) => enforced(instance, after, back + 30_000)))
  load.flowing = false
  await flow
  const outage = { fromBack: Math.max(...times) - back, fromCommit: Math.max(...times) - committed, sent: load.sent, failed: load.failed }

  const ms = (n: number): string => `${n.toFixed(1)} ms`
  const slow = converged.filter((n) => n > 100).length
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  const report = `# Fleet convergence (fastify-cors-policy/postgres)

\`npm run bench:fleet\` on ${new Date().toISOString().slice(0, 10)}, ${cpu}, ${cpus().length} cores, Node ${process.versions.node}, PostgreSQL ${(await server.query<{ v: string }>("SELECT current_setting('server_version') AS v"))[0]!.v}.
Three instances of an app (test/fleet-instance.ts), each its own process, on one PostgreSQL server started for the run, all on this machine
(load average ${loadBefore.toFixed(1)} before the run, ${loadavg()[0]!.toFixed(1)} after: other work on the machine slows the tail).

## From COMMIT to all three instances enforcing the change

${CHANGES} successive changes of the row's origins; each measured from just before \`COMMIT\` until every instance has answered a request from the new origin with it in \`Access-Control-Allow-Origin\` (each instance polled with requests, one at a time).

| changes | p50 | p99 | max | mean |
| --- | --- | --- | --- | --- |
| ${CHANGES} | ${ms(percentile(sorted, 50))} | ${ms(percentile(sorted, 99))} | ${ms(sorted.at(-1)!)} | ${ms(converged.reduce((a, b) => a + b, 0) / converged.length)} |

${slow} of ${CHANGES} took more than 100 ms.

Target: p99 under 1 s.

## After a ${OUTAGE_MS / 1000} s outage

The server stopped (fast shutdown: sessions ended) for ${OUTAGE_MS / 1000} s with requests flowing to all three, started again, and a change committed as soon as it accepted connections.

| server back → all three enforce the change | commit → all three enforce it | requests during the run | failed |
| --- | --- | --- | --- |
| ${ms(outage.fromBack)} | ${ms(outage.fromCommit)} | ${outage.sent} | ${outage.failed} |

The instances retry with a jittered backoff capped at 1 s, so they are back within about a second of the server.
`
  process.stdout.write(report)
  if (values['no-write'] !== true) writeFileSync(OUT, report)
} finally {
  await Promise.all(fleet.map((instance) => instance.stop()))
  closeAgent()
  await server.close()
}
