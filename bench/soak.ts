// Soak: a real server with several policies, in a child process, under mixed CORS traffic at full
// speed (autocannon) for SOAK_SECONDS (default 60). The server reports its heap (after a full GC) and
// RSS every few seconds over IPC; the run reports whether memory stayed flat after warm-up (growth
// under 10%) and whether any request failed. Exit code 1 when not.
//
// Then, replace under load: for SOAK_REPLACE_SECONDS more (default a third of SOAK_SECONDS, at least
// 5), the same traffic runs while the server replaces a named policy with a new 50-origin list every
// SOAK_REPLACE_MS (default 5), a tenant list refreshed on a timer. Its heap after a full GC, before and
// after the phase, must stay flat too (growth under 10%).
//
//   npm run soak                      # 60 s, then 20 s of replacements
//   SOAK_SECONDS=10 npm run soak      # a quick look
//   SOAK_CONNECTIONS=50 npm run soak  # default 32
import { fork } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import cors from '../lib/index.ts'

const SECONDS = Number(process.env.SOAK_SECONDS ?? 60)
const SAMPLE_MS = Number(process.env.SOAK_SAMPLE_SECONDS ?? 3) * 1000
const CONNECTIONS = Number(process.env.SOAK_CONNECTIONS ?? 32)
const REPLACE_SECONDS = Number(process.env.SOAK_REPLACE_SECONDS ?? Math.max(5, Math.round(SECONDS / 3)))
const REPLACE_MS = Number(process.env.SOAK_REPLACE_MS ?? 5)
/** Memory may grow this much (a fraction) between the first samples after warm-up and the last ones. */
const MAX_GROWTH = 0.1

interface Sample { readonly seconds: number, readonly heapUsed: number, readonly rss: number }
/** The heap after a full GC, and how many times the live policy has been replaced so far. */
interface Settled { readonly heapUsed: number, readonly replacements: number }
type Message = { type: 'listening', port: number } | ({ type: 'sample' } & Sample) | ({ type: 'settled' } & Settled)
/** What the parent asks of the server: start replacing the live policy, or stop; either answers `settled`. */
interface Command { readonly type: 'start-replacing' | 'stop-replacing' }

const ALLOWED = 'https://app.example.com'
const EVIL = 'https://evil.example'

/** The live policy's origins, version n: ALLOWED and 49 origins no other version lists. */
const liveOrigins = (n: number): string[] => [ALLOWED, ...Array.from({ length: 49 }, (_, i) => `https://t${n}-${i}.tenant.example`)]

