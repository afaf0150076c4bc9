import type { FastifyRequest } from 'fastify'
import type { Decider } from '../decision/decider.ts'
import type { CorsRefusalReason, Decision } from '../decision/decision.ts'
import type { PolicyCensus } from './census.ts'
import { decisionChannel, originOf, publishDecision } from './events.ts'
import type { ObservedRoute } from './log.ts'

// Report-only candidates and the origin census: what a policy's routes watch beside enforcing it.
// The candidate is judged by the same decision functions as the enforced policy; this module only
// compares the two decisions, and counts.

/** What a request does beside answering with its policy; replaced whole, never changed. */
export interface SlotWatch {
  /** A policy tried beside the enforced one; its decisions are reported, never sent. */
  readonly candidate: Decider | null
  readonly census: PolicyCensus | null
  readonly log: DisagreementLog
}

/**
 * Takes the enforced decision and the candidate's on the same request (null without a candidate):
 * counts the origin in the census, and reports a disagreement (allowed by one, refused by the other)
 * on the decision channel and in the log.
 */
export function compareDecisions (request: FastifyRequest, route: ObservedRoute, watch: SlotWatch, origin: unknown, enforced: Decision, candidate: Decision | null): void {
  watch.census?.record(originOf(origin), enforced.allowed, candidate === null ? null : candidate.allowed)
  if (candidate === null || enforced.allowed === candidate.allowed) return
  if (decisionChannel.hasSubscribers) publishDecision(request, route, origin, candidate, true)
  watch.log.disagree(request, route, originOf(origin), enforced.preflight, enforced.reason, candidate.reason)
}

/** How long a (route, origin) pair stays quiet after its disagreement was logged. */
export const REPORT_ONLY_LOG_WINDOW = 60_000
/** How many (route, origin) pairs the rate limit remembers; past that, disagreements go unlogged until pairs expire. */
export const REPORT_ONLY_LOG_PAIRS = 1000
// Origins are at most 2 KiB (longer ones are malformed); a key keeps the first 256 characters.
const KEY_ORIGIN_LENGTH = 256

/**
 * Logs disagreements at warn, at most once per route and origin per window, remembering a bounded
 * number of pairs: a flood of distinct origins fills neither the logs nor the memory. What it did not
 * log for want of room is counted, and the next line says how many.
 */
export class DisagreementLog {
  /** Key to when it may be logged again. Insertion order is expiry order: the window is the same for all. */
  readonly #quiet = new Map<string, number>()
  #suppressed = 0

  disagree (request: FastifyRequest, route: ObservedRoute, origin: string, preflight: boolean, enforced: CorsRefusalReason | null, candidate: CorsRefusalReason | null): void {
    const now = Date.now()
    for (const [key, until] of this.#quiet) {
      if (until > now) break
      this.#quiet.delete(key)
    }
    const key = `${route.label} ${origin.length > KEY_ORIGIN_LENGTH ? origin.slice(0, KEY_ORIGIN_LENGTH) : origin}`
    if (this.#quiet.has(key)) return
    if (this.#quiet.size >= REPORT_ONLY_LOG_PAIRS) {
      this.#suppressed++
      return
    }
    this.#quiet.set(key, now + REPORT_ONLY_LOG_WINDOW)
    const suppressed = this.#suppressed
    this.#suppressed = 0
    const policy = route.policyLabel as string
    const what = preflight ? 'preflight' : 'request'
    const message = candidate === null
      ? `the report-only candidate for ${policy} would allow the ${what} from ${JSON.stringify(origin)} to ${route.label}, which the enforced policy refuses (${String(enforced)})`
      : `the report-only candidate for ${policy} would refuse the ${what} from ${JSON.stringify(origin)} to ${route.label} (${candidate}), which the enforced policy allows`
    request.log.warn({
      cors: {
        reportOnly: true,
        route: route.label,
        policy,
        origin,
        preflight,
        enforced: { allowed: enforced === null, reason: enforced },
        candidate: { allowed: candidate === null, reason: candidate },
        suppressed,
      },
    }, `CORS report-only: ${message}`)
  }
}
