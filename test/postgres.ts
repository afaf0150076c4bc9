import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, appendFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import pg from 'pg'

// A throwaway PostgreSQL server for the tests and the benchmark: the real program, in a temporary
// folder, on a free loopback port, stopped and removed at the end. Never a system cluster.

/** The role the password tests connect as: it alone needs a password (scram-sha-256). */
export const SECRET_ROLE = 'cors_secret'
export const SECRET_PASSWORD = 's3cret-Pa55word'

/**
 * The folder of initdb and postgres: PG_BIN, then /usr/lib/postgresql/<version>/bin (the newest first),
 * then PATH. Null when none has both.
 */
export function findPostgres (): string | null {
  const has = (dir: string): boolean => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'))
  const fromEnv = process.env.PG_BIN
  if (fromEnv !== undefined && fromEnv !== '') return has(fromEnv) ? fromEnv : null
  const debian = '/usr/lib/postgresql'
  if (existsSync(debian)) {
    const versions = readdirSync(debian).filter((v) => /^\d+(\.\d+)?$/.test(v)).sort((a, b) => Number(b) - Number(a))
    for (const version of versions) if (has(join(debian, version, 'bin'))) return join(debian, version, 'bin')
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir !== '' && has(dir)) return dir
  return null
}

export interface PostgresServer {
  readonly port: number
  /** A connection string to the server's `postgres` database. */
  url: (user?: string, password?: string) => string
  /** Runs SQL on a connection of the test's own (opened on first use, again after a restart). */
  query: <Row = Record<string, unknown>>(text: string, values?: unknown[]) => Promise<Row[]>
  /** Fast shutdown (sessions are ended, as when a server is restarted), and waits for the exit. */
  stop: () => Promise<void>
  /** Starts the stopped server again on the same port, and waits until it accepts connections. */
  start: () => Promise<void>
  /** Stops the server and removes its folder. */
  close: () => Promise<void>
}

/**
 * initdb and start a server, or null when no PostgreSQL is installed. As root, the server runs as the
 * `postgres` user (PostgreSQL refuses root) in a folder that user owns.
 */
export async function startPostgres (): Promise<PostgresServer | null> {
  const bin = findPostgres()
  if (bin === null) return null
  const dir = mkdtempSync(join(tmpdir(), 'cors-policy-pg-'))
  const data = join(dir, 'data')
  let ids: { uid: number, gid: number } | Record<string, never> = {}
  if (process.getuid?.() === 0) {
    const id = (flag: string): number => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim())
    const uid = id('-u')
    const gid = id('-g')
    if (!Number.isInteger(uid) || uid <= 0) throw new Error('running as root, the tests need a "postgres" user to run PostgreSQL as (the Debian postgresql package creates it)')
    chownSync(dir, uid, gid)
    ids = { uid, gid }
  }
  const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'], { ...ids, encoding: 'utf8' })
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`)
  // Every role but one connects without a password; that one proves passwords stay out of errors and logs.
  writeFileSync(join(data, 'pg_hba.conf'), `host all ${SECRET_ROLE} 127.0.0.1/32 scram-sha-256\nhost all all 127.0.0.1/32 trust\nlocal all all trust\n`)
  appendFileSync(join(data, 'postgresql.conf'), [
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${dir}'`,
    'fsync = off', 'synchronous_commit = off', 'full_page_writes = off', 'max_connections = 60', "log_min_messages = 'fatal'",
  ].join('\n') + '\n')
  const port = await freePort()

  let child: ChildProcess | null = null
  let admin: pg.Client | null = null
  const kill = (): void => { child?.kill('SIGKILL') }
  process.once('exit', kill)

  const url = (user = 'postgres', password?: string): string =>
    `postgres://${encodeURIComponent(user)}${password === undefined ? '' : `:${encodeURIComponent(password)}`}@127.0.0.1:${port}/postgres`

  const start = async (): Promise<void> => {
    const server = spawn(join(bin, 'postgres'), ['-D', data, '-p', String(port)], { ...ids, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    server.stderr!.on('data', (chunk) => { stderr += chunk })
    child = server
    const end = Date.now() + 20_000
    for (;;) {
      if (server.exitCode !== null) throw new Error(`postgres exited: ${stderr}`)
      const probe = new pg.Client({ connectionString: url() })
      probe.on('error', () => {})
      try {
        await probe.connect()
        await probe.end()
        return
      } catch {
        await probe.end().catch(() => {})
        if (Date.now() > end) throw new Error(`postgres did not start in 20 s: ${stderr}`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
  }

  const stop = async (): Promise<void> => {
    const server = child
    child = null
    const client = admin
    admin = null
    await client?.end().catch(() => {})
    if (server === null || server.exitCode !== null) return
    const exited = new Promise((resolve) => server.once('exit', resolve))
    server.kill('SIGINT')
    await exited
  }

  const query = async <Row>(text: string, values?: unknown[]): Promise<Row[]> => {
    if (admin === null) {
      const client = new pg.Client({ connectionString: url() })
      client.on('error', () => { if (admin === client) admin = null })
      await client.connect()
      admin = client
    }
    return (await admin.query(text, values)).rows as Row[]
  }

  await start()
  await query(`CREATE ROLE ${SECRET_ROLE} LOGIN PASSWORD '${SECRET_PASSWORD}'`)
  return {
    port,
    url,
    query,
    stop,
    start,
    close: async () => {
      await stop()
      process.removeListener('exit', kill)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Polls until `condition` holds; false when `ms` passed first. Generous deadlines, never a timing assertion. */
export async function until (condition: () => boolean | Promise<boolean>, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms
  while (!(await condition())) {
    if (Date.now() > end) return false
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return true
}
