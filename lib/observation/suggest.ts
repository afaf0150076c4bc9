import type { CorsCensusPolicy } from './census.ts'
import type { CorsPolicyProblem } from '../policy/errors.ts'
import { registrableDomain } from '../policy/origin.ts'
import { checkPolicy, type CorsPolicy } from '../policy/policy.ts'

export interface SuggestCorsPolicyOptions {
  /** Leave out origins seen fewer times than this (default 1): raise it to drop one-off callers and scanners. */
  minRequests?: number
  /** The suggested policy sends credentials: origins that startup refuses with them (`'null'`, plain http but loopback) are left out. */
  credentials?: boolean
  /** Propose `https://*.example.com` once this many subdomains of `example.com` were seen (default 3); 0 for exact origins only. */
  minSubdomains?: number
}

/** A suggested policy: a `CorsPolicy` of exact origins and patterns, ready for `tryCandidate`. */
export interface SuggestedCorsPolicy extends CorsPolicy {
  origins: string[]
  credentials?: boolean
}

/**
 * Turns what the census saw for one policy into a policy listing those origins exactly, which passes
 * the plugin's startup checks: origins those checks would refuse are left out. Where several
 * subdomains of one registrable domain were seen (`a.example.com`, `b.example.com`, …), they become
 * one pattern (`https://*.example.com`); never over a public suffix (`*.github.io`, `*.co.uk`).
 * Null when no origin qualifies. Review it before enforcing it: the census counts whoever called.
 */
export function suggestCorsPolicy (census: CorsCensusPolicy, options: SuggestCorsPolicyOptions = {}): SuggestedCorsPolicy | null {
  const minRequests = options.minRequests ?? 1
  const credentials = options.credentials === true
  const minSubdomains = options.minSubdomains ?? 3
  const exact = census.origins
    .filter((seen) => seen.requests >= minRequests && passes(seen.origin, credentials))
    .map((seen) => seen.origin)
  // Subdomains of each registrable domain, per scheme, on the default port.
  const groups = new Map<string, string[]>()
  for (const origin of exact) {
    const key = subdomainGroup(origin)
    if (key === null) continue
    const members = groups.get(key)
    if (members === undefined) groups.set(key, [origin])
    else members.push(origin)
  }
  const origins = new Set(exact)
  for (const [pattern, members] of groups) {
    if (minSubdomains === 0 || members.length < minSubdomains || !passes(pattern, credentials)) continue
    for (const member of members) origins.delete(member)
    origins.add(pattern)
  }
  if (origins.size === 0) return null
  return credentials ? { origins: [...origins].sort(), credentials } : { origins: [...origins].sort() }
}

/** Whether a policy of this one origin passes the startup checks. */
function passes (origin: string, credentials: boolean): boolean {
  const problems: CorsPolicyProblem[] = []
  return checkPolicy({ origins: [origin], credentials }, 'suggested policy', problems) !== null
}

/** `https://*.example.com` for `https://a.example.com`; null for other schemes, ports, IPs, or a registrable domain itself. */
function subdomainGroup (origin: string): string | null {
  if (origin === 'null') return null
  const url = new URL(origin)
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.port !== '') return null
  const domain = registrableDomain(url.hostname)
  if (domain === null || domain === url.hostname) return null
  return `${url.protocol}//*.${domain}`
}
