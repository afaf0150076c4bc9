// npm run bench [-- options]: the load scenarios and the micro-benchmark; a table in the terminal
// and bench/results.md. `npm run bench -- --help` lists the options.

import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { benchFile } from './children.ts'
import { renderMarkdown, renderTerminal } from './report.ts'
import { plannedSeconds, runBench, type BenchOptions } from './runner.ts'
import {
  SCENARIO_NAMES, SWEEP_CONNECTIONS, SWEEP_PIPELINING, SWEEP_SIZES, isScenarioName, isSweepSize, type ScenarioName, type SweepSize,
} from './scenarios.ts'

const USAGE = `npm run bench [-- options]; each option can also be set by the environment variable beside it.
  --rounds N            BENCH_ROUNDS            rounds per scenario (default 5; a report needs at least 3)
  --duration S          BENCH_DURATION          seconds per round and contender (default 3)
  --warmup S            BENCH_WARMUP            seconds of warm-up per server (default 2)
  --connections N       BENCH_CONNECTIONS       autocannon connections (default 100)
  --pipelining N        BENCH_PIPELINING        autocannon pipelining (default 10)
  --scenarios a,b       BENCH_SCENARIOS         among ${SCENARIO_NAMES.join(', ')} (default all)
  --plugin source|dist  BENCH_PLUGIN            the plugin from lib/ through tsx (default), or the build in dist/
  --micro-iterations N  BENCH_MICRO_ITERATIONS  calls per micro-benchmark measurement (default 1,000,000)
  --no-micro                                    skip the micro-benchmark
  --cold-start-processes N BENCH_COLD_START     fresh processes per cold-start measurement (default 21)
  --cold-start-routes N                         routes of the cold-start app (default 1,000)
  --no-cold-start                               skip the cold-start measurement (it needs the build in dist/)
  --sweep-sizes a,b     BENCH_SWEEP_SIZES       no-pipelining sweep: allowlists among ${SWEEP_SIZES.join(', ')} (default all)
  --sweep-connections N BENCH_SWEEP_CONNECTIONS its connections (default ${SWEEP_CONNECTIONS}; pipelining is ${SWEEP_PIPELINING})
  --no-sweep                                    skip the no-pipelining sweep
  (--scenarios '' runs none of the pipelined scenarios: with --no-micro --no-cold-start, the sweep alone)
  --out FILE                                    where to write the report (default bench/results.md)
  --no-write                                    write no report
`

const { values } = parseArgs({
  options: {
    help: { type: 'boolean', short: 'h' },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string' },
    pipelining: { type: 'string' },
    scenarios: { type: 'string' },
    plugin: { type: 'string' },
    'micro-iterations': { type: 'string' },
    'no-micro': { type: 'boolean' },
    'cold-start-processes': { type: 'string' },
    'cold-start-routes': { type: 'string' },
    'no-cold-start': { type: 'boolean' },
    'sweep-sizes': { type: 'string' },
    'sweep-connections': { type: 'string' },
    'no-sweep': { type: 'boolean' },
    out: { type: 'string' },
    'no-write': { type: 'boolean' },
  },
})

if (values.help === true) {
  process.stdout.write(USAGE)
  process.exit(0)
}

function number (flag: string | undefined, env: string, fallback: number, min: number): number {
  const raw = flag ?? process.env[env]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value < min) throw new Error(`${env.toLowerCase().replace('bench_', '--').replaceAll('_', '-')} (or ${env}) must be a number ≥ ${min}, not ${raw}`)
  return value
}

const scenarioList = (values.scenarios ?? process.env.BENCH_SCENARIOS ?? SCENARIO_NAMES.join(',')).split(',').map((s) => s.trim()).filter(Boolean)
const unknown = scenarioList.filter((s) => !isScenarioName(s))
if (unknown.length > 0) throw new Error(`unknown scenarios: ${unknown.join(', ')}; the scenarios are ${SCENARIO_NAMES.join(', ')}`)
const plugin = values.plugin ?? process.env.BENCH_PLUGIN ?? 'source'
if (plugin !== 'source' && plugin !== 'dist') throw new Error(`--plugin is source or dist, not ${plugin}`)

const sweepSizes = (values['sweep-sizes'] ?? process.env.BENCH_SWEEP_SIZES ?? SWEEP_SIZES.join(',')).split(',').map((s) => s.trim()).filter(Boolean)
const unknownSizes = sweepSizes.filter((s) => !isSweepSize(s))
if (unknownSizes.length > 0) throw new Error(`unknown sweep sizes: ${unknownSizes.join(', ')}; the sizes are ${SWEEP_SIZES.join(', ')}`)

const options: BenchOptions = {
  scenarios: scenarioList as ScenarioName[],
  rounds: Math.round(number(values.rounds, 'BENCH_ROUNDS', 5, 1)),
  duration: number(values.duration, 'BENCH_DURATION', 3, 0.1),
  warmup: number(values.warmup, 'BENCH_WARMUP', 2, 0),
  connections: Math.round(number(values.connections, 'BENCH_CONNECTIONS', 100, 1)),
  pipelining: Math.round(number(values.pipelining, 'BENCH_PIPELINING', 10, 1)),
  plugin,
  micro: values['no-micro'] === true ? false : { iterations: Math.round(number(values['micro-iterations'], 'BENCH_MICRO_ITERATIONS', 1_000_000, 1)) },
  coldStart: values['no-cold-start'] === true
    ? false
    : {
        processes: Math.round(number(values['cold-start-processes'], 'BENCH_COLD_START', 21, 1)),
        routes: Math.round(number(values['cold-start-routes'], 'BENCH_COLD_START_ROUTES', 1000, 1)),
      },
  sweep: values['no-sweep'] === true || sweepSizes.length === 0
    ? false
    : {
        sizes: sweepSizes as SweepSize[],
        connections: Math.round(number(values['sweep-connections'], 'BENCH_SWEEP_CONNECTIONS', SWEEP_CONNECTIONS, 1)),
        pipelining: SWEEP_PIPELINING,
      },
  log: (line) => process.stderr.write(line + '\n'),
}

process.stderr.write(`about ${Math.ceil(plannedSeconds(options) / 60)} min of load, then the micro-benchmark and the cold start\n`)
const results = await runBench(options)
process.stdout.write('\n' + renderTerminal(results) + '\n')
if (values['no-write'] !== true) {
  const out = values.out ?? benchFile('results.md')
  writeFileSync(out, keepSoak(out, renderMarkdown(results)))
  process.stderr.write(`\nwritten: ${out}\n`)
}

/** The soak's section of the report (`npm run soak`, not this run), kept where it stood: before the method. */
function keepSoak (file: string, markdown: string): string {
  const before = existsSync(file) ? readFileSync(file, 'utf8') : ''
  const soak = /\n(## Soak[^]*?)(?=\n## )/.exec(before)?.[1]
  return soak === undefined ? markdown : markdown.replace('\n## Method\n', `\n${soak.trimEnd()}\n\n## Method\n`)
}
