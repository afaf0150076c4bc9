// Micro-benchmark of the origin matcher and the Access-Control-Request-Headers check alone:
// nanoseconds per call for lists of 1, 100 and 10,000 allowed origins, to show the cost stays flat.
//   npm run bench:micro [-- --iterations N]     (or --json for one line of JSON)
//
// Each call gets a fresh string, as a request header would be: copies are made before each timed
// batch, so the string's hash is computed inside the call, as in a server. A sink counts results,
// and the count is checked, so the work cannot be dropped and the matcher is checked at the same time.

import { pathToFileURL } from 'node:url'
import { CompiledPolicy } from '../lib/policy/compile.ts'
import { OriginMatcher, parseOriginEntry, type OriginEntry } from '../lib/policy/origin.ts'
import { checkPolicy } from '../lib/policy/policy.ts'
import { deciderOf } from '../lib/decision/decider.ts'
import type { CorsPolicyProblem } from '../lib/policy/errors.ts'
import { median } from './stats.ts'

export const MICRO_SIZES = [1, 100, 10_000] as const

export interface MicroRow {
  readonly subject: 'OriginMatcher.matches' | 'Decider.requestHeaders'
  readonly case: string
  /** Median ns per call, by list size, in the order of MICRO_SIZES. */
  readonly ns: readonly number[]
}

export interface MicroResults {
  readonly iterations: number
  readonly repeats: number
  readonly sizes: readonly number[]
  readonly rows: readonly MicroRow[]
}

const BATCH = 10_000

/** `size` exact origins and a tenth as many subdomain patterns (at least one). */
function originList (size: number): string[] {
  const patterns = Math.max(1, Math.ceil(size / 10))
  return [
    ...Array.from({ length: size }, (_, i) => `https://client-${i}.example.com`),
    ...Array.from({ length: patterns }, (_, i) => `https://*.tenant${i}.example`),
  ]
}

function lastPatternOrigin (size: number): string {
  return `https://app.tenant${Math.max(1, Math.ceil(size / 10)) - 1}.example`
}

function matcherOf (origins: readonly string[]): OriginMatcher {
  const entries = origins.map((origin) => {
    const entry = parseOriginEntry(origin)
    if (typeof entry === 'string') throw new Error(`${origin} ${entry}`)
    return entry
  })
  return new OriginMatcher(entries as OriginEntry[], [])
}

/** A policy with `size` origins and as many allowed header names besides the two asked for. */
function policyOf (size: number): CompiledPolicy {
  const problems: CorsPolicyProblem[] = []
  const allowHeaders = ['content-type', 'x-request-id', ...Array.from({ length: size }, (_, i) => `x-header-${i}`)]
  const normalized = checkPolicy({ origins: originList(size), allowHeaders }, 'micro', problems)
  if (normalized === null) throw new Error(`invalid policy: ${JSON.stringify(problems)}`)
  return new CompiledPolicy(normalized, 'micro')
}

/** `count` distinct strings equal to `value`, none of them hashed yet. */
function fresh (value: string, count: number): string[] {
  const bytes = Buffer.from(value, 'latin1')
  const out = new Array<string>(count)
  for (let i = 0; i < count; i++) out[i] = bytes.toString('latin1')
  return out
}

// One loop per subject, so that each call site sees one class only.
function timeMatcher (matcher: OriginMatcher, inputs: readonly string[]): { ns: bigint, sink: number } {
  let sink = 0
  const start = process.hrtime.bigint()
  for (let i = 0; i < inputs.length; i++) if (matcher.matches(inputs[i] as string)) sink++
  return { ns: process.hrtime.bigint() - start, sink }
}

function timeHeaders (policy: CompiledPolicy, inputs: readonly string[]): { ns: bigint, sink: number } {
  const decider = deciderOf(policy)
  let sink = 0
  const start = process.hrtime.bigint()
  for (let i = 0; i < inputs.length; i++) {
    const decision = decider.requestHeaders(inputs[i])
    if (decision.allowed) sink += (decision.allowHeaders ?? '').length
  }
  return { ns: process.hrtime.bigint() - start, sink }
}

