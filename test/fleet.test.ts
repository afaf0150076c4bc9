import t, { type Test } from 'tap'
import { createServer, type Socket } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import cors, { CorsPolicyError, type CorsPluginOptions, type CorsPolicy } from '../lib/index.ts'
import corsPostgres, { corsPoliciesSql, type CorsPostgresOptions } from '../lib/postgres.ts'
import { logCapture } from './helpers.ts'
import { SECRET_PASSWORD, SECRET_ROLE, startPostgres, until } from './postgres.ts'

// fastify-cors-policy/postgres against a real PostgreSQL server, started here in a temporary folder
// (test/postgres.ts): one app per test, in this process, each on a table of its own. Three instances
// as separate processes, and the server stopped under load, are in test/fleet-processes.test.ts.

const CODE = 'https://code.example.com'
const A = 'https://a.example.com'
const B = 'https://b.example.com'
const C = 'https://c.example.com'

const server = await startPostgres()
if (server === null) {
  if (process.env.CORS_POSTGRES_REQUIRED === '1') t.fail('no PostgreSQL found (PG_BIN, /usr/lib/postgresql/*/bin, PATH); CI installs the postgresql package')
  else t.plan(0, 'no PostgreSQL found (PG_BIN, /usr/lib/postgresql/*/bin, PATH)')
} else {
  t.teardown(() => server.close())
  tests(server)
}

type Server = NonNullable<typeof server>
type Lines = Array<Record<string, any>>

