import t from 'tap'
import { CORS_POLICIES_SQL } from '../lib/postgres.ts'
import { allEnforce, allowedOrigin, closeAgent, getJson, startInstance, type Instance } from './fleet.ts'
import { startPostgres, until } from './postgres.ts'

// Three instances of an app, each its own process, on one PostgreSQL database (started here): every
// change converges on all three; so does a change made right after their connections are killed, and
// one committed after the server was stopped for 3 s under load (no request failed meanwhile).
// Generous deadlines, no timing assertion: bench/fleet.ts measures how fast.

const CODE = 'https://code.example.com'
const A = 'https://a.example.com'
const B = 'https://b.example.com'
const C = 'https://c.example.com'

const pg = await startPostgres()
if (pg === null) {
  if (process.env.CORS_POSTGRES_REQUIRED === '1') t.fail('no PostgreSQL found (PG_BIN, /usr/lib/postgresql/*/bin, PATH); CI installs the postgresql package')
  else t.plan(0, 'no PostgreSQL found (PG_BIN, /usr/lib/postgresql/*/bin, PATH)')
} else {
  t.teardown(() => pg.close())
  t.teardown(closeAgent)
  await pg.query(CORS_POLICIES_SQL)
  const fleet: Instance[] = await Promise.all([0, 1, 2].map(() => startInstance(pg.url())))
  t.teardown(() => Promise.all(fleet.map((instance) => instance.stop())))
  const converge = (origin: string): Promise<boolean> => until(() => allEnforce(fleet, origin), 10_000)
  const candidates = async (): Promise<unknown[]> => Promise.all(fleet.map((instance) => getJson(instance.port, '/candidates')))

  t.test('three instances converge on insert, update, candidates, delete and truncate', async (t) => {
    t.ok(await allEnforce(fleet, CODE), 'at first, the policy declared in code')
    await pg.query('INSERT INTO cors_policies VALUES ($1, $2, NULL)', ['tenants', { origins: [A] }])
    t.ok(await converge(A), 'insert')
    await pg.query('UPDATE cors_policies SET policy = $1 WHERE name = $2', [{ origins: [B] }, 'tenants'])
    t.ok(await converge(B), 'update')
    t.notOk((await Promise.all(fleet.map((i) => allowedOrigin(i.port, A)))).some((answer) => answer === A), 'the old origin is refused everywhere')
    await pg.query('UPDATE cors_policies SET candidate = $1 WHERE name = $2', [{ origins: [C] }, 'tenants'])
    t.ok(await until(async () => (await candidates()).every((list) => JSON.stringify(list) === '["tenants"]')), 'a candidate attached')
    await pg.query('UPDATE cors_policies SET candidate = NULL WHERE name = $1', ['tenants'])
    t.ok(await until(async () => (await candidates()).every((list) => JSON.stringify(list) === '[]')), 'and detached')
    await pg.query('DELETE FROM cors_policies WHERE name = $1', ['tenants'])
    t.ok(await converge(CODE), 'delete: the policy declared in code again')
    await pg.query('INSERT INTO cors_policies VALUES ($1, $2, NULL)', ['tenants', { origins: [A] }])
    t.ok(await converge(A))
    await pg.query('TRUNCATE cors_policies')
    t.ok(await converge(CODE), 'truncate: the policy declared in code again')
  })

  t.test('every listener\'s connection terminated, and a change right after: all three catch up', async (t) => {
    const [{ killed }] = await pg.query<{ killed: number }>(
      "SELECT count(pg_terminate_backend(pid))::int AS killed FROM pg_stat_activity WHERE application_name = 'fastify-cors-policy'") as [{ killed: number }]
    t.equal(killed, 3, 'one listener per instance')
    await pg.query('INSERT INTO cors_policies VALUES ($1, $2, NULL)', ['tenants', { origins: [B] }])
    t.ok(await converge(B))
    t.ok(await until(() => fleet.every((instance) => instance.lines.some((line) => /^reconnected/.test(line.msg)))), 'each says it reconnected')
  })

  t.test('the server stopped for 3 s under load: no request fails, and a change committed once it is back is caught up', async (t) => {
    let expected = [B]
    let sent = 0
    const failures: string[] = []
    const load = { flowing: true }
    const flow = (async () => {
      while (load.flowing) {
        await Promise.all(fleet.map(async (instance) => {
          sent++
          const allowed = expected
          try {
            const origin = await allowedOrigin(instance.port, B)
            const answer = origin === B ? B : 'refused'
            if (!allowed.includes(answer)) failures.push(`port ${instance.port}: ${answer}`)
          } catch (err) {
            failures.push(`port ${instance.port}: ${(err as Error).message}`)
          }
        }))
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    })()
    await pg.stop()
    await new Promise((resolve) => setTimeout(resolve, 3000))
    await pg.start()
    // At once, while the instances are still waiting to reconnect: they can only learn it by reading every row.
    expected = [B, 'refused']
    const [{ listening }] = await pg.query<{ listening: number }>(
      "UPDATE cors_policies SET policy = $1 WHERE name = 'tenants' RETURNING (SELECT count(*)::int FROM pg_stat_activity WHERE application_name = 'fastify-cors-policy') AS listening",
      [{ origins: [C] }]) as [{ listening: number }]
    t.comment(`instances connected when the change was committed: ${listening} of 3`)
    t.ok(await converge(C), 'all three enforce the change')
    expected = ['refused']
    load.flowing = false
    await flow
    t.ok(sent > 100, `requests flowed all along (${sent})`)
    t.strictSame(failures, [], 'none failed, and each had the last good policy')
    for (const instance of fleet) {
      const store = instance.lines.filter((line) => line.corsStore !== undefined && line.level >= 40).map((line) => line.msg as string)
      t.ok(store.length <= 4, `port ${instance.port}: ${store.length} warnings for the outage, not one per attempt`)
    }
  })

  t.test('SIGTERM: app.close() ends everything and each process exits on its own, with no unhandled error', async (t) => {
    const codes = await Promise.all(fleet.map((instance) => instance.stop()))
    t.strictSame(codes, [0, 0, 0])
    for (const instance of fleet) t.notMatch(instance.stderr(), /unhandledRejection|uncaughtException|close failed/)
  })
}
