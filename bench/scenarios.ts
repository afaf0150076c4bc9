// What each benchmark scenario sends, and what each contender must answer for its numbers to count.
// Pure data: the runner and the smoke test load this without loading the plugin or Fastify.

/** The three servers of every scenario, in the order they are run in each round. */
export const CONTENDERS = ['bare', 'plugin', 'fastify-cors'] as const
export type Contender = typeof CONTENDERS[number]

export const CONTENDER_TITLES: Readonly<Record<Contender, string>> = {
  bare: 'bare Fastify',
  plugin: 'fastify-cors-policy',
  'fastify-cors': '@fastify/cors',
}

export const SCENARIO_NAMES = ['simple', 'list-hit', 'list-miss', 'preflight-1', 'preflight-1100', 'app-500', 'events', 'report-only'] as const
export type ScenarioName = typeof SCENARIO_NAMES[number]

/** The one origin of scenarios 1 and 4a. */
export const ONE_ORIGIN = 'https://app.example.com'
export const EXACT_COUNT = 1000
export const PATTERN_COUNT = 100
/** Scenarios 2, 3 and 4b: 1,000 exact origins, then 100 subdomain patterns. */
export const EXACT_ORIGINS: readonly string[] = Array.from({ length: EXACT_COUNT }, (_, i) => `https://client-${i}.example.com`)
export const PATTERN_ORIGINS: readonly string[] = Array.from({ length: PATTERN_COUNT }, (_, i) => `https://*.tenant${i}.example`)
/** The patterns as @fastify/cors takes them: anchored RegExps, one or more labels before the base. */
export const PATTERN_REGEXPS: readonly RegExp[] = Array.from({ length: PATTERN_COUNT },
  (_, i) => new RegExp(`^https://(?:[a-z0-9-]+\\.)+tenant${i}\\.example$`))
/** Matches the last pattern only: the worst case for a list walked in order. */
export const LAST_PATTERN_ORIGIN = `https://app.tenant${PATTERN_COUNT - 1}.example`
export const MISSING_ORIGIN = 'https://evil.example'

/** Preflight scenarios: the method and the two request headers asked for, as browsers send them (sorted, lower case, no spaces). */
export const PREFLIGHT_METHOD = 'PUT'
export const PREFLIGHT_HEADERS = 'content-type,x-request-id'
export const ALLOWED_HEADERS: readonly string[] = ['content-type', 'x-request-id']

