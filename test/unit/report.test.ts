import t from 'tap'
import Fastify from 'fastify'
import swagger from '@fastify/swagger'
import cors from '../../lib/index.ts'
import { APP, build } from '../helpers.ts'

const options = {
  default: { origins: [APP], credentials: true },
  policies: {
    public: { origins: '*' as const },
    partners: {
      origins: ['https://*.partner.example', 'http://localhost:*', 'https://a.example', 'https://b.example', /^https:\/\/c\.example$/],
      allowHeaders: ['content-type', '*'],
      exposeHeaders: ['x-request-id'],
      maxAge: 600,
      methods: ['GET', 'POST'],
    },
    tenants: { origins: () => true },
  },
}

t.test('corsPolicyReport lists every governed route with its policy', async (t) => {
  const app = await build(options, (app) => {
    app.get('/status', { config: { cors: 'public' } }, async () => 'ok')
    app.route({ method: ['GET', 'POST'], url: '/orders', config: { cors: 'partners' }, handler: async () => 'ok' })
    app.put('/me', { config: { cors: { origins: [APP], allowHeaders: ['content-type'] } } }, async () => 'ok')
    app.get('/home', async () => 'ok')
    app.get('/admin', { config: { cors: false }, exposeHeadRoute: false }, async () => 'ok')
    app.get('/tenant', { config: { cors: 'tenants' }, exposeHeadRoute: false }, async () => 'ok')
  })
  t.teardown(() => app.close())
  const rows = app.corsPolicyReport()
  const byRoute = Object.fromEntries(rows.map((row) => [`${row.method} ${row.path}`, row]))
  t.strictSame(Object.keys(byRoute), ['GET /status', 'HEAD /status', 'GET, POST /orders', 'HEAD /orders', 'PUT /me', 'GET /home', 'HEAD /home', 'GET /admin', 'GET /tenant'])
  t.strictSame(byRoute['GET /status'], { method: 'GET', path: '/status', policy: 'public', origins: '*', credentials: false, methods: 'GET', allowHeaders: '', exposeHeaders: '', maxAge: null })
  t.strictSame(byRoute['GET, POST /orders'], {
    method: 'GET, POST',
    path: '/orders',
    policy: 'partners',
    origins: 'https://*.partner.example, http://localhost:*, https://a.example (+2 more)',
    credentials: false,
    methods: 'GET, POST',
    allowHeaders: 'content-type, * (not authorization)',
    exposeHeaders: 'x-request-id',
    maxAge: 600,
  })
  t.equal(byRoute['PUT /me']?.policy, 'inline')
  t.equal(byRoute['GET /home']?.policy, 'default')
  t.equal(byRoute['GET /home']?.credentials, true)
  t.strictSame(byRoute['GET /admin'], { method: 'GET', path: '/admin', policy: null, origins: '', credentials: false, methods: '', allowHeaders: '', exposeHeaders: '', maxAge: null })
  t.equal(byRoute['GET /tenant']?.origins, 'function')

  let printed = ''
  const write = process.stdout.write.bind(process.stdout)
  process.stdout.write = ((chunk: string) => { printed += chunk; return true }) as typeof process.stdout.write
  let table: string
  try {
    table = app.printCorsPolicies()
  } finally {
    process.stdout.write = write
  }
  t.equal(printed, table, 'prints the table it returns')
  const lines = table.trimEnd().split('\n')
  t.equal(lines.length, 2 + rows.length, 'a header, a rule, a line per route')
  t.match(lines[0], /^method\s+path\s+policy\s+origins\s+credentials\s+methods\s+allow headers\s+expose headers\s+max age$/)
  t.match(lines[1], /^-+ {2}-+/)
  t.match(table, /\nGET +\/admin +no CORS +- +false/)
  t.match(table, /\nGET, POST +\/orders +partners +https:\/\/\*\.partner\.example/)
})

t.test('OpenAPI: generated OPTIONS routes never appear; x-cors describes each operation when asked', async (t) => {
  for (const openapiExtension of [false, true]) {
    const app = Fastify()
    await app.register(swagger, { openapi: { info: { title: 'api', version: '1' } } })
    await app.register(cors, { ...options, openapiExtension })
    app.get('/status', { config: { cors: 'public' }, schema: { summary: 'status' } }, async () => 'ok')
    app.put('/me', async () => 'ok')
    app.get('/admin', { config: { cors: false } }, async () => 'ok')
    await app.ready()
    const doc = app.swagger() as unknown as { paths: Record<string, Record<string, Record<string, unknown>>> }
    t.strictSame(Object.keys(doc.paths['/status'] ?? {}), ['get'], 'no options operation')
    t.strictSame(Object.keys(doc.paths['/me'] ?? {}), ['put'])
    if (openapiExtension) {
      t.strictSame(doc.paths['/status']?.get?.['x-cors'], { policy: 'public', origins: '*', credentials: false, methods: 'GET', allowHeaders: '', exposeHeaders: '', maxAge: null })
      t.equal((doc.paths['/me']?.put?.['x-cors'] as { policy: string }).policy, 'default')
      t.equal(doc.paths['/admin']?.get?.['x-cors'], undefined, 'no extension where CORS is off')
    } else {
      t.equal(doc.paths['/status']?.get?.['x-cors'], undefined, 'no extension unless asked')
    }
    await app.close()
  }
  await t.rejects(build({ openapiExtension: 'yes' } as never, () => {}), { message: /plugin options: \/openapiExtension is the string "yes"; openapiExtension is true or false/ })
})
