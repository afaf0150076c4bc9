import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import cors, { type CorsPolicy } from '../../lib/index.ts'
import { APP, PREFLIGHT_VARY, build, corsHeaders, logCapture, preflight } from '../helpers.ts'

// Origin matching at request time (rules 15 to 18): each origin is tried as an actual request
// and as a preflight, and both must agree.

/** An app with one route, `/r` (GET and PUT), under `policy`. */
async function appFor (t: Test, policy: CorsPolicy, logger?: object): Promise<FastifyInstance> {
  const app = await build({ default: policy }, (app) => {
    app.route({ method: ['GET', 'PUT'], url: '/r', handler: async () => 'r' })
  }, logger === undefined ? {} : { logger })
  t.teardown(() => app.close())
  return app
}

/**
 * Asserts that `origin` is allowed (answered with `answer`) or refused, for an actual request and a
 * preflight. `actualAnswer` differs only under a public policy, which answers every actual request with * (rule 3).
 */
async function expectOrigin (t: Test, app: FastifyInstance, origin: string | string[], answer: string | null, name = JSON.stringify(origin), actualAnswer = answer): Promise<void> {
  const actual = await app.inject({ method: 'GET', url: '/r', headers: { origin } as Record<string, string> })
  t.equal(actual.statusCode, 200, `${name}: actual request handled`)
  t.equal(actual.headers['access-control-allow-origin'], actualAnswer ?? undefined, `${name}: actual request`)
  if (actualAnswer === null) t.strictSame(Object.keys(corsHeaders(actual.headers)).filter((h) => h !== 'vary'), [], `${name}: no Access-Control-* at all`)

  const pre = await app.inject({ method: 'OPTIONS', url: '/r', headers: { origin, 'access-control-request-method': 'PUT' } as Record<string, string> })
  t.equal(pre.statusCode, answer === null ? 403 : 204, `${name}: preflight status`)
  t.equal(pre.headers['access-control-allow-origin'], answer ?? undefined, `${name}: preflight`)
}

async function expectTable (t: Test, app: FastifyInstance, table: ReadonlyArray<readonly [string, boolean]>): Promise<void> {
  for (const [origin, allowed] of table) await expectOrigin(t, app, origin, allowed ? origin : null)
}

t.test('rule 15: exact origins match only their exact serialized form', async (t) => {
  const app = await appFor(t, { origins: ['https://example.com', 'http://localhost:3000', 'http://[::1]:8080', 'http://127.0.0.1:5173'] })
  await expectTable(t, app, [
    ['https://example.com', true],
    ['https://EXAMPLE.com', false],
    ['HTTPS://example.com', false],
    ['https://example.com/', false],
    ['https://example.com/path', false],
    ['https://example.com.evil.io', false],
    ['https://evil-example.com', false],
    ['https://evilexample.com', false],
    ['https://a.example.com', false],
    ['http://example.com', false],
    ['https://example.com:8443', false],
    ['https://example.com:443', false],
    ['https://example.co', false],
    ['https://example.com.', false],
    ['https://user@example.com', false],
    ['https://example.com?', false],
    ['https://example.com#', false],
    [' https://example.com', false],
    ['https://example.com ', false],
    ['//example.com', false],
    ['example.com', false],
    ['http://localhost:3000', true],
    ['http://localhost:3001', false],
    ['http://localhost', false],
    ['http://[::1]:8080', true],
    ['http://[::1]', false],
    ['http://[0:0:0:0:0:0:0:1]:8080', false],
    ['http://127.0.0.1:5173', true],
    ['http://127.0.0.1', false],
  ])
  t.strictSame(corsHeaders((await app.inject({ method: 'GET', url: '/r', headers: { origin: 'https://example.com' } })).headers), {
    'access-control-allow-origin': 'https://example.com',
    vary: 'Origin',
  })
})

