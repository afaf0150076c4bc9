import t from 'tap'
import { APP, EVIL, PREFLIGHT_VARY, build, corsHeaders, preflight } from '../helpers.ts'

// Vary: Origin on every response of an origin-dependent route (rule 4), merged with the
// application's own tokens, never overwriting them (rule 5).

t.test('rule 4: every response of an origin-dependent route says Vary: Origin, whoever asked', async (t) => {
  const app = await build({
    policies: {
      list: { origins: [APP] },
      pattern: { origins: ['https://*.example.com'] },
      regexp: { origins: /^https:\/\/[a-z]+\.example\.org$/ },
      fn: { origins: (origin: string) => origin === APP },
      nullOnly: { origins: ['null'] },
    },
  }, (app) => {
    for (const name of ['list', 'pattern', 'regexp', 'fn', 'nullOnly']) {
      app.get(`/${name}`, { config: { cors: name } }, async () => name)
      app.get(`/${name}/fail`, { config: { cors: name } }, async () => { throw new Error('fail') })
    }
  })
  t.teardown(() => app.close())

  for (const name of ['list', 'pattern', 'regexp', 'fn', 'nullOnly']) {
    for (const url of [`/${name}`, `/${name}/fail`]) {
      for (const origin of [undefined, APP, EVIL, 'null', 'not an origin']) {
        const res = await app.inject({ url, headers: origin === undefined ? {} : { origin } })
        t.equal(res.headers.vary, 'Origin', `${url} from ${origin ?? 'no origin'}`)
      }
    }
  }
})

t.test('rule 4: a public policy adds no Vary: Origin, allowed or not', async (t) => {
  const app = await build({ default: { origins: '*' } }, (app) => {
    app.get('/public', async () => 'public')
  })
  t.teardown(() => app.close())

  for (const origin of [undefined, APP, 'null', 'not an origin']) {
    const res = await app.inject({ url: '/public', headers: origin === undefined ? {} : { origin } })
    t.equal(res.headers.vary, undefined, `from ${origin ?? 'no origin'}`)
  }
})

t.test('rule 4: a route without CORS gets no Vary from the plugin', async (t) => {
  const app = await build({ default: { origins: [APP] } }, (app) => {
    app.get('/admin', { config: { cors: false } }, async () => 'admin')
  })
  t.teardown(() => app.close())

  const res = await app.inject({ url: '/admin', headers: { origin: APP } })
  t.strictSame(corsHeaders(res.headers), {})
})

t.test('rule 5: Vary is merged with the tokens the application sets, each once', async (t) => {
  const app = await build({ default: { origins: [APP] } }, (app) => {
    app.get('/handler', async (_request, reply) => {
      reply.header('vary', 'Accept-Encoding')
      return 'handler'
    })
    app.get('/list', async (_request, reply) => {
      reply.header('Vary', 'Accept, Accept-Language')
      return 'list'
    })
    app.get('/array', async (_request, reply) => {
      reply.header('vary', ['Accept', 'Accept-Encoding'])
      return 'array'
    })
    app.get('/same', async (_request, reply) => {
      reply.header('vary', 'origin')
      return 'same token, other case'
    })
    app.get('/repeated', async (_request, reply) => {
      reply.header('vary', 'Accept, accept,ORIGIN , Cookie')
      return 'repeated'
    })
    app.get('/star', async (_request, reply) => {
      reply.header('vary', '*')
      return 'star'
    })
    app.get('/star-in-list', async (_request, reply) => {
      reply.header('vary', 'Accept, *')
      return 'star in a list'
    })
    app.get('/empty-items', async (_request, reply) => {
      reply.header('vary', ' , Accept,, ')
      return 'empty items'
    })
    app.get('/hook', {
      onSend: async (_request, reply) => { reply.header('vary', 'Cookie') },
    }, async () => 'route hook')
    app.register(async (child) => {
      // Like a compression plugin: an instance onSend hook.
      child.addHook('onSend', async (_request, reply) => { reply.header('vary', 'Accept-Encoding') })
      child.get('/instance-hook', async () => 'instance hook')
    })
  })
  t.teardown(() => app.close())

  const table: Array<[string, string]> = [
    ['/handler', 'Accept-Encoding, Origin'],
    ['/list', 'Accept, Accept-Language, Origin'],
    ['/array', 'Accept, Accept-Encoding, Origin'],
    ['/same', 'origin'],
    ['/repeated', 'Accept, ORIGIN, Cookie'],
    ['/star', '*'],
    ['/star-in-list', '*'],
    ['/empty-items', 'Accept, Origin'],
    ['/hook', 'Cookie, Origin'],
    ['/instance-hook', 'Accept-Encoding, Origin'],
  ]
  for (const [url, vary] of table) {
    for (const origin of [APP, EVIL, undefined]) {
      const res = await app.inject({ url, headers: origin === undefined ? {} : { origin } })
      t.equal(res.statusCode, 200, url)
      t.equal(res.headers.vary, vary, `${url} from ${origin ?? 'no origin'}`)
    }
  }
  // The same merge twice gives the same answer (merges are cached).
  t.equal((await app.inject({ url: '/handler', headers: { origin: APP } })).headers.vary, 'Accept-Encoding, Origin')
})

