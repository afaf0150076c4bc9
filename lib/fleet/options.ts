import type { ConnectionOptions } from 'node:tls'
import { CorsPolicyError, type CorsPolicyProblem } from 'fastify-cors-policy'
import { describe } from '../policy/errors.ts'
import { readFields, type CorsPolicyField } from './row.ts'
import { DEFAULT_TABLE, tableProblem } from './sql.ts'

export interface CorsPostgresOptions {
  /**
   * `postgres://user:password@host:5432/database`: a direct session connection (LISTEN does not work
   * through a transaction-mode pooler). Left out, the PG* environment variables apply, as in `pg`.
   */
  connectionString?: string
  /** TLS, as `pg` takes it: true, or Node's TLS options (a CA, a client certificate). */
  ssl?: boolean | ConnectionOptions
  /** The table of policies (default `cors_policies`), found through the role's `search_path`. */
  table?: string
  /** The policy fields a row may change (default `['origins']`); the others must equal the policy declared in code. */
  fields?: readonly CorsPolicyField[]
  /**
   * When true (the default) the boot fails if the store cannot be read within `connectTimeout`; when
   * false the app starts on the policies declared in code and keeps trying.
   */
  required?: boolean
  /** Milliseconds to connect, LISTEN and read every row (default 5000, and below Fastify's pluginTimeout). */
  connectTimeout?: number
  /** Milliseconds between two queries that check the connection is alive (default 5000). */
  healthInterval?: number
  /** Milliseconds a query may take before the connection is taken for dead and replaced (default 2000). */
  queryTimeout?: number
}

/** The options, checked, with their defaults. */
export interface PostgresSettings {
  readonly connectionString: string | undefined
  readonly ssl: boolean | ConnectionOptions | undefined
  readonly table: string
  readonly fields: ReadonlySet<CorsPolicyField>
  readonly required: boolean
  readonly connectTimeout: number
  readonly healthInterval: number
  readonly queryTimeout: number
  /** What no error or log line may show: the connection string and its password. */
  readonly secrets: readonly string[]
}

const WHERE = 'fastify-cors-policy/postgres options'
const KEYS = ['connectionString', 'ssl', 'table', 'fields', 'required', 'connectTimeout', 'healthInterval', 'queryTimeout']
const DEFAULT_CONNECT_TIMEOUT = 5000

/** Checks the options; every problem is reported in one `CorsPolicyError`, which never repeats the connection string. */
export function readPostgresOptions (options: unknown, pluginTimeout: number): PostgresSettings {
  const problems: CorsPolicyProblem[] = []
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new CorsPolicyError([{ where: WHERE, path: '', message: 'are not an object; pass { connectionString: process.env.DATABASE_URL }' }])
  }
  const record = options as Record<string, unknown>
  for (const key of Object.keys(record)) {
    if (!KEYS.includes(key)) problems.push({ where: WHERE, path: `/${key}`, message: `is not an option; the options are ${KEYS.join(', ')}` })
  }
  const { connectionString, secrets } = readConnectionString(record.connectionString, problems)
  const table = record.table ?? DEFAULT_TABLE
  const problem = tableProblem(table)
  if (problem !== null) problems.push({ where: WHERE, path: '/table', message: problem })
  const fields = readFields(record.fields, WHERE, problems)
  const required = record.required ?? true
  if (typeof required !== 'boolean') problems.push({ where: WHERE, path: '/required', message: 'is not a boolean; required is true (fail the boot when the store cannot be read) or false (start on the policies declared in code)' })
  const ssl = record.ssl
  if (ssl !== undefined && typeof ssl !== 'boolean' && (typeof ssl !== 'object' || ssl === null || Array.isArray(ssl))) {
    problems.push({ where: WHERE, path: '/ssl', message: "is neither a boolean nor an object; ssl is true, or Node's TLS options such as { ca }" })
  }
  // Fastify fails a plugin still loading after pluginTimeout with an error that names no cause.
  const bound = pluginTimeout > 0 ? pluginTimeout - 1 : 60_000
  const connectTimeout = readMs(record, 'connectTimeout', Math.min(DEFAULT_CONNECT_TIMEOUT, Math.floor(pluginTimeout / 2) || DEFAULT_CONNECT_TIMEOUT), 100, bound, problems,
    pluginTimeout > 0 ? ` (below Fastify's pluginTimeout, ${pluginTimeout} ms, so that the boot fails with this plugin's reason)` : '')
  const healthInterval = readMs(record, 'healthInterval', 5000, 100, 3_600_000, problems, '')
  const queryTimeout = readMs(record, 'queryTimeout', 2000, 100, 60_000, problems, '')
  if (problems.length > 0) throw new CorsPolicyError(problems)
  return {
    connectionString,
    ssl: ssl as PostgresSettings['ssl'],
    table: table as string,
    fields,
    required: required as boolean,
    connectTimeout,
    healthInterval,
    queryTimeout,
    secrets,
  }
}

function readMs (record: Record<string, unknown>, key: string, fallback: number, min: number, max: number, problems: CorsPolicyProblem[], why: string): number {
  const value = record[key]
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    problems.push({ where: WHERE, path: `/${key}`, message: `is ${describe(value)}; ${key} is a whole number of milliseconds from ${min} to ${max}${why}` })
    return fallback
  }
  return value
}

function readConnectionString (value: unknown, problems: CorsPolicyProblem[]): { connectionString: string | undefined, secrets: string[] } {
  if (value === undefined) return { connectionString: undefined, secrets: [] }
  // The value itself is never quoted: it may hold a password.
  if (typeof value !== 'string' || value === '') {
    problems.push({ where: WHERE, path: '/connectionString', message: 'is not a non-empty string; pass a URL such as postgres://user:password@host:5432/database, or leave it out to use the PG* environment variables' })
    return { connectionString: undefined, secrets: [] }
  }
  const secrets = [value]
  // A Unix socket directory, as pg takes it: /var/run/postgresql database
  if (value.startsWith('/')) return { connectionString: value, secrets }
  let url: URL
  try {
    url = new URL(value)
  } catch {
    problems.push({ where: WHERE, path: '/connectionString', message: 'is not a valid URL (it is not shown here, as it may hold a password); write it as postgres://user:password@host:5432/database, with reserved characters of the password percent-encoded' })
    return { connectionString: undefined, secrets }
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:' && url.protocol !== 'socket:') {
    problems.push({ where: WHERE, path: '/connectionString', message: `has the scheme ${JSON.stringify(url.protocol)}; write it as postgres://user:password@host:5432/database` })
  }
  for (const secret of [url.password, url.searchParams.get('password') ?? '']) {
    if (secret === '') continue
    secrets.push(secret)
    try {
      secrets.push(decodeURIComponent(secret))
    } catch {
      // Not percent-encoded as it should be: pg will refuse it, and the raw form is already hidden.
    }
  }
  return { connectionString: value, secrets }
}

/** `text` with every secret replaced: for messages that come from pg or the network. */
export function redact (text: string, secrets: readonly string[]): string {
  let out = text
  // The longest first: a password is part of the connection string.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) out = out.replaceAll(secret, '[redacted]')
  return out
}