interface Case {
  readonly subject: MicroRow['subject']
  readonly name: string
  readonly input: (size: number) => string
  /** The sink of one call. */
  readonly expected: number
  readonly time: (size: number, inputs: readonly string[]) => { ns: bigint, sink: number }
}

export function runMicro (iterations = 1_000_000, repeats = 5): MicroResults {
  const matchers = new Map(MICRO_SIZES.map((size) => [size, matcherOf(originList(size))]))
  const policies = new Map(MICRO_SIZES.map((size) => [size, policyOf(size)]))
  const matcherCase = (name: string, input: (size: number) => string, hit: boolean): Case => ({
    subject: 'OriginMatcher.matches',
    name,
    input,
    expected: hit ? 1 : 0,
    time: (size, inputs) => timeMatcher(matchers.get(size as typeof MICRO_SIZES[number]) as OriginMatcher, inputs),
  })
  const headersCase = (name: string, value: string, expected: number): Case => ({
    subject: 'Decider.requestHeaders',
    name,
    input: () => value,
    expected,
    time: (size, inputs) => timeHeaders(policies.get(size as typeof MICRO_SIZES[number]) as CompiledPolicy, inputs),
  })
  const cases: Case[] = [
    matcherCase('hit, exact (the last one listed)', (size) => `https://client-${size - 1}.example.com`, true),
    matcherCase('hit, pattern (the last one listed)', lastPatternOrigin, true),
    matcherCase('miss', () => 'https://evil.example', false),
    matcherCase('miss, 6-label host', () => 'https://a.b.c.d.evil.example', false),
    // As browsers send it: sorted, lower case, no spaces; the answer joins the names with ', '.
    headersCase('2 names, allowed', 'content-type,x-request-id', 'content-type, x-request-id'.length),
    headersCase('1 name, refused', 'x-not-listed', 0),
  ]

  const batches = Math.max(1, Math.ceil(iterations / BATCH))
  const batch = Math.min(BATCH, iterations)
  const samples = new Map<string, number[]>()
  const run = (c: Case, size: number, count: number, record: boolean): void => {
    let ns = 0n
    for (let b = 0; b < count; b++) {
      const inputs = fresh(c.input(size), batch)
      const timed = c.time(size, inputs)
      if (timed.sink !== c.expected * batch) {
        throw new Error(`${c.subject} ${c.name}, ${size} origins: sink ${timed.sink}, expected ${c.expected * batch}`)
      }
      ns += timed.ns
    }
    if (!record) return
    const key = `${c.subject}|${c.name}|${size}`
    const list = samples.get(key) ?? []
    list.push(Number(ns) / (count * batch))
    samples.set(key, list)
  }

  // Warm-up: every case and size, so that the code is optimized for all of them before any timing.
  for (const c of cases) for (const size of MICRO_SIZES) run(c, size, Math.min(batches, 20), false)
  // Sizes interleaved inside each repeat, so that drift does not favour one size.
  for (let r = 0; r < repeats; r++) for (const c of cases) for (const size of MICRO_SIZES) run(c, size, batches, true)

  const rows = cases.map((c): MicroRow => ({
    subject: c.subject,
    case: c.name,
    ns: MICRO_SIZES.map((size) => median(samples.get(`${c.subject}|${c.name}|${size}`) ?? [])),
  }))
  return { iterations: batches * batch, repeats, sizes: [...MICRO_SIZES], rows }
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href
if (isMain) {
  const at = process.argv.indexOf('--iterations')
  const iterations = at === -1 ? Number(process.env.BENCH_MICRO_ITERATIONS ?? 1_000_000) : Number(process.argv[at + 1])
  const results = runMicro(iterations)
  if (process.argv.includes('--json')) {
    process.stdout.write(JSON.stringify(results) + '\n')
  } else {
    const { renderMicro } = await import('./report.ts')
    process.stdout.write(renderMicro(results, 'terminal') + '\n')
  }
}