/** Scenario 5: 100 paths, 5 methods each, 50 named policies (path i uses policy i mod 50). */
export const APP_PATHS = 100
export const APP_METHODS: readonly string[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']
export const APP_POLICIES = 50
export const appPath = (i: number): string => `/api/resource${i}/:id`
export const appPolicyName = (k: number): string => `p${k}`
export const appPolicyOrigins = (k: number): string[] =>
  [`https://app${k}.example.com`, `https://admin${k}.example.com`, `https://*.tenant${k}.example`]
/** The anchored RegExp @fastify/cors takes for the pattern of policy k. */
export const appPolicyRegExp = (k: number): RegExp => new RegExp(`^https://(?:[a-z0-9-]+\\.)+tenant${k}\\.example$`)
const APP_TARGET = 42

export interface BenchRequest {
  readonly method: string
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
}

/** A response as the runner sees it, before the load. */
export interface Sample {
  readonly status: number
  readonly headers: Readonly<Record<string, string | undefined>>
}

export interface Scenario {
  readonly name: ScenarioName
  /** The numbering: 1, 2, 3, 4a, 4b, 5. */
  readonly number: string
  readonly title: string
  readonly request: BenchRequest
  /** Scenario 5: each round starts fresh processes and reports their startup. */
  readonly startup: boolean
  /** Null when the response is what this contender must answer; otherwise what is wrong with it. */
  check (contender: Contender, sample: Sample): string | null
}

const ACAO = 'access-control-allow-origin'

function expect (sample: Sample, status: number, headers: Record<string, string | undefined>): string | null {
  if (sample.status !== status) return `status ${sample.status}, expected ${status}`
  for (const [name, value] of Object.entries(headers)) {
    if (sample.headers[name] !== value) return `${name}: ${JSON.stringify(sample.headers[name])}, expected ${JSON.stringify(value)}`
  }
  return null
}

function actual (name: ScenarioName, number: string, title: string, origin: string, path: string, allowed: boolean): Scenario {
  return {
    name,
    number,
    title,
    startup: name === 'app-500',
    request: { method: 'GET', path, headers: { origin } },
    check (contender, sample) {
      if (contender === 'bare') return expect(sample, 200, { [ACAO]: undefined })
      return expect(sample, 200, { [ACAO]: allowed ? origin : undefined, vary: 'Origin' })
    },
  }
}

function preflight (name: ScenarioName, number: string, title: string, origin: string): Scenario {
  return {
    name,
    number,
    title,
    startup: false,
    request: {
      method: 'OPTIONS',
      path: '/',
      headers: { origin, 'access-control-request-method': PREFLIGHT_METHOD, 'access-control-request-headers': PREFLIGHT_HEADERS },
    },
    check (contender, sample) {
      if (contender === 'bare') return expect(sample, 204, { [ACAO]: undefined })
      const methods = contender === 'plugin' ? PREFLIGHT_METHOD : 'GET,HEAD,PUT'
      const headers = ALLOWED_HEADERS.join(contender === 'plugin' ? ', ' : ',')
      return expect(sample, 204, {
        [ACAO]: origin,
        'access-control-allow-methods': methods,
        'access-control-allow-headers': headers,
      })
    },
  }
}

export const SCENARIOS: Readonly<Record<ScenarioName, Scenario>> = {
  simple: actual('simple', '1', 'simple GET, one exact origin, allowed', ONE_ORIGIN, '/', true),
  'list-hit': actual('list-hit', '2', 'simple GET, 1,000 origins + 100 patterns, last pattern matches', LAST_PATTERN_ORIGIN, '/', true),
  'list-miss': actual('list-miss', '3', 'simple GET, 1,000 origins + 100 patterns, origin not allowed', MISSING_ORIGIN, '/', false),
  'preflight-1': preflight('preflight-1', '4a', 'preflight (PUT, 2 headers), one exact origin', ONE_ORIGIN),
  'preflight-1100': preflight('preflight-1100', '4b', 'preflight (PUT, 2 headers), 1,100-origin list, last pattern matches', LAST_PATTERN_ORIGIN),
  'app-500': actual('app-500', '5', '500 routes on 100 paths, 50 named policies: GET on one route',
    appPolicyOrigins(APP_TARGET)[0] as string, appPath(APP_TARGET).replace(':id', '123'), true),
  // Scenario 1 is the cost with nobody subscribed to the decision channel; these two add to it.
  events: actual('events', '6a', 'simple GET as 1, a subscriber on the decision channel (the plugin)', ONE_ORIGIN, '/', true),
  'report-only': actual('report-only', '6b', 'simple GET as 1, a report-only candidate attached, agreeing (the plugin)', ONE_ORIGIN, '/', true),
}

/** Scenario 6b's candidate: the enforced origin and another, so that it agrees on every request of the scenario. */
export const CANDIDATE_ORIGINS: readonly string[] = [ONE_ORIGIN, 'https://next.example.com']

/**
 * The application a contender runs in a scenario. Consecutive scenarios whose contender runs the
 * same application share its server: all three in 2 and 3, bare Fastify in 1 to 3 and in 4a and 4b.
 */
export function appOf (contender: Contender, scenario: ScenarioName): string {
  switch (scenario) {
    case 'simple': return contender === 'bare' ? 'get' : 'one-origin'
    case 'events': return contender === 'bare' ? 'get' : contender === 'plugin' ? 'one-origin-subscribed' : 'one-origin'
    case 'report-only': return contender === 'bare' ? 'get' : contender === 'plugin' ? 'one-origin-report-only' : 'one-origin'
    case 'list-hit':
    case 'list-miss': return contender === 'bare' ? 'get' : 'list'
    case 'preflight-1': return contender === 'bare' ? 'options' : 'preflight-one-origin'
    case 'preflight-1100': return contender === 'bare' ? 'options' : 'preflight-list'
    case 'app-500': return 'app-500'
  }
}

export function isScenarioName (value: string): value is ScenarioName {
  return (SCENARIO_NAMES as readonly string[]).includes(value)
}

export function isContender (value: string): value is Contender {
  return (CONTENDERS as readonly string[]).includes(value)
}

// The no-pipelining regime, as browsers and proxies send requests: 50 keep-alive connections, one
// request at a time on each, a simple GET from an allowed origin. Its contenders are bare Fastify, the
// plugin, and the floor: bare Fastify plus one hand-written onSend hook that writes the same headers
// for the same origins (see apps.ts), the least any CORS layer can cost.

/** The contenders of the sweep, in the order of the first round (the order turns each round). */
export const SWEEP_CONTENDERS = ['bare', 'floor', 'plugin'] as const
export type SweepContender = typeof SWEEP_CONTENDERS[number]

export const SWEEP_CONNECTIONS = 50
export const SWEEP_PIPELINING = 1

/** The allowlists of the sweep: exact origins, then subdomain patterns. */
export const SWEEP_SIZES = ['1', '1000', '5000', '5000+200', '20000'] as const
export type SweepSize = typeof SWEEP_SIZES[number]

export const SWEEP_SIZE_TITLES: Readonly<Record<SweepSize, string>> = {
  1: '1',
  1000: '1,000',
  5000: '5,000',
  '5000+200': '5,000 + 200 patterns',
  20000: '20,000',
}

export function isSweepSize (value: string): value is SweepSize {
  return (SWEEP_SIZES as readonly string[]).includes(value)
}

/** How many exact origins and subdomain patterns a size lists. */
export function sweepCounts (size: SweepSize): { readonly exact: number, readonly patterns: number } {
  const [exact, patterns = '0'] = size.split('+') as [string, string?]
  return { exact: Number(exact), patterns: Number(patterns) }
}

export const sweepExactOrigin = (i: number): string => `https://app${i}.customer.example`
export const sweepPattern = (i: number): string => `https://*.tenant${i}.example.net`

/** The allowlist of a size, built afresh (each server builds its own). */
export function sweepLists (size: SweepSize): { exact: string[], patterns: string[] } {
  const counts = sweepCounts(size)
  return {
    exact: Array.from({ length: counts.exact }, (_, i) => sweepExactOrigin(i)),
    patterns: Array.from({ length: counts.patterns }, (_, i) => sweepPattern(i)),
  }
}

/** The origins the sweep sends: one listed exactly, one under a pattern (where the list has patterns), one not allowed. */
export const SWEEP_ORIGIN_KINDS = ['exact', 'pattern', 'miss'] as const
export type SweepOriginKind = typeof SWEEP_ORIGIN_KINDS[number]

export const SWEEP_ORIGIN_TITLES: Readonly<Record<SweepOriginKind, string>> = {
  exact: 'exact hit',
  pattern: 'pattern hit',
  miss: 'miss',
}

/** The origin kinds a size is measured with: a pattern hit only where the list has patterns. */
export function sweepKinds (size: SweepSize): readonly SweepOriginKind[] {
  return sweepCounts(size).patterns > 0 ? SWEEP_ORIGIN_KINDS : ['exact', 'miss']
}

/**
 * The request origin of a kind: the exact origin in the middle of the list (a Set does not care where),
 * a subdomain of the last pattern, and a name of the same shape under the same domain that is not listed.
 */
export function sweepOrigin (size: SweepSize, kind: SweepOriginKind): string {
  const counts = sweepCounts(size)
  switch (kind) {
    case 'exact': return sweepExactOrigin(Math.floor((counts.exact - 1) / 2))
    case 'pattern': return `https://eu.tenant${counts.patterns - 1}.example.net`
    case 'miss': return `https://app${counts.exact}.customer.example`
  }
}

export const SWEEP_PATH = '/'
