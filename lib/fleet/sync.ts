import type { FastifyBaseLogger } from 'fastify'
import { CorsPolicyError, type CorsPolicies, type CorsPolicyProblem } from 'fastify-cors-policy'
import { rowLabel, rowPolicy, type CorsPolicyField } from './row.ts'

// Rows to policies: what a row read from the store does to the registration's named policies.
// Only changes act and log; reading the same rows again (a reconnection) does nothing.

/** A row as the listener reads it. */
export interface StoreRow {
  readonly name: string
  readonly policy: unknown
  readonly candidate: unknown
}

/** Where a named policy stands: the JSON of the row applied (null: what the code declared), and of the last one refused. */
interface NameState {
  policy: string | null
  candidate: string | null
  refusedPolicy: string | null
  refusedCandidate: string | null
}

export class PolicySync {
  readonly #policies: CorsPolicies
  readonly #table: string
  readonly #fields: ReadonlySet<CorsPolicyField>
  readonly #log: FastifyBaseLogger
  readonly #states = new Map<string, NameState>()
  /** Row names that name no policy of the registration, warned about once each. */
  readonly #warned = new Set<string>()

  constructor (policies: CorsPolicies, table: string, fields: ReadonlySet<CorsPolicyField>, log: FastifyBaseLogger) {
    this.#policies = policies
    this.#table = table
    this.#fields = fields
    this.#log = log
    for (const name of policies.names()) this.#states.set(name, { policy: null, candidate: null, refusedPolicy: null, refusedCandidate: null })
  }

  /** Every row of the table: names without a row go back to what the code declared. */
  all (rows: readonly StoreRow[]): void {
    const seen = new Set<string>()
    for (const row of rows) {
      seen.add(row.name)
      this.#apply(row.name, row)
    }
    for (const name of this.#states.keys()) if (!seen.has(name)) this.#apply(name, null)
  }

  /** The rows of some names, read again after a notification: a name without a row was deleted. */
  some (names: Iterable<string>, rows: readonly StoreRow[]): void {
    const byName = new Map(rows.map((row) => [row.name, row]))
    for (const name of names) this.#apply(name, byName.get(name) ?? null)
  }

  #apply (name: string, row: StoreRow | null): void {
    const state = this.#states.get(name)
    if (state === undefined) {
      if (row === null || this.#warned.has(name)) return
      this.#warned.add(name)
      this.#log.warn({ corsPolicy: name }, `row ${JSON.stringify(name)} of ${this.#table} names no policy of this registration, and is ignored; ` +
        `the policies are ${this.#policies.names().map((n) => JSON.stringify(n)).join(', ')} (rows override policies declared in code, under the same name)`)
      return
    }
    this.#policy(name, state, row)
    this.#candidate(name, state, row === null ? null : row.candidate)
  }

  #policy (name: string, state: NameState, row: StoreRow | null): void {
    const declared = this.#policies.declared(name).policy
    if (row === null) {
      state.refusedPolicy = null
      if (state.policy === null || !this.#restore(name, 'policy', () => { this.#policies.replace(name, declared) })) return
      state.policy = null
      this.#log.info({ corsPolicy: name }, `CORS policy ${JSON.stringify(name)} is back to the one declared in code: its row of ${this.#table} is gone`)
      return
    }
    const key = JSON.stringify(row.policy)
    if (key === state.policy) {
      state.refusedPolicy = null
      return
    }
    if (key === state.refusedPolicy) return
    const problems: CorsPolicyProblem[] = []
    const policy = rowPolicy(row.policy, declared, this.#fields, rowLabel(this.#table, name, 'policy'), problems)
    if (policy === null) {
      state.refusedPolicy = key
      this.#refuse(name, problems, state.policy === null ? 'the policy declared in code stays in force' : 'the policy of its previous version stays in force')
      return
    }
    this.#policies.replace(name, policy)
    state.policy = key
    state.refusedPolicy = null
    this.#log.info({ corsPolicy: name }, `CORS policy ${JSON.stringify(name)} now follows its row of ${this.#table}`)
    this.#log.debug({ corsPolicy: name, origins: (row.policy as { origins?: unknown }).origins }, `CORS policy ${JSON.stringify(name)}: the origins of its row`)
  }

  #candidate (name: string, state: NameState, value: unknown): void {
    if (value === null) {
      state.refusedCandidate = null
      if (state.candidate === null) return
      const declared = this.#policies.declared(name).candidate
      if (declared === null) this.#policies.clearCandidate(name)
      else if (!this.#restore(name, 'report-only candidate', () => { this.#policies.tryCandidate(name, declared) })) return
      state.candidate = null
      this.#log.info({ corsPolicy: name }, `CORS policy ${JSON.stringify(name)}: the report-only candidate is back to the one declared in code (${declared === null ? 'none' : 'reportOnly'}), as its row has none`)
      return
    }
    const key = JSON.stringify(value)
    if (key === state.candidate) {
      state.refusedCandidate = null
      return
    }
    if (key === state.refusedCandidate) return
    const problems: CorsPolicyProblem[] = []
    const candidate = rowPolicy(value, this.#policies.declared(name).policy, this.#fields, rowLabel(this.#table, name, 'candidate'), problems)
    if (candidate === null) {
      state.refusedCandidate = key
      this.#refuse(name, problems, 'the candidate is not attached, the enforced policy is untouched')
      return
    }
    this.#policies.tryCandidate(name, candidate)
    state.candidate = key
    state.refusedCandidate = null
    this.#log.info({ corsPolicy: name }, `CORS policy ${JSON.stringify(name)}: report-only candidate attached from its row of ${this.#table}`)
    this.#log.debug({ corsPolicy: name, origins: (value as { origins?: unknown }).origins }, `CORS policy ${JSON.stringify(name)}: the origins of the candidate of its row`)
  }

  /**
   * Goes back to what the code declared. The objects passed to the plugin were valid at boot, but an
   * application may have changed them in place since: then the row's version stays, and it is logged.
   */
  #restore (name: string, what: string, restore: () => void): boolean {
    try {
      restore()
      return true
    } catch (err) {
      this.#log.error({ corsPolicy: name, problems: (err as CorsPolicyError).problems },
        `CORS policy ${JSON.stringify(name)}: its row of ${this.#table} is gone, but the ${what} declared in code, changed since the boot, is now invalid; the row's version stays in force:\n${(err as Error).message}`)
      return false
    }
  }

  #refuse (name: string, problems: CorsPolicyProblem[], outcome: string): void {
    this.#log.error({ corsPolicy: name, problems }, `refused an invalid row of ${this.#table} (${outcome}):\n${new CorsPolicyError(problems).message}`)
  }
}
