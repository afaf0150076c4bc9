import t from 'tap'
import { Type } from '@sinclair/typebox'
import { CorsPolicyError } from '../../lib/index.ts'
import { APP, build, corsHeaders, preflight } from '../helpers.ts'

const policies = {
  partners: { origins: [APP], allowHeaders: ['content-type'], exposeHeaders: ['x-request-id'], headersFromSchema: true },
  plain: { origins: [APP], allowHeaders: ['content-type'] },
}

t.test('headersFromSchema: schema.headers names join allowHeaders, response header names join exposeHeaders', async (t) => {
  const app = await build({ policies }, (app) => {
    app.post('/orders', {
      config: { cors: 'partners' },
      schema: {
        headers: Type.Object({ 'X-Api-Key': Type.String(), 'x-tenant': Type.Optional(Type.String()) }),
        response: { 201: { headers: { 'x-rate-limit': { type: 'string' } }, type: 'object' }, '4xx': { headers: Type.Object({ 'x-error-id': Type.String() }) } },
      },
    }, async (_req, reply) => reply.code(201).header('x-rate-limit', '9').send({}))
    app.put('/plain', { config: { cors: 'plain' }, schema: { headers: Type.Object({ 'x-api-key': Type.String() }) } }, async () => 'plain')
    app.put('/orders/:id', { config: { cors: 'partners' } }, async () => 'no schema')
  })
  t.teardown(() => app.close())

  const pre = await app.inject(preflight('/orders', APP, 'POST', 'content-type, x-api-key, x-tenant'))
  t.equal(pre.statusCode, 204)
  t.equal(pre.headers['access-control-allow-headers'], 'content-type, x-api-key, x-tenant')
  const actual = await app.inject({ method: 'POST', url: '/orders', headers: { origin: APP, 'x-api-key': 'k' }, payload: {} })
  t.strictSame(corsHeaders(actual.headers), {
    vary: 'Origin',
    'access-control-allow-origin': APP,
    'access-control-expose-headers': 'x-request-id, x-rate-limit, x-error-id',
  })
  t.equal((await app.inject(preflight('/plain', APP, 'PUT', 'x-api-key'))).statusCode, 403, 'a policy without headersFromSchema ignores the schema')
  t.equal((await app.inject(preflight('/orders/1', APP, 'PUT', 'x-api-key'))).statusCode, 403, 'a route without a headers schema adds nothing')
  t.equal((await app.inject(preflight('/orders/1', APP, 'PUT', 'content-type'))).statusCode, 204)
})

t.test('headersFromSchema leaves out set-cookie, which a response schema may declare but no script can read', async (t) => {
  const app = await build({ policies }, (app) => {
    app.post('/login', {
      config: { cors: 'partners' },
      schema: { response: { 200: { headers: Type.Object({ 'Set-Cookie': Type.String(), 'set-cookie2': Type.Optional(Type.String()), 'x-session-id': Type.String() }) } } },
    }, async (_req, reply) => reply.header('set-cookie', 'id=1').header('x-session-id', '1').send('in'))
    app.post('/logout', {
      config: { cors: 'partners' },
      schema: { response: { 204: { headers: { 'set-cookie': { type: 'string' } } } } },
    }, async (_req, reply) => reply.code(204).header('set-cookie', 'id=; Max-Age=0').send())
  })
  t.teardown(() => app.close())
  const login = await app.inject({ method: 'POST', url: '/login', headers: { origin: APP } })
  t.equal(login.headers['access-control-expose-headers'], 'x-request-id, x-session-id')
  t.equal(login.headers['set-cookie'], 'id=1', 'the route still sets its cookie')
  const logout = await app.inject({ method: 'POST', url: '/logout', headers: { origin: APP } })
  t.equal(logout.headers['access-control-expose-headers'], 'x-request-id', 'only the policy\'s own names')
})

t.test('headersFromSchema follows a replaced named policy', async (t) => {
  const app = await build({ policies }, (app) => {
    app.post('/orders', { config: { cors: 'partners' }, schema: { headers: Type.Object({ 'x-api-key': Type.String() }) } }, async () => 'ok')
  })
  t.teardown(() => app.close())
  app.corsPolicies.replace('partners', { origins: ['https://other.example'], headersFromSchema: true })
  t.equal((await app.inject(preflight('/orders', 'https://other.example', 'POST', 'x-api-key'))).statusCode, 204)
  app.corsPolicies.replace('partners', { origins: ['https://other.example'] })
  t.equal((await app.inject(preflight('/orders', 'https://other.example', 'POST', 'x-api-key'))).statusCode, 403, 'without the flag, the schema no longer counts')
})

t.test('schema header names are validated at startup', async (t) => {
  await t.rejects(build({ policies }, (app) => {
    app.post('/orders', {
      config: { cors: 'partners' },
      schema: { headers: { type: 'object', properties: { 'x bad': { type: 'string' } } }, response: { 200: { headers: { 'x(y)': { type: 'string' } } } } },
    }, async () => 'ok')
  }), new CorsPolicyError([
    { where: 'route POST /orders', path: '/schema/headers/properties/x bad', message: '"x bad" is not a valid header name; rename it in the schema' },
    { where: 'route POST /orders', path: '/schema/response/200/headers/x(y)', message: '"x(y)" is not a valid header name; rename it in the schema' },
  ]))
  await t.rejects(build({ policies }, (app) => {
    app.post('/orders', { config: { cors: 'partners' }, schema: { headers: { $ref: 'shared#' } } }, async () => 'ok')
  }), { message: /route POST \/orders: \/schema\/headers\/\$ref is a reference, which headersFromSchema does not follow/ })
})
