import type { Socket } from 'node:net'
import type { FastifyBaseLogger } from 'fastify'
import { CorsPolicyError } from 'fastify-cors-policy'
import type { Client as PgClient, ClientConfig } from 'pg'
import { redact, type PostgresSettings } from './options.ts'
import { quoteIdentifier, ROW_TRIGGER, TRUNCATE_TRIGGER } from './sql.ts'
import type { PolicySync, StoreRow } from './sync.ts'

// The connection to the store: LISTEN, then read every row, on every (re)connection; read a row again
// on each notification; a query now and then to find a connection that died without a word; a new
// client after any failure, after a jittered backoff of at most a second. Requests never wait on it:
// they use whatever policies were last applied.

/** The longest wait between two attempts to reconnect. */
const MAX_BACKOFF = 1000
const FIRST_BACKOFF = 100

export type ClientClass = new (config: ClientConfig) => PgClient

/** One connection and what rides on it; a failure ends it for good, and the next attempt makes another. */
interface Session {
  readonly client: PgClient
  alive: boolean
  /** Set once every row was read: notifications are then acted on as they come. */
  ready: boolean
  /** Why it ended. */
  failure: Error | null
  /** Names to read again, and whether to read every row. */
  readonly dirty: Set<string>
  full: boolean
  draining: boolean
  health: NodeJS.Timeout | null
  probing: boolean
}

/** The outage in progress: when it began, how many attempts failed, and the last reason. */
interface Outage { since: number, attempts: number, reason: string }

/** A failure to report: its message, redacted, and what to do about it. */
class StoreFailure extends Error {}

export class StoreListener {
  readonly #Client: ClientClass
  readonly #settings: PostgresSettings
  readonly #sync: PolicySync
  readonly #log: FastifyBaseLogger
  readonly #table: string
  /** The read of every row; a read of some adds a WHERE. */
  readonly #select: string
  #session: Session | null = null
  #retry: NodeJS.Timeout | null = null
  #closed = false
  #outage: Outage | null = null

  constructor (Client: ClientClass, settings: PostgresSettings, sync: PolicySync, log: FastifyBaseLogger) {
    this.#Client = Client
    this.#settings = settings
    this.#sync = sync
    this.#log = log
    this.#table = quoteIdentifier(settings.table)
    this.#select = `SELECT name, policy, candidate FROM ${this.#table}`
  }

  /**
   * The first connection. Rejects with a `CorsPolicyError` naming the reason when the store cannot be
   * read within `connectTimeout` and it is required; otherwise logs the reason and keeps trying.
   */
  async start (): Promise<void> {
    try {
      await this.#open()
    } catch (err) {
      const reason = this.#describe(err)
      if (this.#settings.required) {
        throw new CorsPolicyError([{
          where: 'fastify-cors-policy/postgres',
          path: '',
          message: `could not read the CORS policies of table ${this.#table}: ${reason}. ` +
            'Check connectionString, or register with required: false to start on the policies declared in code and keep trying',
        }])
      }
      this.#outage = { since: Date.now(), attempts: 1, reason }
      this.#log.error(`could not read the CORS policies of table ${this.#table}: ${reason}; serving the policies declared in code, and trying again`)
      this.#schedule()
    }
  }

