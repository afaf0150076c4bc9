import t from 'tap'
import Fastify from 'fastify'
import cors, { CorsPolicyError, type CorsPolicy } from '../../lib/index.ts'
import corsPostgres, { CORS_POLICIES_SQL, checkCorsPolicyRow, corsPoliciesSql, type CorsPostgresOptions } from '../../lib/postgres.ts'
import { loadDriver } from '../../lib/fleet/listener.ts'
import { APP } from '../helpers.ts'

// fastify-cors-policy/postgres without a database: the SQL, the row check writers run, and the
// options, refused at registration before any connection. The store itself is in test/fleet.test.ts.

const PASSWORD = 'hunter2-Sup3r-secret'

/** What registering the plugin with these options throws (the CORS plugin registered first). */
async function optionsError (options: unknown, fastify: { pluginTimeout?: number } = {}): Promise<CorsPolicyError> {
  const app = Fastify(fastify)
  await app.register(cors, { policies: { tenants: { origins: [APP] } } })
  try {
    await app.register(corsPostgres, options as CorsPostgresOptions)
    await app.ready()
  } catch (err) {
    await app.close()
    return err as CorsPolicyError
  }
  throw new Error('the options were accepted')
}

t.test('the SQL creates the table and both triggers, quoting the table name', async (t) => {
  t.equal(CORS_POLICIES_SQL, corsPoliciesSql('cors_policies'))
  t.match(CORS_POLICIES_SQL, /CREATE TABLE IF NOT EXISTS "cors_policies" \(\n {2}name text PRIMARY KEY,\n {2}policy jsonb NOT NULL,\n {2}candidate jsonb\n\);/)
  t.match(CORS_POLICIES_SQL, /CREATE TRIGGER cors_policy_notify_row AFTER INSERT OR UPDATE OR DELETE ON "cors_policies"\n {2}FOR EACH ROW/)
  t.match(CORS_POLICIES_SQL, /CREATE TRIGGER cors_policy_notify_truncate AFTER TRUNCATE ON "cors_policies"\n {2}FOR EACH STATEMENT/)
  const odd = corsPoliciesSql('Tenant "A"; DROP TABLE x')
  t.match(odd, /CREATE TABLE IF NOT EXISTS "Tenant ""A""; DROP TABLE x" \(/, 'a double quote is doubled: the name stays one identifier')
  t.notMatch(odd, /"cors_policies"/)
})

t.test('corsPoliciesSql refuses a name PostgreSQL cannot have', async (t) => {
  for (const [table, message] of [
    ['', 'the table name is not a table name; table is a non-empty string such as "cors_policies"'],
    ['a\0b', 'the table name contains a NUL character, which no PostgreSQL name can'],
    ['é'.repeat(32), 'the table name is 64 bytes long; PostgreSQL names are at most 63 bytes'],
    [42, 'the table name is not a table name; table is a non-empty string such as "cors_policies"'],
  ] as const) {
    t.throws(() => corsPoliciesSql(table as string), new CorsPolicyError([{ where: 'corsPoliciesSql', path: '', message }]))
  }
  t.doesNotThrow(() => corsPoliciesSql('x'.repeat(63)), '63 bytes fit')
})

t.test('checkCorsPolicyRow: a valid row has no problem, and the policy alone is checked as a whole policy', async (t) => {
  t.strictSame(checkCorsPolicyRow({ name: 'tenants', policy: { origins: [APP, 'https://*.tenant.example'], credentials: true } }), [])
  t.strictSame(checkCorsPolicyRow({ name: 'tenants', policy: { origins: '*' }, candidate: null }), [])
  t.strictSame(checkCorsPolicyRow({ name: 'tenants', policy: { credentials: true } }), [
    { where: 'row "tenants" of cors_policies, policy', path: '/origins', message: "is required; list the origins allowed to read responses, e.g. origins: ['https://app.example.com'], or origins: '*' for a public API" },
  ], 'without the declared policy, origins is required')
})

t.test('checkCorsPolicyRow returns every problem of the policy and of the candidate, as replace() would find them', async (t) => {
  const problems = checkCorsPolicyRow({
    name: 'tenants',
    policy: { origins: ['https://*.com', 'https://app.example.com/'], credentials: true, maxAge: 90000, origin: 'x' },
    candidate: { origins: '*', credentials: true },
  }, { table: 'tenant_cors' })
  t.strictSame(problems.map((p) => [p.where, p.path]), [
    ['row "tenants" of tenant_cors, policy', '/origin'],
    ['row "tenants" of tenant_cors, policy', '/maxAge'],
    ['row "tenants" of tenant_cors, policy', '/origins/0'],
    ['row "tenants" of tenant_cors, policy', '/origins/1'],
    ['row "tenants" of tenant_cors, candidate', '/credentials'],
  ])
  t.match(problems[2]!.message, /covers the public suffix "com"/)
  t.match(problems[3]!.message, /has a path \(a trailing slash\)/)
  t.match(problems[4]!.message, /is true with origins '\*'; browsers refuse credentials from a wildcard origin/)
  for (const policy of [['https://a.example'], 'https://a.example', null, 42]) {
    t.match(checkCorsPolicyRow({ name: 'x', policy }), [{ path: '', message: /a policy is an object such as/ }], `${JSON.stringify(policy)} is no policy`)
  }
})

t.test('against the declared policy, a row may change only the fields allowed, and takes the others from the code', async (t) => {
  const declared: CorsPolicy = { origins: [APP], credentials: true, methods: ['GET', 'PUT'], maxAge: 600 }
  const check = (policy: unknown, fields?: Array<'origins' | 'maxAge' | 'exposeHeaders'>): ReturnType<typeof checkCorsPolicyRow> =>
    checkCorsPolicyRow({ name: 'tenants', policy }, { declared, ...(fields === undefined ? {} : { fields }) })

  t.strictSame(check({ origins: ['https://tenant.example'] }), [], 'origins alone: the rest comes from the code')
  t.strictSame(check({ origins: ['https://tenant.example'], credentials: true, methods: ['PUT', 'GET'], maxAge: 600 }), [], 'fields equal to the code (lists in any order) are accepted')
  t.strictSame(check({ origins: ['https://tenant.example'], maxAge: 60, exposeHeaders: ['x-id'] }), [
    { where: 'row "tenants" of cors_policies, policy', path: '/maxAge', message: 'is 60, and a row may change only origins (the option fields); the policy declared in code has 600: leave it out of the row, or add "maxAge" to fields' },
    { where: 'row "tenants" of cors_policies, policy', path: '/exposeHeaders', message: 'is ["x-id"], and a row may change only origins (the option fields); the policy declared in code leaves it out: leave it out of the row, or add "exposeHeaders" to fields' },
  ])
  t.strictSame(check({ origins: ['https://tenant.example'], maxAge: 60, exposeHeaders: ['x-id'] }, ['origins', 'maxAge', 'exposeHeaders']), [], 'fields widens what a row may change')
  t.match(check({ maxAge: 60 }, []), [{ path: '/maxAge', message: /a row may change only nothing/ }])
  t.match(check({ methods: ['GET'] }), [{ path: '/methods', message: /is \["GET"\], .* has \["GET", "PUT"\]/ }], 'a shorter list differs')
  t.match(check({ origins: '*' }), [{ path: '/credentials', message: /with origins '\*'/ }], "the merged policy is checked: '*' with the code's credentials")
  t.match(check({ origins: ['https://tenant.example'], credentials: false }), [{ path: '/credentials', message: /has true/ }])
})

t.test('a row beside a declared RegExp or origins function: the code\'s origins and its timeout never leak into the row', async (t) => {
  const fn: CorsPolicy = { origins: async () => true, originTimeout: 500 }
  t.strictSame(checkCorsPolicyRow({ name: 'x', policy: { origins: [APP] } }, { declared: fn }), [], "the function's timeout goes with it")
  t.match(checkCorsPolicyRow({ name: 'x', policy: { origins: [APP], originTimeout: 500 } }, { declared: fn }), [{ path: '/originTimeout', message: /applies only to an origins function/ }])
  t.match(checkCorsPolicyRow({ name: 'x', policy: { origins: [APP] } }, { declared: fn, fields: ['maxAge'] }),
    [{ path: '/origins', message: /is \["https:\/\/app.example.com"\], and a row may change only maxAge .* has a function/ }])
  t.strictSame(checkCorsPolicyRow({ name: 'x', policy: { maxAge: 5 } }, { declared: fn, fields: ['maxAge'] }), [], 'the function stays when origins is not the row\'s')
  const regexp: CorsPolicy = { origins: [/^https:\/\/[a-z]+\.example\.com$/] }
  t.match(checkCorsPolicyRow({ name: 'x', policy: { origins: ['https://a.example.com'] } }, { declared: regexp, fields: ['maxAge'] }),
    [{ path: '/origins', message: 'is ["https://a.example.com"], and a row may change only maxAge (the option fields); the policy declared in code has [/^https:\\/\\/[a-z]+\\.example\\.com$/]: leave it out of the row, or add "origins" to fields' }])
})

t.test('checkCorsPolicyRow reports fields that are not policy fields', async (t) => {
  t.strictSame(checkCorsPolicyRow({ name: 'x', policy: { origins: [APP] } }, { fields: ['origins', 'origin' as 'origins', 3 as unknown as 'origins'] }).map((p) => [p.where, p.path, p.message]), [
    ['checkCorsPolicyRow options', '/fields/1', 'is the string "origin", not a policy field; the fields are origins, credentials, methods, allowHeaders, exposeHeaders, maxAge, headersFromSchema, dangerouslyAllowInsecureOrigins, originTimeout'],
    ['checkCorsPolicyRow options', '/fields/2', 'is the number 3, not a policy field; the fields are origins, credentials, methods, allowHeaders, exposeHeaders, maxAge, headersFromSchema, dangerouslyAllowInsecureOrigins, originTimeout'],
  ])
  t.match(checkCorsPolicyRow({ name: 'x', policy: { origins: [APP] } }, { fields: 'origins' as unknown as [] }), [{ path: '/fields', message: /is not a list/ }])
})

t.test('options: every problem in one error at registration, before any connection', async (t) => {
  const err = await optionsError({ connectionString: 42, table: '', fields: ['origins', 'nope'], required: 'yes', ssl: 'on', connectTimeout: 50, healthInterval: 1.5, queryTimeout: 70_000, tabel: 'x' })
  t.type(err, CorsPolicyError)
  t.strictSame(err.problems.map((p) => p.path), ['/tabel', '/connectionString', '/table', '/fields/1', '/required', '/ssl', '/connectTimeout', '/healthInterval', '/queryTimeout'])
  t.match(err.message, /fastify-cors-policy\/postgres options: \/connectTimeout is the number 50; connectTimeout is a whole number of milliseconds from 100 to 9999 \(below Fastify's pluginTimeout, 10000 ms/)
  for (const options of [42, 'postgres://x', []]) t.match((await optionsError(options)).message, /options: are not an object/)
  t.match((await optionsError({ fields: 'origins' })).message, /\/fields is not a list/)
  t.match((await optionsError({ connectTimeout: 3000 }, { pluginTimeout: 2000 })).message, /connectTimeout is the number 3000; .* from 100 to 1999 \(below Fastify's pluginTimeout, 2000 ms/, 'a shorter pluginTimeout lowers the bound')
  t.match((await optionsError({ connectTimeout: 90_000 }, { pluginTimeout: 0 })).message, /from 100 to 60000$/m, 'no pluginTimeout: the bound is a minute')
  for (const ssl of [null, [], 'require']) t.match((await optionsError({ ssl })).message, /\/ssl is neither a boolean nor an object/)
  t.match((await optionsError({ connectionString: 'mysql://root:pw@db/app' })).message, /has the scheme "mysql:"; write it as postgres:/)
})

t.test('a malformed connection string with a password is refused without showing it', async (t) => {
  for (const connectionString of [
    `postgres://app:${PASSWORD}@db.internal:54x32/app`,
    `postgres://app:${PASSWORD}@[::1/app`,
    `postgres://app:${PASSWORD}@db.internal:99999/app`,
  ]) {
    const err = await optionsError({ connectionString })
    t.strictSame(err.problems, [{
      where: 'fastify-cors-policy/postgres options',
      path: '/connectionString',
      message: 'is not a valid URL (it is not shown here, as it may hold a password); write it as postgres://user:password@host:5432/database, with reserved characters of the password percent-encoded',
    }])
    const everything = JSON.stringify({ ...err, message: err.message, stack: err.stack, cause: (err as { cause?: unknown }).cause })
    t.notOk(everything.includes(PASSWORD), 'the password is in no property of the error')
    t.notOk(everything.includes('db.internal'), 'nor the connection string')
  }
})

t.test('the plugin needs the CORS plugin in its scope, and says so', async (t) => {
  const app = Fastify()
  await t.rejects(async () => { await app.register(corsPostgres, { connectionString: 'postgres://127.0.0.1:1/none' }) },
    { code: 'FST_ERR_PLUGIN_DEPENDENCY_NOT_REGISTERED', message: "The dependency 'fastify-cors-policy' of plugin 'fastify-cors-policy/postgres' is not registered" })
  await app.close()
  const sibling = Fastify()
  sibling.register(async (scope) => { await scope.register(cors, { policies: { tenants: { origins: [APP] } } }) })
  await t.rejects(async () => { await sibling.register(corsPostgres, { connectionString: 'postgres://127.0.0.1:1/none' }) },
    { code: 'FST_ERR_PLUGIN_DEPENDENCY_NOT_REGISTERED' }, 'a registration in a child scope does not count for its parent')
  await sibling.close()
})

t.test('without the driver, registering fails with the package to install', async (t) => {
  await t.rejects(loadDriver('pg-not-installed-here'), new CorsPolicyError([{
    where: 'fastify-cors-policy/postgres', path: '', message: 'needs the pg-not-installed-here package, which is not installed: npm install pg-not-installed-here',
  }]))
  t.type(await loadDriver(), 'function', 'pg is found by default')
})

t.test('valid options boot with required: false while the store cannot be reached, and close cleanly', async (t) => {
  for (const options of [
    { connectionString: '/nonexistent-socket-folder postgres', ssl: false },
    { connectionString: 'postgres://app@127.0.0.1:1/app', ssl: { rejectUnauthorized: true }, table: 'Tenant Policies', fields: ['origins', 'maxAge'], connectTimeout: 500, healthInterval: 1000, queryTimeout: 500 },
  ] satisfies CorsPostgresOptions[]) {
    const app = Fastify()
    await app.register(cors, { policies: { tenants: { origins: [APP] } }, default: 'tenants' })
    await app.register(corsPostgres, { ...options, required: false })
    app.get('/', async () => 'ok')
    await app.ready()
    t.equal((await app.inject({ url: '/', headers: { origin: APP } })).headers['access-control-allow-origin'], APP, 'the code\'s policy serves')
    await app.close()
  }
})