t.test('rule 16: https://*.example.com matches subdomains at any depth, and nothing else', async (t) => {
  const app = await appFor(t, { origins: ['https://*.example.com', 'http://*.dev.example.net:8080'] })
  await expectTable(t, app, [
    ['https://a.example.com', true],
    ['https://a.b.example.com', true],
    ['https://a.b.c.d.example.com', true],
    ['https://xn--bcher-kva.example.com', true],
    ['https://a-b.example.com', true],
    ['https://example.com', false],
    ['https://.example.com', false],
    ['https://a..example.com', false],
    ['https://..example.com', false],
    ['http://a.example.com', false],
    ['wss://a.example.com', false],
    ['https://a.example.com:8443', false],
    ['https://a.example.com:443', false],
    ['https://a.example.com.evil.io', false],
    ['https://a.example.com/', false],
    ['https://aexample.com', false],
    ['https://evil-example.com', false],
    ['https://A.example.com', false],
    ['https://a.EXAMPLE.com', false],
    ['https://evil.io/.example.com', false],
    ['https://evil.io?.example.com', false],
    ['https://evil.io#.example.com', false],
    ['https://evil.io@a.example.com', false],
    ['https://evil.io:1.example.com', false],
    ['https://a b.example.com', false],
    ['https://a%2e.example.com', false],
    ['https://*.example.com', false],
    ['https://a.example.com, https://b.example.com', false],
    ['http://a.dev.example.net:8080', true],
    ['http://a.b.dev.example.net:8080', true],
    ['http://a.dev.example.net', false],
    ['http://a.dev.example.net:8081', false],
    ['http://a.dev.example.net:80800', false],
    ['https://a.dev.example.net:8080', false],
    ['http://dev.example.net:8080', false],
  ])
})

t.test('rule 16: http://localhost:* matches localhost on any port, with no port, and nothing else', async (t) => {
  const app = await appFor(t, { origins: ['http://localhost:*', 'http://[::1]:*'] })
  await expectTable(t, app, [
    ['http://localhost', true],
    ['http://localhost:3000', true],
    ['http://localhost:1', true],
    ['http://localhost:65535', true],
    ['http://localhost:80', false],
    ['http://localhost:65536', false],
    ['http://localhost:99999', false],
    ['http://localhost:03000', false],
    ['http://localhost:', false],
    ['http://localhost:3000:4000', false],
    ['http://localhost:3000/', false],
    ['http://localhost:30a0', false],
    ['http://localhost:+300', false],
    ['http://localhost:*', false],
    ['https://localhost:3000', false],
    ['https://localhost', false],
    ['http://localhost.evil.io:3000', false],
    ['http://a.localhost:3000', false],
    ['http://localhostx:3000', false],
    ['http://127.0.0.1:3000', false],
    ['http://[::1]', true],
    ['http://[::1]:5173', true],
    ['http://[::1]:80', false],
    ['http://[::2]:5173', false],
  ])
})

t.test('rule 16: http://*.localhost:* matches loopback subdomains on any port, not the apex', async (t) => {
  const app = await appFor(t, { origins: ['http://*.localhost:*', 'https://*.localhost'], credentials: true })
  await expectTable(t, app, [
    ['http://a.localhost', true],
    ['http://a.localhost:5173', true],
    ['http://a.b.localhost:5173', true],
    ['http://a.localhost:65535', true],
    ['http://localhost:5173', false],
    ['http://localhost', false],
    ['http://a.localhost:99999', false],
    ['http://a.localhost:80', false],
    ['http://a.localhost:05173', false],
    ['http://a.localhost:', false],
    ['http://a.localhost:5173:1', false],
    ['http://a.localhost.evil.io', false],
    ['http://a.localhost.evil.io:5173', false],
    ['http://alocalhost:5173', false],
    ['http://a..localhost:5173', false],
    ['http://.localhost:5173', false],
    ['http://a b.localhost:5173', false],
    ['https://a.localhost', true],
    ['https://a.localhost:5173', false],
    ['https://localhost', false],
  ])
  const res = await app.inject({ method: 'GET', url: '/r', headers: { origin: 'http://a.localhost:3000' } })
  t.equal(res.headers['access-control-allow-credentials'], 'true', 'credentials: loopback needs no https')
  t.equal(app.corsPolicyReport()[0]?.origins, 'http://*.localhost:*, https://*.localhost', 'the report shows the entries as written')

  const https = await appFor(t, { origins: ['https://*.localhost:*'] })
  await expectTable(t, https, [
    ['https://a.localhost', true],
    ['https://a.b.localhost:8443', true],
    ['https://a.localhost:443', false],
    ['http://a.localhost:8443', false],
    ['https://localhost:8443', false],
  ])
})

t.test('rule 16: a RegExp is matched against the whole origin, so a top-level | cannot escape its anchors', async (t) => {
  // Unwrapped, the first branch would also match https://a.example.com.evil.io and the second
  // branch any origin ending in .trusted.com.
  const app = await appFor(t, { origins: /^https:\/\/a\.example\.com|\.trusted\.com$/ })
  await expectTable(t, app, [
    ['https://a.example.com', true],
    ['https://a.example.com.evil.io', false],
    ['https://evil.trusted.com', false],
    ['https://a.example.com/.trusted.com', false],
  ])
})

