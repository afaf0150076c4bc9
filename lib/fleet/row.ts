import { isDeepStrictEqual } from 'node:util'
import { type CorsPolicy, type CorsPolicyJson, type CorsPolicyProblem } from 'fastify-cors-policy'
import { describe } from '../policy/errors.ts'
import { POLICY_FIELDS, checkPolicy } from '../policy/policy.ts'
import { DEFAULT_TABLE } from './sql.ts'

// What a row may change, and the check of a row: the listener and the writers' check share it.

/** A field of a policy, as a row writes it. */
export type CorsPolicyField = keyof CorsPolicyJson

/** The fields a row may change when the `fields` option is left out. */
const DEFAULT_FIELDS: readonly CorsPolicyField[] = Object.freeze(['origins'])

/** A row of the store, as a writer is about to write it. */
export interface CorsPolicyRow {
  name: string
  /** The row's `policy` column. */
  policy: unknown
  /** The row's `candidate` column: null (or left out) for none. */
  candidate?: unknown
}

export interface CheckCorsPolicyRowOptions {
  /**
   * The policy the application declares in code under the row's name (`app.corsPolicies.declared(name).policy`):
   * the row is then checked as the plugin will read it, fields it may not change included. Without it,
   * each of the row's policies is checked as a whole policy.
   */
  declared?: CorsPolicy | null
  /** The plugin's `fields` option: the fields a row may change (default `['origins']`). */
  fields?: readonly CorsPolicyField[]
  /** The plugin's `table` option, for the messages (default `cors_policies`). */
  table?: string
}

/** How messages name a row's policy or candidate: `row "tenants" of cors_policies, policy`. */
export function rowLabel (table: string, name: string, column: 'policy' | 'candidate'): string {
  return `row ${JSON.stringify(name)} of ${table}, ${column}`
}

/** Why a `fields` option is wrong (added to `problems`), or the fields as a set. */
export function readFields (value: unknown, where: string, problems: CorsPolicyProblem[]): ReadonlySet<CorsPolicyField> {
  if (value === undefined) return new Set(DEFAULT_FIELDS)
  if (!Array.isArray(value)) {
    problems.push({ where, path: '/fields', message: 'is not a list; fields lists the policy fields a row may change, e.g. [\'origins\', \'exposeHeaders\', \'maxAge\'] (default [\'origins\'])' })
    return new Set(DEFAULT_FIELDS)
  }
  const fields = new Set<CorsPolicyField>()
  value.forEach((field: unknown, index) => {
    if (typeof field === 'string' && POLICY_FIELDS.includes(field)) fields.add(field as CorsPolicyField)
    else problems.push({ where, path: `/fields/${index}`, message: `is ${describe(field)}, not a policy field; the fields are ${POLICY_FIELDS.join(', ')}` })
  })
  return fields
}

/**
 * A row's policy (or candidate) as the plugin would apply it, or null with its problems added: the
 * fields it may not change must equal the declared policy's, those it leaves out are taken from the
 * declared policy, and the result is checked as `replace()` checks a policy.
 */
export function rowPolicy (
  value: unknown, declared: CorsPolicy | null, fields: ReadonlySet<CorsPolicyField>, where: string, problems: CorsPolicyProblem[]
): CorsPolicy | null {
  const before = problems.length
  let policy = value
  if (declared !== null && typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const row = value as Record<string, unknown>
    const code = declared as unknown as Record<string, unknown>
    const allowed = [...fields].join(', ')
    for (const key of Object.keys(row)) {
      if (fields.has(key as CorsPolicyField) || !POLICY_FIELDS.includes(key) || sameValue(row[key], code[key])) continue
      const inCode = Object.hasOwn(code, key) ? `has ${show(code[key])}` : 'leaves it out'
      problems.push({
        where,
        path: `/${key}`,
        message: `is ${show(row[key])}, and a row may change only ${allowed === '' ? 'nothing' : allowed} (the option fields); ` +
          `the policy declared in code ${inCode}: leave it out of the row, or add ${JSON.stringify(key)} to fields`,
      })
    }
    const merged: Record<string, unknown> = { ...code, ...row }
    // A timeout belongs to an origins function: once the row lists the origins, the code's has no use.
    if (Object.hasOwn(row, 'origins') && !Object.hasOwn(row, 'originTimeout')) delete merged.originTimeout
    policy = merged
  }
  const checked = checkPolicy(policy, where, problems)
  return checked === null || problems.length > before ? null : policy as CorsPolicy
}

/**
 * Every problem of a row, as the plugin would find them, without throwing: run it before writing a row.
 * An empty list means the plugin will apply the row.
 */
export function checkCorsPolicyRow (row: CorsPolicyRow, options: CheckCorsPolicyRowOptions = {}): CorsPolicyProblem[] {
  const problems: CorsPolicyProblem[] = []
  const fields = readFields(options.fields, 'checkCorsPolicyRow options', problems)
  const table = options.table ?? DEFAULT_TABLE
  const declared = options.declared ?? null
  rowPolicy(row.policy, declared, fields, rowLabel(table, row.name, 'policy'), problems)
  if (row.candidate !== undefined && row.candidate !== null) {
    rowPolicy(row.candidate, declared, fields, rowLabel(table, row.name, 'candidate'), problems)
  }
  return problems
}

/** Equal as policy fields: lists in any order. */
function sameValue (a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && isDeepStrictEqual(a.map(show).sort(), b.map(show).sort())
  }
  return isDeepStrictEqual(a, b)
}

function show (value: unknown): string {
  if (typeof value === 'function') return 'a function'
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`
  return value instanceof RegExp ? String(value) : JSON.stringify(value)
}