t.test('rule 5: many distinct Vary values are all merged correctly', async (t) => {
  const app = await build({ default: { origins: [APP] } }, (app) => {
    app.get('/echo', async (request, reply) => {
      reply.header('vary', `X-Token-${(request.query as { n: string }).n}`)
      return 'echo'
    })
  })
  t.teardown(() => app.close())

  // More distinct values than the merge cache holds, then the first ones again.
  const wrong: string[] = []
  for (const n of [...Array.from({ length: 300 }, (_, i) => i), 0, 1]) {
    const res = await app.inject({ url: `/echo?n=${n}`, headers: { origin: APP } })
    if (res.headers.vary !== `X-Token-${n}, Origin`) wrong.push(`n=${n}: ${String(res.headers.vary)}`)
  }
  t.strictSame(wrong, [], 'each response kept its own token and Origin')
})

t.test('rule 5: the application\'s Vary survives on a refused and on a public response', async (t) => {
  const app = await build({ policies: { public: { origins: '*' } }, default: { origins: [APP] } }, (app) => {
    app.get('/public', { config: { cors: 'public' } }, async (_request, reply) => {
      reply.header('vary', 'Accept-Encoding')
      return 'public'
    })
    app.get('/private', async (_request, reply) => {
      reply.header('vary', 'Accept-Encoding')
      return 'private'
    })
  })
  t.teardown(() => app.close())

  const pub = await app.inject({ url: '/public', headers: { origin: APP } })
  t.strictSame(corsHeaders(pub.headers), { 'access-control-allow-origin': '*', vary: 'Accept-Encoding' })
  const refused = await app.inject({ url: '/private', headers: { origin: EVIL } })
  t.strictSame(corsHeaders(refused.headers), { vary: 'Accept-Encoding, Origin' })
})

t.test('rule 10 and 11: preflights say Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers', async (t) => {
  const app = await build({ policies: { public: { origins: '*' } }, default: { origins: [APP] } }, (app) => {
    app.put('/private', async () => 'private')
    app.put('/public', { config: { cors: 'public' } }, async () => 'public')
  })
  t.teardown(() => app.close())

  const table: Array<[string, ReturnType<typeof preflight>, number, string]> = [
    ['allowed', preflight('/private', APP, 'PUT'), 204, PREFLIGHT_VARY],
    ['refused origin', preflight('/private', EVIL, 'PUT'), 403, PREFLIGHT_VARY],
    ['refused header', preflight('/private', APP, 'PUT', 'x-a'), 403, PREFLIGHT_VARY],
    ['no route for the method', preflight('/private', APP, 'POST'), 403, PREFLIGHT_VARY],
    ['public, allowed', preflight('/public', APP, 'PUT'), 204, 'Access-Control-Request-Method, Access-Control-Request-Headers'],
    ['public, refused', preflight('/public', APP, 'PUT', 'x-a'), 403, 'Access-Control-Request-Method, Access-Control-Request-Headers'],
  ]
  for (const [name, request, status, vary] of table) {
    const res = await app.inject(request)
    t.equal(res.statusCode, status, name)
    t.equal(res.headers.vary, vary, name)
  }
})