  /** Ends the connection and every timer: nothing of the listener is left to keep the process alive. */
  async close (): Promise<void> {
    this.#closed = true
    if (this.#retry !== null) clearTimeout(this.#retry)
    this.#retry = null
    const session = this.#session
    this.#session = null
    if (session === null) return
    const serving = session.alive && session.ready
    this.#end(session, null)
    // A live connection says goodbye (pg sends Terminate); it has a moment to do so.
    if (serving) await Promise.race([session.client.end(), delay(500)])
    destroy(session.client)
  }

  async #open (): Promise<void> {
    let client: PgClient
    try {
      client = new this.#Client({
        connectionString: this.#settings.connectionString,
        ssl: this.#settings.ssl,
        // The kernel's keepalive probes find a peer that vanished (a host down, a cable cut) even while
        // nothing is sent; the health query finds the rest.
        keepAlive: true,
        keepAliveInitialDelayMillis: 5000,
        application_name: 'fastify-cors-policy',
      })
    } catch (err) {
      throw new StoreFailure(`pg refused the connection settings: ${this.#describe(err)}`)
    }
    const session: Session = { client, alive: true, ready: false, failure: null, dirty: new Set(), full: false, draining: false, health: null, probing: false }
    this.#session = session
    // Every event that can come, handled: an 'error' nobody listens to would crash the process.
    client.on('error', (err: Error) => { this.#lost(session, err) })
    client.on('end', () => { this.#lost(session, new StoreFailure('the server closed the connection')) })
    client.on('notification', (message) => { this.#notified(session, message.payload) })
    const deadline = setTimeout(() => {
      this.#lost(session, new StoreFailure(`no answer within ${this.#settings.connectTimeout} ms (connectTimeout)`))
    }, this.#settings.connectTimeout)
    try {
      await client.connect()
      // LISTEN first: whatever is committed after the rows are read is then notified.
      await this.#query(session, `LISTEN ${this.#table}`)
      await this.#checkTable(session)
      await this.#readAll(session)
    } catch (err) {
      const failure = session.failure ?? err
      this.#end(session, failure as Error)
      destroy(client)
      throw failure
    } finally {
      clearTimeout(deadline)
    }
    session.ready = true
    session.health = setInterval(() => { this.#probe(session) }, this.#settings.healthInterval)
    session.health.unref()
    // Notifications that came while the rows were read.
    this.#drain(session)
  }

  /** A missing table, missing triggers or a missing grant, each with its fix. */
  async #checkTable (session: Session): Promise<void> {
    const [state] = await this.#query(session, `SELECT c.oid IS NOT NULL AS exists,
      c.oid IS NOT NULL AND has_table_privilege(c.oid, 'SELECT') AS readable,
      (SELECT count(*) FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname IN ($2, $3))::int AS triggers
      FROM (SELECT to_regclass($1) AS oid) c`, [this.#table, ROW_TRIGGER, TRUNCATE_TRIGGER]) as unknown as Array<{ exists: boolean, readable: boolean, triggers: number }>
    const sql = this.#settings.table === 'cors_policies' ? 'CORS_POLICIES_SQL' : `corsPoliciesSql(${JSON.stringify(this.#settings.table)})`
    if (!state!.exists) {
      throw new StoreFailure(`the table ${this.#table} does not exist (or is not on the role's search_path); create it with the SQL of ${sql} ` +
        "(import { CORS_POLICIES_SQL, corsPoliciesSql } from 'fastify-cors-policy/postgres'), run by a role that may create tables")
    }
    if (!state!.readable) throw new StoreFailure(`the role may not read the table ${this.#table}; grant it: GRANT SELECT ON ${this.#table} TO <the app's role>`)
    if (state!.triggers < 2) {
      throw new StoreFailure(`the table ${this.#table} lacks the triggers that notify changes (${ROW_TRIGGER}, ${TRUNCATE_TRIGGER}), so changes would never arrive; ` +
        `run the SQL of ${sql} again (it is idempotent)`)
    }
  }

  /** A query that fails the session when it takes longer than `queryTimeout`. */
  async #query (session: Session, text: string, values?: unknown[]): Promise<StoreRow[]> {
    const timeout = setTimeout(() => {
      this.#lost(session, new StoreFailure(`a query got no answer within ${this.#settings.queryTimeout} ms (queryTimeout)`))
    }, this.#settings.queryTimeout)
    try {
      return (await session.client.query(text, values)).rows as StoreRow[]
    } finally {
      clearTimeout(timeout)
    }
  }

  #probe (session: Session): void {
    if (session.probing) return
    session.probing = true
    this.#query(session, 'SELECT 1').then(() => { session.probing = false }, (err: unknown) => { this.#lost(session, err) })
  }

  #notified (session: Session, payload: string | undefined): void {
    if (payload === undefined || payload === '') session.full = true
    else session.dirty.add(payload)
    if (session.ready) this.#drain(session)
  }

  /** Reads every row and makes the policies follow them. */
  async #readAll (session: Session): Promise<void> {
    this.#sync.all(await this.#query(session, this.#select))
  }

  /** Reads again what notifications named, until nothing is left: one read at a time, as many names as came. */
  async #drain (session: Session): Promise<void> {
    if (session.draining) return
    session.draining = true
    try {
      // A query on a session that ended rejects: the loop ends in the catch.
      while (session.full || session.dirty.size > 0) {
        if (session.full) {
          session.full = false
          session.dirty.clear()
          await this.#readAll(session)
        } else {
          const names = [...session.dirty]
          session.dirty.clear()
          const rows = await this.#query(session, `${this.#select} WHERE name = ANY($1::text[])`, [names])
          this.#sync.some(names, rows)
        }
      }
    } catch (err) {
      this.#lost(session, err)
    } finally {
      session.draining = false
    }
  }

  /** Ends a session and closes its socket; once it was serving, starts the reconnection. */
  #lost (session: Session, err: unknown): void {
    if (!session.alive) return
    const serving = session.ready
    this.#end(session, err as Error)
    destroy(session.client)
    // While connecting, the attempt's own catch reports the failure; close() ends sessions before this can run.
    if (!serving) return
    const reason = this.#describe(err)
    this.#outage = { since: Date.now(), attempts: 0, reason }
    this.#log.warn(`lost the connection to the CORS policy store (${reason}); serving the policies last read, and reconnecting`)
    this.#schedule()
  }

  #end (session: Session, failure: Error | null): void {
    session.alive = false
    session.failure ??= failure
    if (session.health !== null) clearInterval(session.health)
  }

  #schedule (): void {
    const outage = this.#outage as Outage
    // Full jitter over an exponential step, at most MAX_BACKOFF: a fleet does not come back in lockstep.
    const step = Math.min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** outage.attempts)
    this.#retry = setTimeout(() => { this.#reconnect() }, step / 2 + Math.random() * step / 2)
    this.#retry.unref()
  }

  async #reconnect (): Promise<void> {
    this.#retry = null
    const outage = this.#outage as Outage
    try {
      await this.#open()
    } catch (err) {
      if (this.#closed) return
      outage.attempts++
      outage.reason = this.#describe(err)
      // Rate-limited: a line at the 4th, 8th, 16th… failed attempt (about 1 s apart at most), then at
      // least every 1024th (about a quarter of an hour), not one per attempt.
      if (outage.attempts % 1024 === 0 || (outage.attempts >= 4 && (outage.attempts & (outage.attempts - 1)) === 0)) {
        this.#log.warn(`still no CORS policy store after ${seconds(Date.now() - outage.since)}, attempts: ${outage.attempts} (${outage.reason}); serving the policies last read`)
      }
      this.#schedule()
      return
    }
    this.#outage = null
    this.#log.info(`reconnected to the CORS policy store after ${seconds(Date.now() - outage.since)}, attempts: ${outage.attempts + 1}; every row read again`)
  }

  /** An error's code and message, without the connection string or its password. */
  #describe (err: unknown): string {
    const { code, message } = err as { code?: unknown, message: string }
    return redact(typeof code === 'string' ? `${code}: ${message}` : message, this.#settings.secrets)
  }
}

/** pg, loaded when the plugin is registered: the subpath's other exports work without it. */
export async function loadDriver (name = 'pg'): Promise<ClientClass> {
  try {
    return ((await import(name)) as { default: { Client: ClientClass } }).default.Client
  } catch {
    throw new CorsPolicyError([{ where: 'fastify-cors-policy/postgres', path: '', message: `needs the ${name} package, which is not installed: npm install ${name}` }])
  }
}

/**
 * Closes a client's socket at once: a dead or silent connection has nothing to say goodbye to, and a
 * server that never answers would keep a half-closed socket (and the process) alive. pg then reports
 * the end through the client's 'error' and 'end' events, which the listener handles.
 */
function destroy (client: PgClient): void {
  (client as unknown as { connection: { stream: Socket } }).connection.stream.destroy()
}

function delay (ms: number): Promise<void> {
  return new Promise((resolve) => { setTimeout(resolve, ms).unref() })
}

function seconds (ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`
}
