import t from 'tap'
import { APP, EVIL, PREFLIGHT_VARY, build, corsHeaders, preflight } from './helpers.ts'

t.test('rule 8: a preflight is judged by the route the actual request will hit', async (t) => {
  const app = await build({ policies: { public: { origins: '*' }, app: { origins: [APP], credentials: true } } }, (app) => {
    app.get('/users/me', { config: { cors: 'public' } }, async () => 'me')
    app.delete('/users/:id', { config: { cors: 'app' } }, async () => 'deleted')
  })
  t.teardown(() => app.close())

  const del = await app.inject(preflight('/users/me', APP, 'DELETE'))
  t.equal(del.statusCode, 204)
  t.same(corsHeaders(del.headers), {
    'access-control-allow-origin': APP,
    'access-control-allow-credentials': 'true',
    'access-control-allow-methods': 'DELETE',
    vary: PREFLIGHT_VARY,
  })

  const refused = await app.inject(preflight('/users/me', EVIL, 'DELETE'))
  t.equal(refused.statusCode, 403)
  t.equal(refused.body, '')
  t.same(corsHeaders(refused.headers), { vary: PREFLIGHT_VARY })
})
