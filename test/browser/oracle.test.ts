// corsCheck (fastify-cors-policy/testing) plays the browser's part with inject. This file holds it to
// the real thing: each case runs as a fetch() in Chromium and through corsCheck against the same app,
// and both must agree on whether the page could read the response, and which headers it could read.
import t from 'tap'
import Fastify from 'fastify'
import type { AddressInfo } from 'node:net'
import cors from '../../lib/index.ts'
import { corsCheck, type CorsCheckRequest } from '../../lib/testing.ts'
import { launchBrowser, openPage, pageFetch, startPageServer } from './harness.ts'

const browser = await launchBrowser(t)
if (browser !== null) {
  const { origin: PAGE, otherOrigin: OTHER } = await startPageServer(t)
  const pages = { [PAGE]: await openPage(browser, PAGE), [OTHER]: await openPage(browser, OTHER) }

  const app = Fastify()
  await app.register(cors, {
    policies: {
      mine: { origins: [PAGE] },
      credentialed: { origins: [PAGE], credentials: true, allowHeaders: ['content-type', 'authorization'], exposeHeaders: ['x-id'] },
      public: { origins: '*', exposeHeaders: ['x-id'] },
      anyHeader: { origins: [PAGE], allowHeaders: ['*'] },
    },
  })
  const withHeaders = async (_request: unknown, reply: { header: (n: string, v: string) => unknown, send: (b: string) => unknown }) => {
    reply.header('x-id', 'id-1')
    reply.header('x-hidden', 'h-1')
    return reply.send('ok')
  }
  app.get('/o/simple', { config: { cors: 'mine' } }, async () => 'simple')
  app.get('/o/public', { config: { cors: 'public' } }, withHeaders)
  app.post('/o/json', { config: { cors: 'credentialed' } }, withHeaders)
  app.put('/o/put', { config: { cors: 'mine' } }, async () => 'put')
  app.patch('/o/patch', { config: { cors: 'mine' } }, async () => 'patch')
  app.delete('/o/any', { config: { cors: 'anyHeader' } }, async () => 'deleted')
  app.get('/o/off', { config: { cors: false } }, async () => 'off')
  app.get('/o/exposed', { config: { cors: 'credentialed' } }, withHeaders)
  app.get('/o/error', { config: { cors: 'mine' } }, async () => { throw new Error('boom') })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const API = `http://localhost:${(app.server.address() as AddressInfo).port}`

  type Case = [name: string, page: string, request: Omit<CorsCheckRequest, 'origin'>]
  const json = { 'content-type': 'application/json' }
  const cases: Case[] = [
    ['simple GET from the listed origin', PAGE, { url: '/o/simple' }],
    ['simple GET from another origin', OTHER, { url: '/o/simple' }],
    ['public GET', OTHER, { url: '/o/public' }],
    ['public GET with credentials', PAGE, { url: '/o/public', credentials: true }],
    ['JSON POST, no credentials', PAGE, { method: 'POST', url: '/o/json', headers: json, body: '{}' }],
    ['JSON POST with credentials', PAGE, { method: 'POST', url: '/o/json', headers: json, body: '{}', credentials: true }],
    ['text/plain POST is simple', OTHER, { method: 'POST', url: '/o/json', headers: { 'content-type': 'text/plain' }, body: 'x' }],
    ['POST with authorization, listed', PAGE, { method: 'POST', url: '/o/json', headers: { authorization: 'Bearer t' }, credentials: true }],
    ['PUT from the listed origin', PAGE, { method: 'PUT', url: '/o/put' }],
    ['PUT from another origin', OTHER, { method: 'PUT', url: '/o/put' }],
    ['PATCH in upper case', PAGE, { method: 'PATCH', url: '/o/patch' }],
    ['patch in lower case is sent as written', PAGE, { method: 'patch', url: '/o/patch' }],
    ['DELETE with a custom header under *', PAGE, { method: 'DELETE', url: '/o/any', headers: { 'x-custom': '1' } }],
    ['DELETE with authorization under *', PAGE, { method: 'DELETE', url: '/o/any', headers: { authorization: 'Bearer t' } }],
    ['a route with CORS off', PAGE, { url: '/o/off' }],
    ['exposed and hidden headers', PAGE, { url: '/o/exposed', credentials: true }],
    ['a safelisted request header', PAGE, { url: '/o/simple', headers: { 'accept-language': 'en-US' } }],
    ['a custom request header on a simple route', PAGE, { url: '/o/simple', headers: { 'x-custom': '1' } }],
    ['a 500 from an allowed origin', PAGE, { url: '/o/error' }],
    ['a 404 from an allowed origin on a path without a default', PAGE, { url: '/o/nowhere' }],
  ]
  const read = ['x-id', 'x-hidden', 'content-type']

  t.test('Chromium and corsCheck agree on every case', async (t) => {
    for (const [name, origin, request] of cases) {
      const init: Record<string, unknown> = { method: request.method ?? 'GET', headers: request.headers ?? {} }
      if (request.body !== undefined) init.body = request.body
      if (request.credentials === true) init.credentials = 'include'
      const seen = await pageFetch(pages[origin]!, API + request.url, init, read)
      const oracle = await corsCheck(app, { ...request, origin })
      t.equal(oracle.ok, seen.ok, `${name}: corsCheck says ${oracle.ok ? 'readable' : `refused (${oracle.reason})`}, Chromium ${seen.ok ? 'read it' : 'refused it'}`)
      if (seen.ok && oracle.ok) {
        for (const header of read) {
          t.equal(oracle.exposedHeaders.includes(header) && oracle.response?.headers[header] !== undefined, seen.headers?.[header] != null, `${name}: ${header} readable by both or by neither`)
        }
      }
    }
  })
}
