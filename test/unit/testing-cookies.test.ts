// corsCheck's cookie half: every Set-Cookie the app answers on the way (a redirect's, a preflight's,
// a refused answer's) is judged in each engine, for the apiOrigin given (or, said so, for its
// default); the `cookies` input keeps its meaning and is never judged.
import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import cors from '../../lib/index.ts'
import { corsCheck } from '../../lib/testing.ts'

const PAGE = 'https://app.example.test'
const API = 'https://api.example.test'
const SESSION = 'sid=s3cr3t; Path=/; Secure; HttpOnly; SameSite=Lax'

async function app (): Promise<FastifyInstance> {
  const server = Fastify()
  await server.register(cors, {
    default: { origins: [PAGE, 'https://app.other.test', 'http://localhost:3000'], credentials: true, allowHeaders: ['content-type'] },
  })
  server.post('/session', async (_request, reply) => reply.header('set-cookie', [SESSION, 'theme=dark; SameSite=Lax']).send({ signedIn: true }))
  server.get('/me', async (request) => ({ cookie: request.headers.cookie ?? null }))
  server.get('/login', async (_request, reply) => reply.header('set-cookie', 'hop=1; Path=/; SameSite=Lax; Secure').redirect('/me'))
  server.get('/loop/:n', async (request, reply) => reply.header('set-cookie', `loop=${(request.params as { n: string }).n}; SameSite=Lax`)
    .redirect(`/loop/${Number((request.params as { n: string }).n) + 1}`))
  server.route({
    method: ['OPTIONS', 'PUT'],
    url: '/pf',
    config: { cors: false },
    handler: async (request, reply) => reply.code(request.method === 'OPTIONS' ? 204 : 200).headers({
      'access-control-allow-origin': PAGE,
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'PUT',
      ...(request.method === 'OPTIONS' ? { 'set-cookie': 'pf=1; SameSite=None; Secure' } : {}),
    }).send(),
  })
  server.get('/refused', { config: { cors: false } }, async (_request, reply) => reply.header('set-cookie', 'r=1; SameSite=Lax; Secure').send('no CORS'))
  await server.ready()
  t.teardown(() => server.close())
  return server
}

t.test('a same-site session cookie: stored and sent back by both engines; names and attributes only', async (t) => {
  const server = await app()
  const result = await corsCheck(server, { origin: PAGE, method: 'POST', url: '/session', credentials: true, apiOrigin: API })
  t.equal(result.ok, true)
  t.same(result.setCookies.map((c) => [c.name, c.attributes, c.url, c.from, c.engines.chromium.stored, c.engines.chromium.sentBack, c.engines.firefox.stored, c.engines.firefox.sentBack, c.fix]), [
    ['sid', 'Path=/; Secure; HttpOnly; SameSite=Lax', `${API}/session`, 'response', true, true, true, true, null],
    ['theme', 'SameSite=Lax', `${API}/session`, 'response', true, true, true, true, null],
  ])
  t.notMatch(JSON.stringify(result.setCookies), /s3cr3t|dark/, 'no value anywhere')
  t.equal(result.apiOrigin, API)
  t.equal(result.apiOriginNote, null)
})