t.test('rule 16: RegExp items inside a list sit beside exact origins and patterns', async (t) => {
  const app = await appFor(t, {
    origins: ['https://app.example.com', 'https://*.partner.example', /^https:\/\/tenant-\d+\.saas\.example$/, /^null|https:\/\/x\.example$/],
  })
  await expectTable(t, app, [
    ['https://app.example.com', true],
    ['https://a.partner.example', true],
    ['https://tenant-42.saas.example', true],
    ['https://tenant-x.saas.example', false],
    ['https://tenant-42.saas.example.evil.io', false],
    ['https://x.example', true],
    ['https://x.example.evil', false],
    // A RegExp never sees the opaque origin, nor a malformed one.
    ['null', false],
    ['https://tenant-42.saas.example, https://app.example.com', false],
    ['https://TENANT-42.saas.example', false],
  ])
})

t.test('rule 16: a RegExp with the i flag still only sees origins in serialized (lower-case) form', async (t) => {
  const app = await appFor(t, { origins: /^https:\/\/app\.example\.com$/i })
  await expectTable(t, app, [
    ['https://app.example.com', true],
    ['https://APP.example.com', false],
    ['HTTPS://app.example.com', false],
  ])
})

t.test('rule 17: the null origin matches only a policy that lists it, or a public one (answered with *)', async (t) => {
  const listed = await appFor(t, { origins: ['null', APP] })
  await expectOrigin(t, listed, 'null', 'null')
  await expectOrigin(t, listed, APP, APP)
  await expectOrigin(t, listed, 'NULL', null)
  await expectOrigin(t, listed, 'null ', null)

  const unlisted = await appFor(t, { origins: [APP, 'https://*.example.com', 'http://localhost:*'] })
  await expectOrigin(t, unlisted, 'null', null)

  const publicApp = await appFor(t, { origins: '*' })
  await expectOrigin(t, publicApp, 'null', '*')
  t.strictSame(corsHeaders((await publicApp.inject({ method: 'GET', url: '/r', headers: { origin: 'null' } })).headers), {
    'access-control-allow-origin': '*',
  })

  let called = 0
  const fnApp = await appFor(t, { origins: () => { called++; return true } })
  await expectOrigin(t, fnApp, 'null', null)
  t.equal(called, 0, 'an origin function is never asked about null')
})

t.test('rule 17: a credentialed policy listing null gets it echoed back', async (t) => {
  // 'null' with credentials is a startup error; without, the echo is the literal "null".
  const app = await appFor(t, { origins: ['null'], exposeHeaders: ['x-id'] })
  const res = await app.inject({ method: 'GET', url: '/r', headers: { origin: 'null' } })
  t.strictSame(corsHeaders(res.headers), { 'access-control-allow-origin': 'null', 'access-control-expose-headers': 'x-id', vary: 'Origin' })
})

t.test('a public policy answers * for any origin in serialized form, custom schemes included', async (t) => {
  const app = await appFor(t, { origins: '*' })
  for (const origin of ['https://a.example', 'http://localhost:3000', 'capacitor://localhost', 'chrome-extension://abcdefghijklmnop', 'http://[::1]:3000', 'http://127.0.0.1']) {
    await expectOrigin(t, app, origin, '*')
  }
})

t.test('rule 18: IP addresses are allowed only in the form browsers send', async (t) => {
  const app = await appFor(t, { origins: '*' })
  const table: Array<[string, boolean]> = [
    ['http://127.0.0.1', true],
    ['http://127.0.0.1:8080', true],
    ['http://10.0.0.255', true],
    ['http://[::1]', true],
    ['http://[2001:db8::1]:8443', true],
    ['http://[::ffff:127.0.0.1]', false],
    ['http://[0:0:0:0:0:0:0:1]', false],
    ['http://[::1::]', false],
    ['http://[:::1]', false],
    ['http://[2001:DB8::1]', false],
    ['http://127.1', false],
    ['http://127.0.0.01', false],
    ['http://0x7f.0.0.1', false],
    ['http://1.2.3.4.5', false],
    ['http://256.0.0.1', false],
    ['http://1.2.3.a4', true],
    ['http://a.1.2.3', false],
    ['http://1.2.3.4a', true],
  ]
  for (const [origin, allowed] of table) await expectOrigin(t, app, origin, allowed ? '*' : null, origin, '*')
})

