import { createRequire } from 'node:module'
import t from 'tap'
import Fastify from 'fastify'
import cors, { CorsPolicyError } from '../lib/index.ts'
import { APP } from './helpers.ts'

// The Public Suffix List (tldts, ~1 MB of heap) is needed only to check subdomain patterns and
// RegExps: it is released once the app is ready, loaded again by a check that needs it later, and
// kept from then on. The list's state is the process's, so these steps run in order in a file of
// their own.

const loaded = (): boolean => Object.keys(createRequire(import.meta.url).cache).some((file) => /[\\/]node_modules[\\/]tldts[\\/]/.test(file))

t.test('the suffix list is loaded for the startup checks, released at ready, and kept once a later check needs it', async (t) => {
  const plain = Fastify()
  await plain.register(cors, { policies: { web: { origins: [APP] } } })
  await plain.ready()
  t.teardown(() => plain.close())
  t.equal(loaded(), false, 'exact origins never load it')

  const app = Fastify()
  await app.register(cors, { policies: { web: { origins: [APP, 'https://*.partner.example'] } }, default: 'web' })
  app.get('/', async () => 'ok')
  t.equal(loaded(), true, 'a subdomain pattern loads it for its check')
  await app.ready()
  t.teardown(() => app.close())
  t.equal(loaded(), false, 'released once the app is ready')
  const answer = await app.inject({ url: '/', headers: { origin: 'https://eu.partner.example' } })
  t.equal(answer.headers['access-control-allow-origin'], 'https://eu.partner.example', 'requests under the pattern do not need it')

  // A check after the release still refuses a pattern over a public suffix: the list is loaded again.
  t.throws(() => app.corsPolicies.replace('web', { origins: ['https://*.co.uk'] }), CorsPolicyError)
  t.equal(loaded(), true, 'loaded again by corsPolicies.replace')
  app.corsPolicies.replace('web', { origins: ['https://*.tenant.example'] })
  t.equal((await app.inject({ url: '/', headers: { origin: 'https://a.tenant.example' } })).headers['access-control-allow-origin'], 'https://a.tenant.example')

  const later = Fastify()
  await later.register(cors, { default: { origins: ['https://*.other.example'] } })
  await later.ready()
  t.teardown(() => later.close())
  t.equal(loaded(), true, 'kept from then on: a later ready does not release it again')
})