function tests (pg: Server): void {
  let count = 0
  /** A fresh table with the SQL applied, and a name for the connection to find its backend by. */
  const fresh = async (): Promise<{ table: string, application: string }> => {
    const table = `cors_${++count}`
    await pg.query(corsPoliciesSql(table))
    return { table, application: `listener_${count}` }
  }
  const sql = (text: string, values?: unknown[]): Promise<unknown> => pg.query(text, values)

  /** An app with the CORS plugin (policies tenants and partners by default) and the store's plugin on `table`. */
  const instance = async (t: Test, options: CorsPostgresOptions, cors: CorsPluginOptions = {}): Promise<{ app: FastifyInstance, lines: Lines }> => {
    const { logger, lines } = logCapture('debug')
    const app = Fastify({ logger })
    t.teardown(() => app.close())
    await app.register(corsPlugin, {
      policies: { tenants: { origins: [CODE], credentials: true }, partners: { origins: [CODE], allowHeaders: ['x-key'] } },
      default: 'tenants',
      ...cors,
    })
    await app.register(corsPostgres, options)
    app.get('/', async () => 'ok')
    app.get('/partners', { config: { cors: 'partners' } }, async () => 'ok')
    await app.ready()
    return { app, lines }
  }
  const corsPlugin = cors
  /** Whether `origin` may read `url` (the default policy, tenants, unless another url is given). */
  const allows = async (app: FastifyInstance, origin: string, url = '/'): Promise<boolean> =>
    (await app.inject({ url, headers: { origin } })).headers['access-control-allow-origin'] === origin
  /** The store's log lines: [level, message]. */
  const said = (lines: Lines, level?: number): Array<[number, string]> =>
    lines.filter((line) => line.corsStore !== undefined && (level === undefined || line.level === level)).map((line) => [line.level, line.msg])
  const terminate = (application: string): Promise<unknown> =>
    sql('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [application])
  const connect = (application: string, user?: string, password?: string): string => `${pg.url(user, password)}?application_name=${application}`

  t.test('the SQL can be run again: idempotent, and the plugin needs only SELECT on the table', async (t) => {
    const { table, application } = await fresh()
    await sql(corsPoliciesSql(table))
    await sql(`INSERT INTO ${table} VALUES ('tenants', $1, NULL)`, [{ origins: [A] }])
    await sql(corsPoliciesSql(table))
    await sql('CREATE ROLE cors_reader LOGIN')
    const options = { connectionString: connect(application, 'cors_reader'), table }
    const refused = Fastify()
    await refused.register(cors, { policies: { tenants: { origins: [CODE] } } })
    await t.rejects(async () => { await refused.register(corsPostgres, options) }, {
      message: `fastify-cors-policy/postgres: could not read the CORS policies of table "${table}": the role may not read the table "${table}"; grant it: GRANT SELECT ON "${table}" TO <the app's role>. ` +
        'Check connectionString, or register with required: false to start on the policies declared in code and keep trying',
    })
    await refused.close()
    await sql(`GRANT SELECT ON ${table} TO cors_reader`)
    const { app, lines } = await instance(t, options)
    t.ok(await allows(app, A), 'a role with SELECT alone reads the row')
    await sql(`UPDATE ${table} SET policy = $1`, [{ origins: [B] }])
    t.ok(await until(() => allows(app, B)), 'and is notified of changes')
    // The grant revoked while running: reading the row again fails, the connection is replaced, and
    // the attempts fail until it is granted again.
    await sql(`REVOKE SELECT ON ${table} FROM cors_reader`)
    await sql(`UPDATE ${table} SET policy = $1`, [{ origins: [C] }])
    t.ok(await until(() => said(lines, 40).length > 0))
    t.match(said(lines, 40)[0], [40, /^lost the connection to the CORS policy store \(42501: permission denied for table cors_\d+\)/])
    t.ok(await allows(app, B), 'meanwhile the last policy read serves')
    await sql(`GRANT SELECT ON ${table} TO cors_reader`)
    t.ok(await until(() => allows(app, C)), 'caught up once granted again')
  })

  t.test('at boot: a row replaces its named policy, its candidate is attached, a row naming no policy is warned about once', async (t) => {
    const { table, application } = await fresh()
    await sql(`INSERT INTO ${table} VALUES ('tenants', $1, $2), ('ghost', $3, NULL)`, [{ origins: [A] }, { origins: [B] }, { origins: '*' }])
    const { app, lines } = await instance(t, { connectionString: connect(application), table }, { reportOnly: { partners: { origins: [C] } } })
    t.ok(await allows(app, A), 'the row\'s origins')
    t.notOk(await allows(app, CODE), 'instead of the code\'s')
    t.ok(await allows(app, CODE, '/partners'), 'a policy without a row keeps the code\'s')
    t.strictSame(app.corsPolicies.candidates(), ['tenants', 'partners'], 'the row\'s candidate, and the code\'s for partners')
    const preflight = await app.inject({ method: 'OPTIONS', url: '/', headers: { origin: A, 'access-control-request-method': 'GET' } })
    t.equal(preflight.headers['access-control-allow-credentials'], 'true', 'fields the row leaves out come from the code')
    t.strictSame(said(lines), [
      [30, `CORS policy "tenants" now follows its row of ${table}`],
      [20, 'CORS policy "tenants": the origins of its row'],
      [30, `CORS policy "tenants": report-only candidate attached from its row of ${table}`],
      [20, 'CORS policy "tenants": the origins of the candidate of its row'],
      [40, `row "ghost" of ${table} names no policy of this registration, and is ignored; the policies are "tenants", "partners" (rows override policies declared in code, under the same name)`],
    ])
    t.strictSame(lines.filter((line) => line.level === 20 && line.corsStore !== undefined).map((line) => line.origins), [[A], [B]], 'the origins at debug only')
    t.notOk(lines.some((line) => line.corsStore !== undefined && line.level > 20 && JSON.stringify(line).includes(A)), 'and in no line of the store above debug')
  })

  t.test('while running: insert, update, delete, truncate and candidates, each applied once and logged', async (t) => {
    const { table, application } = await fresh()
    await sql(`INSERT INTO ${table} VALUES ('ghost', $1, NULL)`, [{ origins: '*' }])
    const { app, lines } = await instance(t, { connectionString: connect(application), table }, { reportOnly: { partners: { origins: [C] } } })
    const quiet = said(lines).length

    // One transaction: both notifications arrive together, and both rows are read.
    await sql(`BEGIN; INSERT INTO ${table} VALUES ('tenants', '{"origins":["${A}"]}', NULL); INSERT INTO ${table} VALUES ('partners', '{"origins":["${A}"]}', '{"origins":["${B}"]}'); COMMIT`)
    t.ok(await until(async () => await allows(app, A) && await allows(app, A, '/partners')), 'insert: both rows applied')
    await sql(`UPDATE ${table} SET policy = $1 WHERE name = 'tenants'`, [{ origins: [B] }])
    t.ok(await until(async () => await allows(app, B) && !await allows(app, A)), 'update: the new origins, and only them')
    await sql(`UPDATE ${table} SET policy = $1 WHERE name = 'ghost'`, [{ origins: [A] }])
    await sql(`DELETE FROM ${table} WHERE name = 'ghost'`)
    await sql(`UPDATE ${table} SET candidate = $1 WHERE name = 'tenants'`, [{ origins: [C] }])
    t.ok(await until(() => app.corsPolicies.candidates().includes('tenants')), 'a candidate attached')

    // The partners candidate is B from its row: a request from B disagrees with the enforced policy.
    const disagreements = (origin: string): number => lines.filter((line) => line.cors?.reportOnly === true && line.cors.origin === origin).length
    await app.inject({ url: '/partners', headers: { origin: B } })
    t.equal(disagreements(B), 1, 'the row\'s candidate judges requests')
    await sql(`UPDATE ${table} SET candidate = NULL WHERE name = 'partners'`)
    t.ok(await until(async () => {
      await app.inject({ url: '/partners', headers: { origin: C } })
      return disagreements(C) > 0
    }), 'a null candidate: the code\'s candidate (reportOnly) again')

    await sql(`DELETE FROM ${table} WHERE name = 'tenants'`)
    t.ok(await until(async () => await allows(app, CODE) && !app.corsPolicies.candidates().includes('tenants')), 'delete: back to the code\'s policy, and no candidate (the code declared none)')
    await sql(`INSERT INTO ${table} VALUES ('tenants', $1, $2)`, [{ origins: [B] }, { origins: [C] }])
    t.ok(await until(() => allows(app, B)))
    await sql(`TRUNCATE ${table}`)
    t.ok(await until(async () => await allows(app, CODE) && await allows(app, CODE, '/partners') && !app.corsPolicies.candidates().includes('tenants')), 'truncate: every policy back to the code\'s')
    t.strictSame(app.corsPolicies.candidates(), ['partners'], 'and the code\'s candidate of partners stays')

    t.strictSame(said(lines).slice(quiet).filter(([level]) => level === 30).map(([, msg]) => msg), [
      `CORS policy "tenants" now follows its row of ${table}`,
      `CORS policy "partners" now follows its row of ${table}`,
      `CORS policy "partners": report-only candidate attached from its row of ${table}`,
      `CORS policy "tenants" now follows its row of ${table}`,
      `CORS policy "tenants": report-only candidate attached from its row of ${table}`,
      'CORS policy "partners": the report-only candidate is back to the one declared in code (reportOnly), as its row has none',
      `CORS policy "tenants" is back to the one declared in code: its row of ${table} is gone`,
      'CORS policy "tenants": the report-only candidate is back to the one declared in code (none), as its row has none',
      `CORS policy "tenants" now follows its row of ${table}`,
      `CORS policy "tenants": report-only candidate attached from its row of ${table}`,
      `CORS policy "tenants" is back to the one declared in code: its row of ${table} is gone`,
      'CORS policy "tenants": the report-only candidate is back to the one declared in code (none), as its row has none',
      `CORS policy "partners" is back to the one declared in code: its row of ${table} is gone`,
    ], 'one info line per change')
    t.equal(said(lines, 40).length, 1, 'the row naming no policy was warned about once, changed or not')
  })

  t.test('invalid rows, at boot and later: refused with every problem, logged once per change, the policy in force stays', async (t) => {
    const { table, application } = await fresh()
    const rows: Array<[string, unknown, unknown]> = [
      ['tenants', { origins: '*' }, null], // '*' with the code's credentials
      ['partners', ['https://x.example'], null], // not an object
      ['fixed', { origins: [A], maxAge: 60 }, null], // a field a row may not change
      ['typo', { origins: ['https://*.com', `${A}/`], origin: A }, null], // a public suffix, a path, an unknown field
      ['nulled', null, null], // JSON null
      ['candid', { origins: [A] }, { origins: '*', credentials: true }], // a valid policy, an invalid candidate
      ['kept', { origins: [A] }, { origins: [B] }], // valid, read again unchanged after a reconnection
    ]
    for (const [name, policy, candidate] of rows) {
      await sql(`INSERT INTO ${table} VALUES ($1, $2::jsonb, $3::jsonb)`, [name, JSON.stringify(policy), candidate === null ? null : JSON.stringify(candidate)])
    }
    const code = { origins: [CODE] }
    const { app, lines } = await instance(t, { connectionString: connect(application), table }, {
      policies: { tenants: { origins: [CODE], credentials: true }, partners: code, fixed: code, typo: code, nulled: code, candid: code, kept: code },
      reportOnly: { candid: { origins: [C] } },
    })
    t.ok(await allows(app, CODE), 'the app serves, on the code\'s policy')
    const refusals = (): Array<[string, string[]]> => lines.filter((line) => line.level === 50 && line.corsStore !== undefined)
      .map((line) => [line.corsPolicy, line.problems.map((p: { where: string, path: string }) => `${p.where} ${p.path}`)])
    t.strictSame(refusals(), [
      ['tenants', [`row "tenants" of ${table}, policy /credentials`]],
      ['partners', [`row "partners" of ${table}, policy `]],
      ['fixed', [`row "fixed" of ${table}, policy /maxAge`]],
      ['typo', [`row "typo" of ${table}, policy /origin`, `row "typo" of ${table}, policy /origins/0`, `row "typo" of ${table}, policy /origins/1`]],
      ['nulled', [`row "nulled" of ${table}, policy `]],
      ['candid', [`row "candid" of ${table}, candidate /credentials`, `row "candid" of ${table}, candidate /credentials`]],
    ], 'each row named, with every problem')
    const first = lines.find((line) => line.level === 50 && line.corsPolicy === 'typo')!
    t.match(first.msg, new RegExp(`^refused an invalid row of ${table} \\(the policy declared in code stays in force\\):\\nrow "typo" of ${table}, policy: /origin is not a policy field`))
    t.match(lines.find((line) => line.level === 50 && line.corsPolicy === 'candid')!.msg, /\(the candidate is not attached, the enforced policy is untouched\)/)
    t.ok(app.corsPolicies.candidates().includes('candid'), 'the code\'s candidate stays when the row\'s is refused')
    t.strictSame(await Promise.all([A, CODE].map((origin) => allows(app, origin, '/'))), [false, true])

    // Later: a valid version, then an invalid one over it.
    await sql(`UPDATE ${table} SET policy = $1 WHERE name = 'tenants'`, [{ origins: [A] }])
    t.ok(await until(() => allows(app, A)), 'a valid version is applied')
    await sql(`UPDATE ${table} SET policy = $1 WHERE name = 'tenants'`, [{ origins: [`${B}/`] }])
    t.ok(await until(() => refusals().length === 7), 'the invalid version is refused')
    t.match(lines.at(-1)!.msg, /\(the policy of its previous version stays in force\)/)
    t.ok(await allows(app, A), 'the previous version stays in force')
    await sql(`UPDATE ${table} SET candidate = $1 WHERE name = 'candid'`, [{ origins: ['https://*.co.uk'] }])
    t.ok(await until(() => refusals().length === 8), 'an invalid candidate later is refused too')

    // Reading every row again (a new connection) logs nothing new: nothing changed.
    await terminate(application)
    t.ok(await until(() => said(lines, 30).some(([, msg]) => msg.startsWith('reconnected'))))
    t.equal(refusals().length, 8, 'no refusal is logged twice for the same row')
    // The same invalid version after a valid one is a change again.
    await sql(`UPDATE ${table} SET policy = $1 WHERE name = 'tenants'`, [{ origins: [C] }])
    t.ok(await until(() => allows(app, C)))
    await sql(`UPDATE ${table} SET policy = $1 WHERE name = 'tenants'`, [{ origins: [`${B}/`] }])
    t.ok(await until(() => refusals().length === 9), 'refused and logged again')
    t.ok(await allows(app, C))
  })

  t.test('a row deleted after the code changed its declared policy in place to an invalid one: the row\'s version stays, and it is logged', async (t) => {
    const { table, application } = await fresh()
    const tenants = { origins: [CODE] as unknown }
    const candidate = { origins: [C] as unknown }
    await sql(`INSERT INTO ${table} VALUES ('tenants', $1, $2)`, [{ origins: [A] }, { origins: [B] }])
    const { app, lines } = await instance(t, { connectionString: connect(application), table }, {
      policies: { tenants: tenants as CorsPolicy, partners: { origins: [CODE] } },
      reportOnly: { tenants: candidate as CorsPolicy },
    })
    tenants.origins = 'https://code.example.com'
    candidate.origins = ['https://*.com']
    await sql(`DELETE FROM ${table} WHERE name = 'tenants'`)
    t.ok(await until(() => said(lines, 50).length === 2))
    t.match(said(lines, 50), [
      [50, /^CORS policy "tenants": its row of cors_\d+ is gone, but the policy declared in code, changed since the boot, is now invalid; the row's version stays in force:\npolicy "tenants": \/origins is the string/],
      [50, /^CORS policy "tenants": its row of cors_\d+ is gone, but the report-only candidate declared in code, changed since the boot, is now invalid; the row's version stays in force:\nreport-only candidate for policy "tenants": \/origins\/0 "https:\/\/\*\.com" covers the public suffix/],
    ])
    t.ok(await allows(app, A), 'the row\'s policy serves')
    t.strictSame(app.corsPolicies.candidates(), ['tenants'], 'and its candidate stays')
  })

  t.test('fields lets a row change more than origins', async (t) => {
    const { table, application } = await fresh()
    await sql(`INSERT INTO ${table} VALUES ('tenants', $1, NULL)`, [{ origins: [A], maxAge: 60 }])
    const { app } = await instance(t, { connectionString: connect(application), table, fields: ['origins', 'maxAge'] })
    const preflight = await app.inject({ method: 'OPTIONS', url: '/', headers: { origin: A, 'access-control-request-method': 'GET' } })
    t.equal(preflight.headers['access-control-max-age'], '60')
  })

  t.test('a missing table or missing triggers fail the boot, naming the SQL to run', async (t) => {
    const boot = async (table?: string): Promise<string> => {
      const app = Fastify()
      await app.register(cors, { policies: { tenants: { origins: [CODE] } } })
      try {
        await app.register(corsPostgres, { connectionString: pg.url(), ...(table === undefined ? {} : { table }) })
      } catch (err) {
        t.type(err, CorsPolicyError)
        return (err as Error).message
      } finally {
        await app.close()
      }
      return 'booted'
    }
    t.match(await boot(), /the table "cors_policies" does not exist \(or is not on the role's search_path\); create it with the SQL of CORS_POLICIES_SQL \(import \{ CORS_POLICIES_SQL, corsPoliciesSql \} from 'fastify-cors-policy\/postgres'\)/)
    t.match(await boot('Missing'), /the table "Missing" does not exist .* with the SQL of corsPoliciesSql\("Missing"\)/)
    await sql('CREATE TABLE bare (name text PRIMARY KEY, policy jsonb NOT NULL, candidate jsonb)')
    t.match(await boot('bare'), /the table "bare" lacks the triggers that notify changes \(cors_policy_notify_row, cors_policy_notify_truncate\), so changes would never arrive; run the SQL of corsPoliciesSql\("bare"\) again \(it is idempotent\)/)
  })

  t.test('the listener\'s connection terminated, and a change right after: caught up on the new connection', async (t) => {
    const { table, application } = await fresh()
    const { app, lines } = await instance(t, { connectionString: connect(application), table })
    await terminate(application)
    await sql(`INSERT INTO ${table} VALUES ('tenants', $1, NULL)`, [{ origins: [A] }])
    t.ok(await until(() => allows(app, A)), 'the change is applied')
    t.ok(await until(() => said(lines, 30).some(([, msg]) => msg.startsWith('reconnected'))))
    t.match(said(lines, 40), [[40, 'lost the connection to the CORS policy store (57P01: terminating connection due to administrator command); serving the policies last read, and reconnecting']])
  })

  t.test('a connection that goes silent (its server process stopped) is found by the health query and replaced', async (t) => {
    const { table, application } = await fresh()
    const { app, lines } = await instance(t, { connectionString: connect(application), table, healthInterval: 150, queryTimeout: 400 })
    const [{ pid }] = await pg.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [application]) as [{ pid: number }]
    process.kill(pid, 'SIGSTOP')
    t.teardown(async () => {
      process.kill(pid, 'SIGCONT')
      await sql('SELECT pg_terminate_backend($1)', [pid])
    })
    await sql(`INSERT INTO ${table} VALUES ('tenants', $1, NULL)`, [{ origins: [A] }])
    t.ok(await until(() => allows(app, A)), 'caught up on a new connection')
    t.match(said(lines, 40), [[40, /^lost the connection to the CORS policy store \(a query got no answer within 400 ms \(queryTimeout\)\)/]])
  })

  t.test('required: false starts on the code\'s policies while the store is unusable, logs sparingly, and catches up', async (t) => {
    const { application } = await fresh()
    const table = 'appears_later'
    const { app, lines } = await instance(t, { connectionString: connect(application), table, required: false })
    t.ok(await allows(app, CODE), 'serving the code\'s policy')
    t.ok(await until(() => said(lines, 40).length > 0), 'tries again, and says so after a few attempts')
    await sql(corsPoliciesSql(table))
    await sql(`INSERT INTO ${table} VALUES ('tenants', $1, NULL)`, [{ origins: [A] }])
    t.ok(await until(() => allows(app, A)), 'caught up once the table exists')
    const store = said(lines)
    t.match(store[0], [50, `could not read the CORS policies of table "${table}": the table "${table}" does not exist (or is not on the role's search_path); create it with the SQL of corsPoliciesSql("${table}") (import { CORS_POLICIES_SQL, corsPoliciesSql } from 'fastify-cors-policy/postgres'), run by a role that may create tables; serving the policies declared in code, and trying again`])
    t.match(store[1], [40, /^still no CORS policy store after \d+\.\d s, attempts: 4 \(the table "appears_later" does not exist/])
    const reconnected = store.find(([, msg]) => msg.startsWith('reconnected'))!
    const attempts = Number(/attempts: (\d+)/.exec(reconnected[1])![1])
    const warnings = store.filter(([level]) => level >= 40).length
    t.ok(warnings < attempts, `fewer warnings and errors (${warnings}) than attempts (${attempts}): rate-limited`)
  })

  t.test('a server that accepts connections and never answers: the boot fails in time, with the reason; required: false boots', async (t) => {
    const sockets = new Set<Socket>()
    // Reads (and drops) what comes, so that it sees the client close; answers nothing.
    const silent = createServer((socket) => {
      sockets.add(socket)
      socket.resume()
    })
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    t.teardown(() => {
      for (const socket of sockets) socket.destroy()
      silent.close()
    })
    const connectionString = `postgres://app@127.0.0.1:${(silent.address() as { port: number }).port}/app`
    const app = Fastify({ pluginTimeout: 2000 })
    await app.register(cors, { policies: { tenants: { origins: [CODE] } } })
    await t.rejects(async () => { await app.register(corsPostgres, { connectionString, connectTimeout: 300 }) }, new CorsPolicyError([{
      where: 'fastify-cors-policy/postgres',
      path: '',
      message: 'could not read the CORS policies of table "cors_policies": no answer within 300 ms (connectTimeout). Check connectionString, or register with required: false to start on the policies declared in code and keep trying',
    }]), 'a clear error, not Fastify\'s plugin timeout')
    await app.close()
    t.ok(await until(() => [...sockets].every((socket) => socket.destroyed)), 'the connection was closed')

    const { app: started, lines } = await instance(t, { connectionString, connectTimeout: 300, required: false })
    t.ok(await allows(started, CODE), 'required: false boots on the code\'s policies')
    t.match(said(lines), [[50, /no answer within 300 ms \(connectTimeout\); serving the policies declared in code, and trying again$/]])
    // Closing while an attempt waits on the silent server ends it too.
    t.ok(await until(() => sockets.size >= 3), 'a second attempt of its own is waiting')
    await started.close()
    t.ok(await until(() => [...sockets].every((socket) => socket.destroyed)), 'app.close() closed every connection')
  })

  t.test('no password and no connection string in any error or log line', async (t) => {
    const { table } = await fresh()
    await sql(`GRANT SELECT ON ${table} TO ${SECRET_ROLE}`)
    const secrets = [SECRET_PASSWORD, 'wrong-Pa55word', '%zz-secret', encodeURIComponent(SECRET_PASSWORD)]
    const clean = (t: Test, what: string, value: unknown): void => {
      const text = JSON.stringify(value, (_key, v: unknown) => v instanceof Error ? { ...v, message: v.message, stack: v.stack } : v)
      for (const secret of secrets) t.notOk(text.includes(secret), `${what}: no ${JSON.stringify(secret)}`)
      t.notOk(text.includes('postgres://'), `${what}: no connection string`)
    }
    const strings = [
      pg.url(SECRET_ROLE, 'wrong-Pa55word'),
      `postgres://${SECRET_ROLE}@127.0.0.1:${pg.port}/postgres?password=wrong-Pa55word`,
      `postgres://${SECRET_ROLE}:%zz-secret@127.0.0.1:${pg.port}/postgres`,
      // pg reads the file while it takes the settings, and throws.
      `postgres://${SECRET_ROLE}:${SECRET_PASSWORD}@127.0.0.1:${pg.port}/postgres?sslrootcert=/nonexistent/ca.pem`,
    ]
    const boot = async (connectionString: string): Promise<unknown> => {
      const app = Fastify()
      await app.register(cors, { policies: { tenants: { origins: [CODE] } } })
      try {
        await app.register(corsPostgres, { connectionString, table })
        return null
      } catch (err) {
        return err
      } finally {
        await app.close()
      }
    }
    const reasons = []
    for (const [index, connectionString] of strings.entries()) {
      const err = await boot(connectionString)
      t.type(err, CorsPolicyError)
      reasons.push((err as Error).message.replace(/^.*?: could not read the CORS policies of table "[^"]+": /, '').replace(/\. Check connectionString.*$/, ''))
      clean(t, `the error of ${index}`, err)
      const { app: started, lines } = await instance(t, { connectionString, table, required: false })
      t.ok(await until(() => said(lines).length > 0))
      await started.close()
      clean(t, `the logs of ${index}`, lines)
    }
    t.strictSame(reasons, [
      '28P01: password authentication failed for user "cors_secret"',
      '28P01: password authentication failed for user "cors_secret"',
      '28P01: password authentication failed for user "cors_secret"',
      "pg refused the connection settings: ENOENT: ENOENT: no such file or directory, open '/nonexistent/ca.pem'",
    ], 'the reason is kept')
    const { app } = await instance(t, { connectionString: pg.url(SECRET_ROLE, SECRET_PASSWORD), table })
    t.ok(await allows(app, CODE), 'the right password connects')
  })

  t.test('app.close() ends the listener\'s connection; a second registration on one CORS registration is refused', async (t) => {
    const { table, application } = await fresh()
    const { app } = await instance(t, { connectionString: connect(application), table })
    const listeners = async (): Promise<number> => (await pg.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [application])).length
    t.equal(await listeners(), 1)
    const twice = Fastify()
    await twice.register(cors, { policies: { tenants: { origins: [CODE] } } })
    await twice.register(corsPostgres, { connectionString: connect(application), table })
    await t.rejects(async () => { await twice.register(corsPostgres, { connectionString: connect(application), table }) }, new CorsPolicyError([{
      where: 'fastify-cors-policy/postgres',
      path: '',
      message: 'is registered twice for the same registration of fastify-cors-policy; register it once per registration (a child scope with its own registration may have its own)',
    }]))
    await twice.close()
    const child = Fastify()
    await child.register(cors, { policies: { tenants: { origins: [CODE] } } })
    await child.register(async (scope) => {
      await scope.register(cors, { policies: { tenants: { origins: [CODE] } } })
      await scope.register(corsPostgres, { connectionString: connect(application), table })
    })
    await child.register(corsPostgres, { connectionString: connect(application), table })
    await child.ready()
    t.equal(await listeners(), 3, 'a child scope with its own registration has its own listener')
    await child.close()
    await app.close()
    t.ok(await until(async () => await listeners() === 0), 'no connection is left')
  })
}
