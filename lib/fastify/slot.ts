import type { Decider } from '../decision/decider.ts'
import type { SchemaHeaderNames } from '../policy/schema-headers.ts'
import type { SlotWatch } from '../observation/report-only.ts'

/**
 * Where a route finds its policy. A named policy's slot is shared by every route that names it, so
 * replacing the policy is one assignment: each request reads the slot once and sees the whole old
 * policy or the whole new one, never a mix.
 */
export interface PolicySlot {
  current: Decider
  /** Report-only candidate and census of the slot's policy; null while neither is on, so requests pay one null check. */
  watch: SlotWatch | null
}

/** A slot that follows its base slot (headersFromSchema): replacing the named policy re-derives it. */
export interface DerivedSlot extends PolicySlot {
  readonly names: SchemaHeaderNames
}

/** What puts watches on a registration's slots (watches.ts), as the routes and options that make slots call it. */
export interface SlotWatcher {
  /** Counts an inline policy's origins, when the census is on. */
  watchInline (slot: PolicySlot, label: string): void
  /** Gives a slot derived from `base` its base's watch. */
  deriveWatch (base: PolicySlot, derived: DerivedSlot): void
}
