import type { FastifyRequest } from 'fastify'
import type { Census, PolicyCensus } from './census.ts'
import type { CompiledPolicy, PolicySlot } from './compile.ts'
import { decisionChannel, originOf, publishDecision } from './events.ts'
import { ACRH } from './headers.ts'
import type { CorsRefusalReason } from './log.ts'
import type { Registration } from './options.ts'
import { checkRequestHeaders } from './preflight.ts'
import type { CorsRegistry, CorsRoute } from './registry.ts'
import { withSchemaHeaders, type DerivedSlot } from './schema-headers.ts'

// Report-only candidates and the origin census: what a slot carries beside its policy. Requests read
// `slot.watch` once, beside `slot.current`, and do nothing more while it is null (neither is on).

/** What a request does beside answering with the slot's policy; replaced whole, never changed. */
export interface SlotWatch {
  /** A policy tried beside the enforced one; its decisions are reported, never sent. */
  readonly candidate: CompiledPolicy | null
  readonly census: PolicyCensus | null
  readonly log: DisagreementLog
}

declare module './compile.ts' {
  interface PolicySlot {
    /** Report-only candidate and census of the slot's policy; null or absent when neither is on. */
    watch?: SlotWatch | null
  }
}

/** A decision: null for allowed, or why not; a promise when an origins function answers later. */
type Verdict = CorsRefusalReason | null

/**
 * An actual request's decision, once made: published when someone listens, judged by the candidate,
 * counted by the census. Called only when `watch` is set or the channel has subscribers.
 */
export function observeActual (request: FastifyRequest, route: CorsRoute, watch: SlotWatch | null | undefined, origin: unknown, enforced: Verdict): void {
  if (decisionChannel.hasSubscribers) publishDecision(request, route, origin, false, enforced, false)
  if (watch == null) return
  const candidate = watch.candidate
  if (candidate === null) {
    watch.census?.record(originOf(origin), enforced === null, null)
    return
  }
  const verdict = judgeActual(candidate, request, route, origin)
  if (typeof verdict === 'object' && verdict !== null) verdict.then((v) => { compare(request, route, watch, origin, false, enforced, v) })
  else compare(request, route, watch, origin, false, enforced, verdict)
}

/** The same for a preflight that reached a route with a policy. */
export function observePreflight (request: FastifyRequest, route: CorsRoute, watch: SlotWatch | null | undefined, origin: string, method: string, enforced: Verdict): void {
  if (decisionChannel.hasSubscribers) publishDecision(request, route, origin, true, enforced, false)
  if (watch == null) return
  const candidate = watch.candidate
  if (candidate === null) {
    watch.census?.record(origin, enforced === null, null)
    return
  }
  const verdict = judgePreflight(candidate, request, route, origin, method)
  if (typeof verdict === 'object' && verdict !== null) verdict.then((v) => { compare(request, route, watch, origin, true, enforced, v) })
  else compare(request, route, watch, origin, true, enforced, verdict)
}

/** What the candidate would have answered to an actual request: the branches of actual.ts, without the headers. */
function judgeActual (candidate: CompiledPolicy, request: FastifyRequest, route: CorsRoute, origin: unknown): Verdict | Promise<Verdict> {
  if (candidate.isPublic) return candidate.allowsMethod(request.method) ? null : 'method_not_allowed'
  if (typeof origin !== 'string') return 'malformed_request'
  if (!candidate.allowsMethod(request.method)) return 'method_not_allowed'
  return originVerdict(candidate.allowsOrigin(origin, request, route))
}

/** What the candidate would have answered to a preflight: the branches of preflight.ts, without the reply. */
function judgePreflight (candidate: CompiledPolicy, request: FastifyRequest, route: CorsRoute, origin: string, method: string): Verdict | Promise<Verdict> {
  if (!candidate.allowsMethod(method)) return 'method_not_allowed'
  const headers = checkRequestHeaders(request.headers[ACRH], candidate)
  if (typeof headers !== 'string') return headers.reason
  return originVerdict(candidate.allowsOrigin(origin, request, route))
}

function originVerdict (allowed: boolean | Promise<boolean>): Verdict | Promise<Verdict> {
  if (allowed === true) return null
  if (allowed === false) return 'origin_not_allowed'
  return allowed.then((yes) => yes ? null : 'origin_not_allowed')
}

function compare (request: FastifyRequest, route: CorsRoute, watch: SlotWatch, origin: unknown, preflight: boolean, enforced: Verdict, candidate: Verdict): void {
  watch.census?.record(originOf(origin), enforced === null, candidate === null)
  if ((enforced === null) === (candidate === null)) return
  if (decisionChannel.hasSubscribers) publishDecision(request, route, origin, preflight, candidate, true)
  watch.log.disagree(request, route, originOf(origin), preflight, enforced, candidate)
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

  disagree (request: FastifyRequest, route: CorsRoute, origin: string, preflight: boolean, enforced: Verdict, candidate: Verdict): void {
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

/**
 * A registration's candidates and census, and the watches they put on its slots. Slots whose policy
 * has neither keep `watch` null, so their requests pay one null check.
 */
export class Review {
  readonly census: Census | null
  readonly #log = new DisagreementLog()
  readonly #registration: Registration
  readonly #registry: CorsRegistry
  readonly #candidates = new Map<string, CompiledPolicy>()
  /** Base slots with a census of their own: the default's and inline ones (named slots are in the registration). */
  readonly #others: Array<{ readonly slot: PolicySlot, readonly census: PolicyCensus }> = []

  constructor (registration: Registration, registry: CorsRegistry, census: Census | null) {
    this.#registration = registration
    this.#registry = registry
    this.census = census
    for (const [name, candidate] of registration.candidates) this.#candidates.set(name, candidate)
    for (const name of registration.named.keys()) this.#watchNamed(name)
    const fallback = registration.defaultRoute
    if (fallback !== null && registration.defaultName === null) this.watchInline(fallback.slot, fallback.policyLabel as string)
  }

  /** The candidate of a named policy, or null. */
  candidate (name: string): CompiledPolicy | null {
    return this.#candidates.get(name) ?? null
  }

  setCandidate (name: string, candidate: CompiledPolicy | null): void {
    if (candidate === null) this.#candidates.delete(name)
    else this.#candidates.set(name, candidate)
    this.#watchNamed(name)
  }

  /** Counts an inline policy's origins, when the census is on. */
  watchInline (slot: PolicySlot, label: string): void {
    if (this.census === null) return
    const census = this.census.policy(null, label)
    this.#others.push({ slot, census })
    slot.watch = { candidate: null, census, log: this.#log }
  }

  #watchNamed (name: string): void {
    const slot = this.#registration.named.get(name) as PolicySlot
    const candidate = this.#candidates.get(name) ?? null
    const census = this.census?.policy(name, `policy ${JSON.stringify(name)}`) ?? null
    slot.watch = candidate === null && census === null ? null : { candidate, census, log: this.#log }
    this.#derive(slot)
  }

  /** Gives a slot derived from `base` (headersFromSchema) its base's watch, the route's schema headers joined to the candidate. */
  deriveWatch (base: PolicySlot, derived: DerivedSlot): void {
    const watch = base.watch ?? null
    derived.watch = watch === null
      ? null
      : { ...watch, candidate: watch.candidate === null ? null : withSchemaHeaders(watch.candidate, derived.names, this.#registry.policies) }
  }

  #derive (base: PolicySlot): void {
    for (const derived of this.#registry.derivedSlots(base) as DerivedSlot[]) this.deriveWatch(base, derived)
  }
}
