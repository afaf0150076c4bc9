// The playground's API: its CORS policies and routes, declared as an application would declare them.
import type { FastifyInstance } from 'fastify'
import cors from 'fastify-cors-policy'

export async function api (app: FastifyInstance, { pageOrigin }: { pageOrigin: string }): Promise<void> {
  await app.register(cors, {
    // Routes that name no policy are public.
    default: 'public',
    policies: {
      // Anyone may read; no cookies.
      public: { origins: '*' },
      // The playground page: with its cookies, sending JSON, reading x-request-id.
      app: { origins: [pageOrigin], credentials: true, allowHeaders: ['content-type'], exposeHeaders: ['x-request-id'] },
      // Partner sites: an API key header, a readable rate limit, preflights cached for ten minutes.
      partners: {
        origins: ['https://*.partner.example'],
        allowHeaders: ['content-type', 'x-api-key'],
        exposeHeaders: ['x-rate-limit-remaining'],
        maxAge: 600,
      },
    },
  })

  app.get('/hello', async () => ({ hello: 'world' }))

  app.post<{ Body: { item: string, qty: number } }>('/orders', { config: { cors: 'app' } }, async (request, reply) => {
    return reply.code(201).send({ id: 42, ...request.body })
  })

  app.get('/orders/:id', { config: { cors: 'app' } }, async (_request, reply) => {
    reply.header('x-request-id', 'req-7f3a').header('x-trace-id', 'internal-91c2')
    return { id: 42, status: 'shipped' }
  })

  app.post('/session', { config: { cors: 'app' } }, async (_request, reply) => {
    const user = `guest-${Math.random().toString(36).slice(2, 6)}`
    reply.header('set-cookie', `playground_session=${user}; Path=/; SameSite=Lax; HttpOnly; Max-Age=3600`)
    return { signedIn: user }
  })

  app.get('/me', { config: { cors: 'app' } }, async (request, reply) => {
    const user = /(?:^|;\s*)playground_session=([^;]+)/.exec(request.headers.cookie ?? '')?.[1]
    return user === undefined ? reply.code(401).send({ error: 'no session cookie' }) : { user }
  })

  app.get('/partners/catalog', { config: { cors: 'partners' } }, async () => ({ items: ['tea', 'kettle'] }))

  // One path, a policy per method: anyone may read an item, the page may change it,
  // only the admin site may delete it. Each preflight is judged by the route of its method.
  app.get('/items/:id', async () => ({ id: 7, name: 'kettle' }))
  app.put('/items/:id', { config: { cors: 'app' } }, async (request) => request.body)
  app.delete('/items/:id', { config: { cors: { origins: ['https://admin.example'] } } }, async (_request, reply) => reply.code(204).send())

  // Server to server only: no browser page may read it.
  app.get('/internal/metrics', { config: { cors: false } }, async () => ({ uptime: process.uptime() }))
}