t.test('the same cookie from another site: neither engine stores a SameSite=Lax cookie, and the fix is to serve the API on the page\'s site', async (t) => {
  const server = await app()
  const result = await corsCheck(server, { origin: 'https://app.other.test', method: 'POST', url: '/session', credentials: true, apiOrigin: API })
  t.equal(result.ok, true, 'CORS allows it')
  const [sid] = result.setCookies
  t.same([sid?.engines.chromium.stored, sid?.engines.firefox.stored], [false, false])
  t.match(sid?.engines.chromium.reason, /api\.example\.test is another site \(https:\/\/example\.test\) than the page's \(https:\/\/other\.test\)/)
  t.match(sid?.fix, /^Serve the API on the page's site, e\.g\. https:\/\/api\.other\.test/)
})

t.test('apiOrigin left at its default: the result says the cookies were judged for http://localhost', async (t) => {
  const server = await app()
  const result = await corsCheck(server, { origin: 'http://localhost:3000', method: 'POST', url: '/session', credentials: true })
  t.equal(result.apiOrigin, 'http://localhost')
  t.match(result.apiOriginNote, /^apiOrigin was not given, so the app was played as http:\/\/localhost \(inject's host\): the cookies' site and Secure verdicts were judged for that origin\./)
  t.equal(result.setCookies[0]?.engines.chromium.stored, true, 'Secure over http://localhost is allowed')
  const absolute = await corsCheck(server, { origin: 'http://localhost:3000', method: 'POST', url: 'http://localhost/session', credentials: true })
  t.equal(absolute.apiOriginNote, null, 'an absolute URL names the origin')
})

t.test('a cookie set on a redirect is judged at the redirect\'s URL; one on a preflight is never stored; one on a refused answer is', async (t) => {
  const server = await app()
  const login = await corsCheck(server, { origin: PAGE, url: '/login', credentials: true, apiOrigin: API })
  t.same(login.setCookies.map((c) => [c.name, c.from, c.url, c.engines.firefox.stored]), [['hop', 'redirect', `${API}/login`, true]])
  t.same(login.response?.json(), { cookie: null }, 'corsCheck does not carry a cookie set on the way to the next request')

  const put = await corsCheck(server, { origin: PAGE, method: 'PUT', url: '/pf', credentials: true, apiOrigin: API })
  t.same(put.setCookies.map((c) => [c.name, c.from, c.engines.chromium.stored, c.engines.firefox.stored]), [['pf', 'preflight', false, false]])
  t.match(put.setCookies[0]?.fix, /^Set the cookie on the actual response, not on the preflight/)

  const refused = await corsCheck(server, { origin: PAGE, url: '/refused', credentials: true, apiOrigin: API })
  t.equal(refused.ok, false)
  t.same(refused.setCookies.map((c) => [c.name, c.engines.chromium.stored, c.engines.chromium.sentBack]), [['r', true, true]])
  t.match(refused.setCookies[0]?.engines.chromium.reason, /the CORS check refused the response, but the browser stores its cookies before that check/)

  const loop = await corsCheck(server, { origin: PAGE, url: '/loop/0', credentials: true, apiOrigin: API })
  t.match(loop.reason, /one more than the 20/)
  t.equal(loop.setCookies.length, 21, 'the cookie of every redirect received')
  t.notMatch(loop.setCookies[20]?.engines.chromium.reason, /CORS check refused/, 'a redirect the browser stops at is not a CORS refusal')
})

t.test('without credentials nothing is stored, and the `cookies` input is not sent', async (t) => {
  const server = await app()
  const result = await corsCheck(server, { origin: PAGE, method: 'POST', url: '/session', apiOrigin: API, cookies: { sid: 'x' } })
  t.same(result.setCookies.map((c) => [c.engines.chromium.stored, c.engines.firefox.stored]), [[false, false], [false, false]])
  t.match(result.setCookies[0]?.fix, /^Call fetch\(\) with credentials: 'include'/)
  const me = await corsCheck(server, { origin: PAGE, url: '/me', apiOrigin: API, cookies: { sid: 'x' } })
  t.same(me.response?.json(), { cookie: null })
})

t.test('the `cookies` input keeps its meaning: sent as given with credentials, whatever the sites; corsCheck judges only what the app sets', async (t) => {
  const server = await app()
  const result = await corsCheck(server, { origin: 'https://app.other.test', url: '/me', credentials: true, apiOrigin: API, cookies: { sid: 'x', theme: 'y' } })
  t.same(result.response?.json(), { cookie: 'sid=x; theme=y' }, 'a cross-site page, yet the cookies given are sent: they are what the browser holds')
  t.same(result.setCookies, [])
})
