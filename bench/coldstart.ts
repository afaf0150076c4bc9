// Cold start, as serverless functions and autoscaled containers pay it: the import of the CORS
// module, and an app of N routes on N paths built and made ready, each in a fresh Node process
// (bench/coldstart-child.mjs), the contenders interleaved process after process.

import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { ROOT, benchFile } from './children.ts'
import { median } from './stats.ts'

export interface ColdStartOptions {
  /** Fresh processes per measurement. */
  readonly processes: number
  /** Routes (and paths) of the app. */
  readonly routes: number
}

export interface ColdStartResult extends ColdStartOptions {
  /** Median ms to import each module, Fastify already loaded. */
  readonly importMs: { readonly plugin: number, readonly fastifyCors: number }
  /** Medians for the app: the floor (one hand-written OPTIONS route per path, no CORS logic) and the plugin. */
  readonly readyMs: { readonly floor: number, readonly plugin: number }
  readonly heapUsed: { readonly floor: number, readonly plugin: number }
  /**
   * Medians for an app of PATTERN_PATHS paths × 2 routes whose default policy has a subdomain pattern and
   * credentials: heap after ready() minus heap once Fastify is loaded (the plugin's modules and the
   * Public Suffix List count), against the same app with a hand-written OPTIONS route per path.
   */
  readonly patternHeap: { readonly floor: number, readonly plugin: number }
}

/** Paths of the heap-with-a-pattern app (2 routes each). */
export const PATTERN_PATHS = 500

/** The built plugin: what users import. Cold start is measured on it, never through a TypeScript loader. */
export const BUILT_PLUGIN = benchFile('../dist/index.js')

function child (args: readonly string[]): Record<string, number> {
  const run = spawnSync(process.execPath, ['--expose-gc', benchFile('coldstart-child.mjs'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    // Under the test runner, children are not instrumented for coverage (see children.ts).
    env: { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0' },
    timeout: 60_000,
  })
  if (run.status !== 0) throw new Error(`cold start: coldstart-child.mjs ${args.join(' ')} failed:\n${run.stderr}`)
  return JSON.parse(run.stdout) as Record<string, number>
}

export function measureColdStart (options: ColdStartOptions, log: (line: string) => void = () => {}): ColdStartResult {
  if (!existsSync(BUILT_PLUGIN)) throw new Error('cold start is measured on the build: run `npm run build` first (`npm run bench` does)')
  const samples = {
    plugin: [] as number[],
    fastifyCors: [] as number[],
    floorReady: [] as number[],
    pluginReady: [] as number[],
    floorHeap: [] as number[],
    pluginHeap: [] as number[],
    floorPattern: [] as number[],
    pluginPattern: [] as number[],
  }
  const routes = String(options.routes)
  for (let i = 0; i < options.processes; i++) {
    samples.plugin.push(child(['import', BUILT_PLUGIN]).importMs as number)
    samples.fastifyCors.push(child(['import', '@fastify/cors']).importMs as number)
    const floor = child(['app', 'floor', routes, BUILT_PLUGIN])
    const plugin = child(['app', 'plugin', routes, BUILT_PLUGIN])
    samples.floorReady.push(floor.readyMs as number)
    samples.pluginReady.push(plugin.readyMs as number)
    samples.floorHeap.push(floor.heapUsed as number)
    samples.pluginHeap.push(plugin.heapUsed as number)
    samples.floorPattern.push(child(['pattern', 'floor', String(PATTERN_PATHS), BUILT_PLUGIN]).heapApp as number)
    samples.pluginPattern.push(child(['pattern', 'plugin', String(PATTERN_PATHS), BUILT_PLUGIN]).heapApp as number)
    if ((i + 1) % 10 === 0) log(`  cold start: ${i + 1}/${options.processes} processes of each`)
  }
  return {
    ...options,
    importMs: { plugin: median(samples.plugin), fastifyCors: median(samples.fastifyCors) },
    readyMs: { floor: median(samples.floorReady), plugin: median(samples.pluginReady) },
    heapUsed: { floor: median(samples.floorHeap), plugin: median(samples.pluginHeap) },
    patternHeap: { floor: median(samples.floorPattern), plugin: median(samples.pluginPattern) },
  }
}
