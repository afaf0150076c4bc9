import { deciderOf, type Decider } from '../decision/decider.ts'
import { withSchemaHeaders } from '../policy/schema-headers.ts'
import type { Census } from '../observation/census.ts'
import { DisagreementLog } from '../observation/report-only.ts'
import type { Registration } from './options.ts'
import type { CorsRegistry } from './registry.ts'
import type { DerivedSlot, PolicySlot, SlotWatcher } from './slot.ts'

/**
 * A registration's report-only candidates and census, and the watches they put on its slots. Slots
 * whose policy has neither keep `watch` null, so their requests pay one null check.
 */
export class Watches implements SlotWatcher {
  readonly census: Census | null
  readonly #log = new DisagreementLog()
  readonly #registration: Registration
  readonly #registry: CorsRegistry
  readonly #candidates = new Map<string, Decider>()

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
  candidate (name: string): Decider | null {
    return this.#candidates.get(name) ?? null
  }

  setCandidate (name: string, candidate: Decider | null): void {
    if (candidate === null) this.#candidates.delete(name)
    else this.#candidates.set(name, candidate)
    this.#watchNamed(name)
  }

  watchInline (slot: PolicySlot, label: string): void {
    if (this.census === null) return
    slot.watch = { candidate: null, census: this.census.policy(null, label), log: this.#log }
  }

  /** Gives a slot derived from `base` (headersFromSchema) its base's watch, the route's schema headers joined to the candidate. */
  deriveWatch (base: PolicySlot, derived: DerivedSlot): void {
    const watch = base.watch
    derived.watch = watch === null
      ? null
      : {
          ...watch,
          candidate: watch.candidate === null ? null : deciderOf(withSchemaHeaders(watch.candidate.policy, derived.names, this.#registry.policies)),
        }
  }

  #watchNamed (name: string): void {
    const slot = this.#registration.named.get(name) as PolicySlot
    const candidate = this.#candidates.get(name) ?? null
    const census = this.census?.policy(name, `policy ${JSON.stringify(name)}`) ?? null
    slot.watch = candidate === null && census === null ? null : { candidate, census, log: this.#log }
    for (const derived of this.#registry.derivedSlots(slot)) this.deriveWatch(slot, derived)
  }
}