/** The child: an app with several policies, and a memory sample every SAMPLE_MS. */
async function serve (): Promise<void> {
  const app = Fastify({ logger: false })
  await app.register(cors, {
    default: { origins: ['https://app.example.com', 'https://*.example.com'], credentials: true, allowHeaders: ['content-type'], maxAge: 600 },
    policies: {
      public: { origins: '*', exposeHeaders: ['x-request-id'] },
      partners: { origins: ['https://*.partner.example', 'http://localhost:*', /^https:\/\/[a-z0-9-]+\.regex\.example$/], allowHeaders: ['*'] },
      tenants: { origins: async (origin) => origin.endsWith('.tenant.example'), credentials: true },
      live: { origins: liveOrigins(0), allowHeaders: ['content-type'] },
    },
  })
  app.get('/public', { config: { cors: 'public' } }, async () => ({ ok: true }))
  app.get('/me', async () => ({ me: true }))
  app.put('/me', async () => ({ updated: true }))
  app.route({ method: ['GET', 'POST', 'DELETE'], url: '/partners/:id', config: { cors: 'partners' }, handler: async () => ({ partner: true }) })
  app.get('/tenants', { config: { cors: 'tenants' } }, async () => ({ tenant: true }))
  app.route({ method: ['GET', 'PUT'], url: '/live', config: { cors: 'live' }, handler: async () => ({ live: true }) })
  // A Vary token that changes with every request: the plugin's merge cache must stay bounded.
  app.get('/vary', async (request, reply) => {
    reply.header('vary', `Accept-Encoding, X-${(request.query as { v?: string }).v ?? ''}`)
    return { vary: true }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const started = Date.now()
  const send = (message: Message): void => { process.send?.(message) }
  send({ type: 'listening', port: (app.server.address() as { port: number }).port })
  const gc = (globalThis as { gc?: () => void }).gc
  setInterval(() => {
    gc?.()
    const { heapUsed, rss } = process.memoryUsage()
    send({ type: 'sample', seconds: (Date.now() - started) / 1000, heapUsed, rss })
  }, SAMPLE_MS).unref()

  let replacements = 0
  let replacer: NodeJS.Timeout | undefined
  // Full GCs with turns between them: compiled policies are released by finalization callbacks, which
  // run after the GC that collected them.
  const settle = async (): Promise<void> => {
    for (let round = 0; round < 4; round++) {
      gc?.()
      await new Promise((resolve) => setImmediate(resolve))
    }
    send({ type: 'settled', heapUsed: process.memoryUsage().heapUsed, replacements })
  }
  process.on('message', (command: Command) => {
    if (command.type === 'start-replacing') {
      settle().then(() => {
        replacer = setInterval(() => {
          app.corsPolicies.replace('live', { origins: liveOrigins(++replacements), allowHeaders: ['content-type'] })
        }, REPLACE_MS)
      })
    } else {
      clearInterval(replacer)
      settle()
    }
  })
  process.on('disconnect', () => {
    app.close().then(() => process.exit(0), () => process.exit(1))
  })
}

interface Planned {
  readonly name: string
  readonly method: string
  readonly path: string
  readonly headers: Record<string, string>
  /** The status this request must get. */
  readonly status: number
  /** Makes each request unique (a new origin, a new Vary token), so caches and maps are put to the test. */
  readonly vary?: (n: number) => { path?: string, headers?: Record<string, string> }
}

const preflight = (origin: string, method: string, extra: Record<string, string> = {}): Record<string, string> =>
  ({ origin, 'access-control-request-method': method, ...extra })

/** The mix, sent in turn on every connection: simple, preflight, rejected and malformed requests. */
const MIX: readonly Planned[] = [
  { name: 'simple, public', method: 'GET', path: '/public', headers: { origin: ALLOWED }, status: 200 },
  { name: 'simple, credentialed', method: 'GET', path: '/me', headers: { origin: ALLOWED }, status: 200 },
  { name: 'simple, new subdomain each time', method: 'GET', path: '/me', headers: {}, status: 200, vary: (n) => ({ headers: { origin: `https://s${n}.example.com` } }) },
  { name: 'preflight, allowed', method: 'OPTIONS', path: '/me', headers: preflight(ALLOWED, 'PUT', { 'access-control-request-headers': 'content-type' }), status: 204 },
  { name: 'actual after preflight', method: 'PUT', path: '/me', headers: { origin: ALLOWED }, status: 200 },
  { name: 'preflight, any header', method: 'OPTIONS', path: '/partners/7', headers: {}, status: 204, vary: (n) => ({ headers: preflight(`https://p${n}.partner.example`, 'DELETE', { 'access-control-request-headers': `x-h${n % 1000}, x-trace` }) }) },
  { name: 'simple, RegExp origin', method: 'GET', path: '/partners/7', headers: { origin: 'https://a.regex.example' }, status: 200 },
  { name: 'simple, origin function', method: 'GET', path: '/tenants', headers: {}, status: 200, vary: (n) => ({ headers: { origin: `https://t${n}.tenant.example` } }) },
  { name: 'rejected origin', method: 'GET', path: '/me', headers: { origin: EVIL }, status: 200 },
  { name: 'rejected preflight, origin', method: 'OPTIONS', path: '/me', headers: preflight(EVIL, 'PUT'), status: 403 },
  { name: 'rejected preflight, header', method: 'OPTIONS', path: '/me', headers: preflight(ALLOWED, 'PUT', { 'access-control-request-headers': 'x-secret' }), status: 403 },
  { name: 'rejected preflight, method', method: 'OPTIONS', path: '/public', headers: preflight(ALLOWED, 'DELETE'), status: 403 },
  { name: 'malformed origin, comma', method: 'GET', path: '/me', headers: { origin: `${ALLOWED}, ${EVIL}` }, status: 200 },
  { name: 'malformed origin, 3 KiB', method: 'GET', path: '/partners/7', headers: { origin: `https://${'a'.repeat(3000)}.partner.example` }, status: 200 },
  { name: 'malformed ACRM', method: 'OPTIONS', path: '/me', headers: preflight(ALLOWED, 'PU T'), status: 403 },
  { name: 'malformed ACRH, 101 names', method: 'OPTIONS', path: '/partners/7', headers: preflight(ALLOWED, 'GET', { 'access-control-request-headers': Array.from({ length: 101 }, (_, i) => `x-${i}`).join(',') }), status: 403 },
  { name: 'malformed ACRH, 9 KiB', method: 'OPTIONS', path: '/partners/7', headers: preflight('https://a.partner.example', 'GET', { 'access-control-request-headers': `x-a,${' '.repeat(9000)}x-b` }), status: 403 },
  { name: 'Vary set by the app, new token each time', method: 'GET', path: '/vary', headers: { origin: ALLOWED }, status: 200, vary: (n) => ({ path: `/vary?v=${n}` }) },
  { name: 'not found', method: 'GET', path: '/nowhere', headers: { origin: ALLOWED }, status: 404 },
  { name: 'plain OPTIONS', method: 'OPTIONS', path: '/me', headers: {}, status: 204 },
  // Every version of the live policy lists ALLOWED and none lists EVIL: the answers do not change with it.
  { name: 'preflight, live policy', method: 'OPTIONS', path: '/live', headers: preflight(ALLOWED, 'PUT', { 'access-control-request-headers': 'content-type' }), status: 204 },
  { name: 'rejected preflight, live policy', method: 'OPTIONS', path: '/live', headers: preflight(EVIL, 'PUT'), status: 403 },
  { name: 'simple, live policy', method: 'GET', path: '/live', headers: { origin: ALLOWED }, status: 200 },
]

interface AutocannonRequest {
  method: string
  path: string
  headers: Record<string, string>
  setupRequest?: (request: AutocannonRequest) => AutocannonRequest
  onResponse?: (status: number) => void
}
interface AutocannonResult {
  requests: { total: number, average: number }
  latency: { p50: number, p99: number, max: number }
  errors: number
  timeouts: number
  non2xx: number
  '5xx': number
}
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

/** The parent: starts the server, sends the mix, collects samples, replaces under load, reports. */
async function soak (): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), ['--server'], { execArgv: [...process.execArgv, '--expose-gc'], stdio: 'inherit' })
  const samples: Sample[] = []
  let onSettled: ((settled: Settled) => void) | undefined
  const port = await new Promise<number>((resolve, reject) => {
    child.on('message', (message: Message) => {
      if (message.type === 'listening') resolve(message.port)
      else if (message.type === 'sample') samples.push(message)
      else onSettled?.(message)
    })
    child.once('exit', (code) => reject(new Error(`the server exited with code ${code}`)))
  })
  let crashed = false
  child.once('exit', () => { crashed = true })
  const ask = (type: Command['type']): Promise<Settled> => new Promise((resolve) => {
    onSettled = resolve
    child.send({ type } satisfies Command)
  })

  const wrong = new Map<string, Map<number, number>>()
  let counter = 0
  let checked = 0
  const requests: AutocannonRequest[] = MIX.map((planned) => {
    const request: AutocannonRequest = {
      method: planned.method,
      path: planned.path,
      headers: planned.headers,
      onResponse: (status) => {
        checked++
        if (status === planned.status) return
        const byStatus = wrong.get(planned.name) ?? new Map<number, number>()
        byStatus.set(status, (byStatus.get(status) ?? 0) + 1)
        wrong.set(planned.name, byStatus)
      },
    }
    const vary = planned.vary
    if (vary !== undefined) {
      request.setupRequest = (sent) => {
        const changed = vary(counter++)
        return { ...sent, path: changed.path ?? planned.path, headers: { ...sent.headers, ...changed.headers } }
      }
    }
    return request
  })
  const load = (duration: number): Promise<AutocannonResult> =>
    autocannon({ url: `http://127.0.0.1:${port}`, connections: CONNECTIONS, duration, timeout: 10, requests })

  console.log(`soak: ${SECONDS} s, ${CONNECTIONS} connections, ${MIX.length} kinds of request, memory sampled every ${SAMPLE_MS / 1000} s; ` +
    `then ${REPLACE_SECONDS} s more while a policy is replaced every ${REPLACE_MS} ms`)
  const result = await load(SECONDS)
  // Samples taken under load only.
  const loaded = samples.slice()
  const before = await ask('start-replacing')
  const replaceStarted = Date.now()
  const underReplace = await load(REPLACE_SECONDS)
  const after = await ask('stop-replacing')
  const replaceSeconds = (Date.now() - replaceStarted) / 1000
  const replaced = samples.slice(loaded.length)
  child.disconnect()

  const warmUp = Math.max(5, SECONDS * 0.2)
  const steady = loaded.filter((s) => s.seconds >= warmUp)
  const growth = (pick: (s: Sample) => number): number => {
    if (steady.length < 2) return Number.NaN
    const k = Math.max(1, Math.floor(steady.length / 4))
    const mean = (xs: readonly Sample[]): number => xs.reduce((sum, s) => sum + pick(s), 0) / xs.length
    return mean(steady.slice(-k)) / mean(steady.slice(0, k)) - 1
  }
  const heapGrowth = growth((s) => s.heapUsed)
  const rssGrowth = growth((s) => s.rss)
  const replaceGrowth = after.heapUsed / before.heapUsed - 1
  const replacements = after.replacements - before.replacements
  const mb = (bytes: number): string => (bytes / 1048576).toFixed(1)
  const percent = (fraction: number): string => `${fraction < 0 ? '' : '+'}${(fraction * 100).toFixed(1)}%`
  const unexpected = [...wrong].map(([name, byStatus]) => `${name}: ${[...byStatus].map(([s, n]) => `${n} × ${s}`).join(', ')}`)
  const failed = result.errors + result.timeouts + underReplace.errors + underReplace.timeouts + unexpected.length + (crashed ? 1 : 0)
  const flat = heapGrowth < MAX_GROWTH && rssGrowth < MAX_GROWTH
  const replaceFlat = replaceGrowth < MAX_GROWTH

  const line = (s: Sample, note: string): string =>
    `  ${s.seconds.toFixed(0).padStart(4)} s  heap ${mb(s.heapUsed).padStart(6)} MB  rss ${mb(s.rss).padStart(6)} MB${note}`
  const describe = (run: AutocannonResult): string =>
    `${run.requests.total} (${Math.round(run.requests.average)}/s), latency p50 ${run.latency.p50} ms, p99 ${run.latency.p99} ms, max ${run.latency.max} ms; ` +
    `errors: ${run.errors}, timeouts: ${run.timeouts}, 5xx: ${run['5xx']}`
  console.log('\nmemory (heap after a full GC, RSS):')
  for (const s of loaded) console.log(line(s, s.seconds < warmUp ? '  (warm-up)' : ''))
  for (const s of replaced) console.log(line(s, '  (replacing)'))
  console.log(`\nrequests: ${describe(result)}`)
  console.log(`requests while replacing: ${describe(underReplace)}`)
  console.log(`unexpected statuses (of ${checked} checked): ${unexpected.length === 0 ? 'none' : '\n  ' + unexpected.join('\n  ')}`)
  console.log(`server crashed: ${crashed ? 'yes' : 'no'}`)
  console.log(`heap growth after warm-up: ${percent(heapGrowth)}, RSS growth: ${percent(rssGrowth)} (limit ${MAX_GROWTH * 100}%)`)
  console.log(`replace under load: ${replacements} replacements of a 50-origin policy in ${replaceSeconds.toFixed(1)} s ` +
    `(one every ${(replaceSeconds * 1000 / replacements).toFixed(1)} ms); heap after a full GC ${mb(before.heapUsed)} → ${mb(after.heapUsed)} MB ` +
    `(${percent(replaceGrowth)}, limit ${MAX_GROWTH * 100}%)`)
  console.log(`\nmemory flat: ${flat ? 'yes' : 'NO'}; flat while replacing: ${replaceFlat ? 'yes' : 'NO'}; failed requests: ${failed === 0 ? 'none' : failed}`)
  process.exitCode = flat && replaceFlat && failed === 0 ? 0 : 1
}

if (process.argv.includes('--server')) await serve()
else await soak()