t.test('rule 18: malformed Origin values are not allowed, never an exception or a 500', async (t) => {
  const { logger, lines } = logCapture('error')
  let called = 0
  const apps: Array<[string, FastifyInstance]> = [
    ['exact list', await appFor(t, { origins: [APP, 'http://localhost:3000'] }, logger)],
    ['subdomain pattern', await appFor(t, { origins: ['https://*.example.com'] }, logger)],
    ['any port', await appFor(t, { origins: ['http://localhost:*'] }, logger)],
    // Loose after the host, so that only the serialized-form check keeps malformed values from it.
    ['RegExp', await appFor(t, { origins: /^(?:https:\/\/app\.example\.com|http:\/\/localhost)(?:[^a-z0-9._-][\s\S]*)?$/ }, logger)],
    ['public', await appFor(t, { origins: '*' }, logger)],
    ['function', await appFor(t, { origins: () => { called++; return true } }, logger)],
  ]
  const malformed: Array<[string, string | string[]]> = [
    ['two Origin values', `${APP}, ${APP}`],
    ['two Origin values, second allowed', `https://evil.example, ${APP}`],
    ['two Origin headers', [APP, APP]],
    ['two Origin values without space', `${APP},${APP}`],
    ['a comma', 'https://app.example.com,'],
    ['a space inside', 'https://app .example.com'],
    ['a tab', 'https://app.example.com\t'],
    ['a NUL', 'https://app.example.com\u0000'],
    ['a newline', 'https://app.example.com\n'],
    ['DEL', 'https://app.example.com\u007f'],
    ['non-ASCII host', 'https://äpp.example.com'],
    ['non-ASCII subdomain', 'https://ä.example.com'],
    ['empty host label', 'https://a..example.com'],
    ['empty first label', 'https://.example.com'],
    ['empty host', 'https://'],
    ['port above 65535', 'http://localhost:65536'],
    ['huge port', 'http://localhost:99999999999'],
    ['port with a sign', 'http://localhost:-1'],
    ['empty port', 'http://localhost:'],
    ['default port written out', 'http://localhost:80'],
    ['upper-case scheme', 'HTTP://localhost:3000'],
    ['no scheme', 'localhost:3000'],
    ['a path', 'http://localhost:3000/x'],
    ['user info', 'http://u@localhost:3000'],
    ['unbalanced bracket', 'http://[::1:3000'],
    ['bad IPv6 characters', 'http://[::g]:3000'],
    ['an empty value', ''],
    ['a lone *', '*'],
    ['over 2 KiB', 'https://' + 'a'.repeat(2041) + '.example.com'],
    ['over 2 KiB on localhost', 'http://localhost:' + '1'.repeat(2048)],
  ]
  for (const [appName, app] of apps) {
    for (const [what, origin] of malformed) await expectOrigin(t, app, origin, null, `${appName}: ${what}`, appName === 'public' ? '*' : null)
  }
  t.equal(called, 0, 'the origin function is never asked about a malformed origin')
  t.strictSame(lines, [], 'nothing logged at error')

  const exact = apps[0]?.[1] as FastifyInstance
  const max = 'https://' + 'a'.repeat(2048 - 'https://'.length - '.example.com'.length) + '.example.com'
  t.equal(max.length, 2048)
  await expectOrigin(t, apps[1]?.[1] as FastifyInstance, max, max, 'exactly 2 KiB under a pattern')
  await expectOrigin(t, apps[4]?.[1] as FastifyInstance, max, '*', 'exactly 2 KiB under a public policy')
  await expectOrigin(t, exact, max, null, 'a long origin that is not listed')
})

t.test('rule 18: a repeated Origin on a preflight that reaches the plugin as a list is refused', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  // An HTTP layer that keeps repeated headers apart instead of joining them.
  app.addHook('onRequest', async (request) => {
    const raw = request.raw.rawHeaders
    for (const name of ['origin', 'access-control-request-method', 'access-control-request-headers']) {
      const values = raw.filter((value, i) => i % 2 === 1 && raw[i - 1]?.toLowerCase() === name)
      if (values.length > 1) request.headers[name] = values
    }
  })
  await app.register(cors, { default: { origins: [APP], allowHeaders: ['x-a', 'x-b'] } })
  app.put('/r', async () => 'r')
  await app.ready()

  const cases: Array<[string, Record<string, string | string[]>]> = [
    ['two Origin headers', { origin: [APP, APP], 'access-control-request-method': 'PUT' }],
    ['two ACRM headers', { origin: APP, 'access-control-request-method': ['PUT', 'PUT'] }],
    ['two ACRH headers', { origin: APP, 'access-control-request-method': 'PUT', 'access-control-request-headers': ['x-a', 'x-b'] }],
  ]
  for (const [name, headers] of cases) {
    const res = await app.inject({ method: 'OPTIONS', url: '/r', headers })
    t.equal(res.statusCode, 403, name)
    t.strictSame(corsHeaders(res.headers), { vary: PREFLIGHT_VARY }, name)
  }
  const one = await app.inject(preflight('/r', APP, 'PUT', 'x-a, x-b'))
  t.equal(one.statusCode, 204, 'one of each is fine')
})

