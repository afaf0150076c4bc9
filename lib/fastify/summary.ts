import type { CompiledPolicy } from '../policy/compile.ts'
import type { OriginEntry } from '../policy/origin.ts'
import type { CorsRoute } from './registry.ts'

/** One route's CORS policy, as `app.corsPolicyReport()` and the OpenAPI `x-cors` extension describe it. */
export interface CorsPolicySummary {
  /** The policy's name, `inline`, `default`, or null when the route is not CORS-enabled. */
  policy: string | null
  /** `*`, the listed origins and patterns, RegExps as written, or `function`. */
  origins: string
  credentials: boolean
  /** The methods allowed: the policy's `methods`, or the route's own. */
  methods: string
  /** Request headers allowed besides the CORS-safelisted ones. */
  allowHeaders: string
  exposeHeaders: string
  maxAge: number | null
}

const MAX_LISTED_ORIGINS = 3

/** Describes the policy a route has now (after any live replacement). */
export function summarize (route: CorsRoute): CorsPolicySummary {
  const policy = route.slot?.current.policy
  if (policy === undefined) {
    return { policy: null, origins: '', credentials: false, methods: '', allowHeaders: '', exposeHeaders: '', maxAge: null }
  }
  const source = policy.source
  return {
    policy: route.policyName ?? (route.policyLabel === 'default policy' ? 'default' : 'inline'),
    origins: describeOrigins(policy),
    credentials: source.credentials,
    methods: (source.methods ?? route.methods).join(', '),
    allowHeaders: [...source.allowHeaders, ...(source.anyHeader ? ['* (not authorization)'] : [])].join(', '),
    exposeHeaders: source.exposeHeaders.join(', '),
    maxAge: source.maxAge,
  }
}

function describeOrigins (policy: CompiledPolicy): string {
  const origins = policy.source.origins
  if (origins === '*') return '*'
  if (typeof origins === 'function') return 'function'
  const all = [
    ...origins.entries.map(describeEntry),
    ...origins.regexps.map(String),
  ]
  const shown = all.slice(0, MAX_LISTED_ORIGINS).join(', ')
  return all.length > MAX_LISTED_ORIGINS ? `${shown} (+${all.length - MAX_LISTED_ORIGINS} more)` : shown
}

/** An entry as it was written in the policy. */
function describeEntry (entry: OriginEntry): string {
  switch (entry.kind) {
    case 'exact': return entry.origin
    case 'anyPort': return `${entry.origin}:*`
    case 'subdomains': return `${entry.scheme}://*${entry.suffix}`
    case 'subdomainsAnyPort': return `${entry.scheme}://*${entry.suffix}:*`
  }
}
