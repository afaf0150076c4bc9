import t from 'tap'
import Fastify from 'fastify'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { Value } from '@sinclair/typebox/value'
import cors, { CorsPolicySchema, CorsPolicyError, type CorsPolicy } from '../../lib/index.ts'
import { APP } from '../helpers.ts'

// CorsPolicySchema describes the JSON part of a policy as plain JSON Schema (TypeBox): it validates
// policies kept in configuration files, and fits in a route schema or an OpenAPI document.

const valid: unknown[] = [
  { origins: '*' },
  { origins: '*', exposeHeaders: ['x-request-id'], maxAge: 0 },
  { origins: [APP], credentials: true },
  { origins: ['https://*.partner.example', 'http://localhost:*', 'null'], methods: ['GET', 'POST'], allowHeaders: ['content-type', '*'], exposeHeaders: [], maxAge: 86400 },
]

const invalid: Array<[name: string, value: unknown]> = [
  ['origins missing', { credentials: true }],
  ['an unknown key', { origins: '*', credential: true }],
  ['origins a single string other than *', { origins: APP }],
  ['origins a number', { origins: 42 }],
  ['an origin that is not a string', { origins: [APP, 42] }],
  ['a RegExp origin, which JSON cannot hold', { origins: /^https:\/\/app\.example\.com$/ }],
  ['credentials a string', { origins: '*', credentials: 'yes' }],
  ['methods not an array', { origins: '*', methods: 'GET' }],
  ['a header name that is not a string', { origins: '*', allowHeaders: [1] }],
  ['maxAge negative', { origins: '*', maxAge: -1 }],
  ['maxAge fractional', { origins: '*', maxAge: 1.5 }],
  ['maxAge over 86400', { origins: '*', maxAge: 86401 }],
  ['maxAge a string', { origins: '*', maxAge: '600' }],
  ['not an object', 'public'],
  ['null', null],
]

t.test('valid JSON policies pass TypeCompiler and Value.Check; invalid ones fail', async (t) => {
  const check = TypeCompiler.Compile(CorsPolicySchema)
  for (const policy of valid) {
    t.ok(check.Check(policy), `compiled: ${JSON.stringify(policy)}`)
    t.ok(Value.Check(CorsPolicySchema, policy), `Value.Check: ${JSON.stringify(policy)}`)
  }
  for (const [name, policy] of invalid) {
    t.notOk(check.Check(policy), `compiled: ${name}`)
    t.notOk(Value.Check(CorsPolicySchema, policy), `Value.Check: ${name}`)
  }
})

t.test('it is a closed object schema with origins required', async (t) => {
  t.equal(CorsPolicySchema.type, 'object')
  t.equal(CorsPolicySchema.additionalProperties, false)
  t.same(CorsPolicySchema.required, ['origins'])
  t.same(Object.keys(CorsPolicySchema.properties), ['origins', 'credentials', 'methods', 'allowHeaders', 'exposeHeaders', 'maxAge', 'headersFromSchema', 'dangerouslyAllowInsecureOrigins', 'originTimeout'])
  t.equal(CorsPolicySchema.$id, 'CorsPolicy')
  t.match(CorsPolicySchema.properties.maxAge, { type: 'integer', minimum: 0, maximum: 86400 })
})

t.test('it survives JSON.stringify as plain JSON Schema', async (t) => {
  const json = JSON.parse(JSON.stringify(CorsPolicySchema)) as Record<string, unknown>
  t.match(json, {
    $id: 'CorsPolicy',
    type: 'object',
    additionalProperties: false,
    required: ['origins'],
    properties: {
      origins: { anyOf: [{ const: '*' }, { type: 'array', items: { type: 'string' } }] },
      credentials: { type: 'boolean' },
      methods: { type: 'array', items: { type: 'string' } },
      allowHeaders: { type: 'array', items: { type: 'string' } },
      exposeHeaders: { type: 'array', items: { type: 'string' } },
      maxAge: { type: 'integer', minimum: 0, maximum: 86400 },
    },
  })
  t.equal(JSON.stringify(json), JSON.stringify(CorsPolicySchema), 'nothing but JSON in it')
})

t.test('it validates a request body in a Fastify route schema, and by $ref once added', async (t) => {
  // Fastify's default Ajv options coerce types and remove unknown keys; turned off, every invalid policy is a 400.
  const app = Fastify({ ajv: { customOptions: { coerceTypes: false, removeAdditional: false } } })
  t.teardown(() => app.close())
  app.addSchema(CorsPolicySchema)
  app.post('/policies', { schema: { body: CorsPolicySchema } }, async (request) => request.body)
  app.put('/policies/:name', { schema: { body: { $ref: 'CorsPolicy#' } } }, async (request) => request.body)
  await app.ready()
  for (const [method, url] of [['POST', '/policies'], ['PUT', '/policies/partners']] as const) {
    const headers = { 'content-type': 'application/json' }
    for (const policy of valid) {
      const accepted = await app.inject({ method, url, headers, payload: JSON.stringify(policy) })
      t.equal(accepted.statusCode, 200, `${method} ${JSON.stringify(policy)}`)
      t.match(accepted.json(), policy)
    }
    // Ajv's useDefaults (on in Fastify) fills in the schema's defaults: the plugin's own, the secure ones.
    const filled = await app.inject({ method, url, headers, payload: '{"origins":"*"}' })
    t.same(filled.json(), { origins: '*', credentials: false, allowHeaders: [], exposeHeaders: [] })
    for (const [name, policy] of invalid) {
      const refused = await app.inject({ method, url, headers, payload: JSON.stringify(policy) })
      t.equal(refused.statusCode, 400, `${method} ${name}`)
    }
  }
})

t.test('the schema checks shape; the plugin also checks meaning at startup', async (t) => {
  const policy = { origins: ['https://app.example.com/'] }
  t.ok(Value.Check(CorsPolicySchema, policy), 'a well-shaped policy')
  const app = Fastify()
  t.teardown(() => app.close())
  await t.rejects(async () => { await app.register(cors, { default: policy }) }, CorsPolicyError)
})

t.test('a policy that passes the schema is a CorsPolicy the plugin accepts', async (t) => {
  for (const policy of valid) {
    if (!Value.Check(CorsPolicySchema, policy)) continue
    const typed: CorsPolicy = policy
    const app = Fastify()
    await app.register(cors, { default: typed })
    app.get('/', async () => 'ok')
    await app.ready()
    await app.close()
  }
  t.pass('all started')
})