t.test('custom schemes match as exact origins', async (t) => {
  const app = await appFor(t, { origins: ['capacitor://localhost', 'tauri://localhost', 'chrome-extension://abcdefghijklmnopabcdefghijklmnop', 'ionic://localhost:8100'] })
  await expectTable(t, app, [
    ['capacitor://localhost', true],
    ['tauri://localhost', true],
    ['chrome-extension://abcdefghijklmnopabcdefghijklmnop', true],
    ['ionic://localhost:8100', true],
    ['capacitor://localhost:8080', false],
    ['capacitor://localhost/', false],
    ['CAPACITOR://localhost', false],
    ['capacitor://LOCALHOST', false],
    ['http://localhost', false],
    ['tauri://localhost.evil.io', false],
    ['chrome-extension://otherextensionid', false],
    ['ionic://localhost', false],
  ])
})

t.test('function origins: sync and async answers, only a true answer allows', async (t) => {
  const seen: Array<[string, string]> = []
  const table: Record<string, boolean | Promise<boolean> | unknown> = {
    'https://sync-yes.example': true,
    'https://sync-no.example': false,
    'https://async-yes.example': Promise.resolve(true),
    'https://async-no.example': Promise.resolve(false),
    'https://truthy.example': 1,
    'https://async-truthy.example': Promise.resolve('yes'),
    'https://thenable.example': { then: (resolve: (v: boolean) => void) => resolve(true) },
  }
  const app = await appFor(t, {
    origins: (origin: string, request: FastifyRequest) => {
      seen.push([origin, request.method])
      const answer = table[origin]
      return (answer instanceof Promise ? answer.then((v) => v) : answer) as boolean
    },
    credentials: true,
  })
  await expectOrigin(t, app, 'https://sync-yes.example', 'https://sync-yes.example')
  await expectOrigin(t, app, 'https://sync-no.example', null)
  await expectOrigin(t, app, 'https://async-yes.example', 'https://async-yes.example')
  await expectOrigin(t, app, 'https://async-no.example', null)
  await expectOrigin(t, app, 'https://truthy.example', null, 'a truthy non-boolean is not true')
  await expectOrigin(t, app, 'https://async-truthy.example', null, 'nor when it comes from a promise')
  await expectOrigin(t, app, 'https://thenable.example', 'https://thenable.example', 'a thenable counts as a promise')

  t.strictSame(seen.slice(0, 4), [
    ['https://sync-yes.example', 'GET'],
    ['https://sync-yes.example', 'OPTIONS'],
    ['https://sync-no.example', 'GET'],
    ['https://sync-no.example', 'OPTIONS'],
  ], 'the function gets the origin and the request')

  const res = await app.inject({ method: 'PUT', url: '/r', headers: { origin: 'https://async-yes.example' } })
  t.strictSame(corsHeaders(res.headers), {
    'access-control-allow-origin': 'https://async-yes.example',
    'access-control-allow-credentials': 'true',
    vary: 'Origin',
  }, 'an async yes carries the full header set')
})

t.test('function origins: throwing or rejecting means not allowed, logged at error, never a 500', async (t) => {
  const { logger, lines } = logCapture('error')
  const app = await appFor(t, {
    origins: (origin: string) => {
      if (origin === 'https://throws.example') throw new Error('database down')
      if (origin === 'https://rejects.example') return Promise.reject(new Error('timeout'))
      return true
    },
  }, logger)

  await expectOrigin(t, app, 'https://throws.example', null)
  await expectOrigin(t, app, 'https://rejects.example', null)
  await expectOrigin(t, app, 'https://fine.example', 'https://fine.example')

  t.equal(lines.length, 4, 'one error line per failed call (actual request and preflight, for each origin)')
  for (const line of lines) {
    t.equal(line.level, 50)
    t.equal(line.cors.reason, 'origin_function_failed')
    t.equal(line.cors.policy, 'default policy')
    t.match(line.msg, /origin function failed/)
  }
  t.strictSame(lines.map((line) => [line.cors.origin, line.err.message]), [
    ['https://throws.example', 'database down'],
    ['https://throws.example', 'database down'],
    ['https://rejects.example', 'timeout'],
    ['https://rejects.example', 'timeout'],
  ])
})
