import t, { type Test } from 'tap'
import Fastify from 'fastify'
import cors, { CorsPolicyError, type CorsPluginOptions } from '../../lib/index.ts'
import { checkPolicy } from '../../lib/policy/policy.ts'
import { parseOriginEntry } from '../../lib/policy/origin.ts'
import type { CorsPolicyProblem } from '../../lib/policy/errors.ts'
import { APP, startupError } from '../helpers.ts'

// Every startup error of one policy (cors-behaviour.md, "Startup errors"): a CorsPolicyError with
// code FST_CORS_POLICY_INVALID, one line per problem, `<where>: <json path> <what is wrong>; <fix>`.

/** Starts an app with the policy as `policies.partners`, used by a route: resolves when it started. */
async function starts (policy: unknown): Promise<void> {
  const app = Fastify()
  await app.register(cors, { policies: { partners: policy } } as CorsPluginOptions)
  app.post('/orders', { config: { cors: 'partners' } }, async () => 'ordered')
  await app.ready()
  await app.close()
}

/** Asserts the error is the plugin's and returns its problems, each checked against its line of the message. */
function problemsOf (t: Test, err: unknown): readonly CorsPolicyProblem[] {
  if (!(err instanceof CorsPolicyError)) {
    t.fail(`expected a CorsPolicyError, got ${String(err)}`)
    return []
  }
  t.equal(err.code, 'FST_CORS_POLICY_INVALID')
  t.equal(err.name, 'CorsPolicyError')
  const lines = err.message.split('\n')
  t.equal(lines.length, err.problems.length, 'one line per problem')
  err.problems.forEach((problem, i) => {
    const head = problem.path === '' ? `${problem.where}: ` : `${problem.where}: ${problem.path} `
    t.equal(lines[i], head + problem.message)
    t.match(problem.message, /.; ./, 'says what is wrong, then the fix after "; "')
  })
  return err.problems
}

interface Expected {
  where: string
  path: string
  /** What the message must say (what is wrong). */
  says: RegExp
  /** Text the fix (after the first "; ") must contain. */
  fix: string
}

function assertProblem (t: Test, problem: CorsPolicyProblem | undefined, expected: Expected): void {
  if (problem === undefined) {
    t.fail(`missing problem at ${expected.path}`)
    return
  }
  t.equal(problem.where, expected.where)
  t.equal(problem.path, expected.path)
  t.match(problem.message, expected.says)
  const fix = problem.message.slice(problem.message.indexOf('; ') + 2)
  t.ok(fix.includes(expected.fix), `fix ${JSON.stringify(fix)} includes ${JSON.stringify(expected.fix)}`)
}

/** The policy as `policies.partners` must be refused with exactly this one problem. */
async function refusesPolicy (t: Test, policy: unknown, path: string, says: RegExp, fix: string): Promise<void> {
  const problems = problemsOf(t, await startupError({ policies: { partners: policy } }))
  t.equal(problems.length, 1, 'one problem')
  assertProblem(t, problems[0], { where: 'policy "partners"', path, says, fix })
}

t.test('the message names the declaration, the JSON path and the fix, wherever the policy is declared', async (t) => {
  const bad = { origins: [APP, 'https://app.example.com/'] }
  const says = /^"https:\/\/app\.example\.com\/" has a path/
  const fix = 'write "https://app.example.com"'
  const cases: Array<{ name: string, where: string, options: unknown, route?: unknown }> = [
    { name: 'a named policy', where: 'policy "partners"', options: { policies: { partners: bad } } },
    { name: 'the default policy', where: 'default policy', options: { default: bad } },
    { name: 'a route', where: 'route PUT /me', options: {}, route: bad },
  ]
  for (const c of cases) {
    const problems = problemsOf(t, await startupError(c.options, c.route))
    t.equal(problems.length, 1, c.name)
    assertProblem(t, problems[0], { where: c.where, path: '/origins/1', says, fix })
  }
  const err = await startupError({ default: bad })
  t.equal((err as Error).message,
    'default policy: /origins/1 "https://app.example.com/" has a path (a trailing slash); ' +
    'an origin is scheme://host[:port], as browsers send it: write "https://app.example.com"')
})

t.test('origins is required', async (t) => {
  await refusesPolicy(t, {}, '/origins', /^is required/, "origins: '*'")
  await refusesPolicy(t, { credentials: true, maxAge: 60 }, '/origins', /^is required/, "origins: ['https://app.example.com']")
})

t.test('credentials cannot go with a wildcard', async (t) => {
  await t.test("origins '*'", async (t) => {
    await refusesPolicy(t, { origins: '*', credentials: true }, '/credentials', /^is true with origins '\*'/, 'list the origins')
  })
  await t.test("'*' in exposeHeaders, which browsers then read literally", async (t) => {
    await refusesPolicy(t, { origins: [APP], credentials: true, exposeHeaders: ['x-request-id', '*'] },
      '/exposeHeaders/1', /^is '\*' with credentials/, 'list the names')
  })
  await t.test("without credentials, '*' in exposeHeaders is fine", async () => {
    await starts({ origins: [APP], exposeHeaders: ['*'] })
    await starts({ origins: '*', exposeHeaders: ['*'], allowHeaders: ['*'] })
  })
})

t.test('origins must be written as browsers send them', async (t) => {
  const write = 'write "https://app.example.com"'
  const serialized = 'an origin is scheme://host[:port]'
  const cases: Array<[origin: string, says: RegExp, fix: string]> = [
    ['https://app.example.com/', /has a path \(a trailing slash\)/, write],
    ['https://app.example.com/api', /has a path/, write],
    ['https://app.example.com?x=1', /has a query or fragment/, write],
    ['https://app.example.com#top', /has a query or fragment/, write],
    ['https://user@app.example.com', /has user info/, write],
    ['https://user:secret@app.example.com', /has user info/, write],
    ['capacitor://localhost/', /has a path \(a trailing slash\)/, 'browsers send it'],
    ['capacitor://user@localhost', /has user info/, 'browsers never send it in an origin'],
    ['https://App.Example.com', /has upper-case letters/, '"https://app.example.com"'],
    ['HTTPS://app.example.com', /has upper-case letters/, '"https://app.example.com"'],
    ['https://app.example.com:443', /has the default port :443/, write],
    ['http://app.example.com:80', /has the default port :80/, 'write "http://app.example.com"'],
    ['app.example.com', /does not start with scheme:\/\//, 'e.g. "https://app.example.com"'],
    ['//app.example.com', /does not start with scheme:\/\//, 'e.g. "https://app.example.com"'],
    ['https:app.example.com', /does not start with scheme:\/\//, 'e.g. "https://app.example.com"'],
    ['http:/localhost', /does not start with scheme:\/\//, 'e.g. "http://localhost"'],
    ['https://bücher.example', /has non-ASCII characters/, 'write "https://xn--bcher-kva.example"'],
    ['https://app.example.com ', /has white space or control characters/, serialized],
    [' https://app.example.com', /has white space or control characters/, serialized],
    ['https://app\t.example.com', /has white space or control characters/, serialized],
    ['https://app.example.com\u007f', /has white space or control characters/, serialized],
    ['https://app..example.com', /has an invalid host/, 'non-empty labels'],
    ['https://app.example.com.', /has an invalid host/, 'non-empty labels'],
    ['https://app!.example.com', /has an invalid host/, 'a-z, 0-9, - and _'],
    ['https://app.example.com:', /is not in the form browsers send/, write],
    ['https://app.example.com:99999', /is not a valid https origin/, serialized],
    ['https://', /is not a valid https origin/, serialized],
    ['ht_tp://app.example.com', /has an invalid scheme "ht_tp"/, serialized],
    ['capacitor://', /is not of the form scheme:\/\/host\[:port\]/, 'a host is'],
    ['capacitor://a..b', /is not of the form scheme:\/\/host\[:port\]/, 'a host is'],
    ['capacitor://[::1', /is not of the form scheme:\/\/host\[:port\]/, 'a host is'],
    ['capacitor://localhost:08080', /is not of the form scheme:\/\/host\[:port\]/, 'without leading zeros'],
    ['capacitor://localhost:65536', /is not of the form scheme:\/\/host\[:port\]/, 'up to 65535'],
    ['capacitor://localhost:', /is not of the form scheme:\/\/host\[:port\]/, 'a port is'],
    ['capacitor://localhost:8o', /is not of the form scheme:\/\/host\[:port\]/, 'a port is'],
    ['capacitor://localhost:1234567', /is not of the form scheme:\/\/host\[:port\]/, 'a port is'],
    ['capacitor://[::1]x', /is not of the form scheme:\/\/host\[:port\]/, 'a port is'],
    ['capacitor://[::g]', /is not of the form scheme:\/\/host\[:port\]/, 'a host is'],
    ['capacitor://[]', /is not of the form scheme:\/\/host\[:port\]/, 'a host is'],
    ['https://' + 'a'.repeat(2048) + '.example', /is longer than 2048 characters/, 'no browser sends such an origin'],
  ]
  for (const [origin, says, fix] of cases) {
    await t.test(JSON.stringify(origin.length > 60 ? origin.slice(0, 40) + '…' : origin), async (t) => {
      await refusesPolicy(t, { origins: [APP, origin] }, '/origins/1', new RegExp('^' + escape(JSON.stringify(origin)) + ' ' + says.source), fix)
    })
  }
})

t.test('origins of other schemes, IPv6 and ports are accepted in serialized form', async (t) => {
  const accepted = [
    'capacitor://localhost', 'tauri://localhost', 'chrome-extension://abcdefghijklmnopabcdefghijklmnop',
    'https://[::1]', 'http://[::1]:8080', 'http://localhost:8080', 'http://127.0.0.1:3000', 'https://xn--bcher-kva.example',
    'https://app.example.com:8443', 'capacitor://localhost:8080', 'capacitor://[::1]', 'null',
  ]
  await starts({ origins: accepted })
  for (const origin of accepted) t.same(parseOriginEntry(origin), { kind: 'exact', origin }, origin)
})

t.test('patterns are accepted where they cover only subdomains of a registrable domain, or ports', async (t) => {
  const patterns = ['https://*.example.com', 'http://*.example.com', 'https://*.example.co.uk', 'https://*.app.vercel.app',
    'https://*.example.com:8443', 'http://localhost:*', 'http://127.0.0.1:*', 'http://[::1]:*', 'capacitor://localhost:*']
  await starts({ origins: patterns })
  // With credentials, plain http patterns are refused unless loopback (see misconfig.test.ts).
  await starts({ origins: patterns.filter((p) => !p.startsWith('http://*.')), credentials: true })
  t.same(parseOriginEntry('https://*.example.com'), { kind: 'subdomains', scheme: 'https', suffix: '.example.com' })
  t.same(parseOriginEntry('http://*.example.com:8080'), { kind: 'subdomains', scheme: 'http', suffix: '.example.com:8080' })
  t.same(parseOriginEntry('http://localhost:*'), { kind: 'anyPort', origin: 'http://localhost' })
})

t.test('*.localhost is loopback, not a public suffix: accepted with credentials, and with any port', async (t) => {
  const patterns = ['http://*.localhost', 'http://*.localhost:3000', 'https://*.localhost', 'http://*.localhost:*', 'https://*.localhost:*', 'http://*.app.localhost:*']
  await starts({ origins: patterns, credentials: true })
  t.same(parseOriginEntry('http://*.localhost'), { kind: 'subdomains', scheme: 'http', suffix: '.localhost' })
  t.same(parseOriginEntry('http://*.localhost:3000'), { kind: 'subdomains', scheme: 'http', suffix: '.localhost:3000' })
  t.same(parseOriginEntry('http://*.localhost:*'), { kind: 'subdomainsAnyPort', scheme: 'http', suffix: '.localhost' })
  t.same(parseOriginEntry('https://*.app.localhost:*'), { kind: 'subdomainsAnyPort', scheme: 'https', suffix: '.app.localhost' })
  const combines = 'combines a subdomain wildcard with a port wildcard; list the ports, e.g. "https://*.example.com:8443"'
  const cases: Array<[pattern: string, says: string]> = [
    ['https://*.example.com:*', combines],
    ['http://*.localhost.example.com:*', combines],
    ['http://*.127.0.0.1:*', combines],
    ['capacitor://*.localhost:*', 'is a wildcard pattern for the scheme "capacitor"; wildcard patterns are for http and https origins'],
    ['http://*.a..localhost:*', 'is not a valid pattern: after "*.", it has an invalid host; a host is a name of non-empty labels'],
  ]
  for (const [pattern, says] of cases) {
    await t.test(pattern, async (t) => {
      await refusesPolicy(t, { origins: [pattern] }, '/origins/0', new RegExp(`^${escape(JSON.stringify(pattern))} ${escape(says)}`), says.slice(says.indexOf('; ') + 2, says.indexOf('; ') + 20))
    })
  }
})

t.test('wildcards that cover a public suffix are refused, private section of the list included', async (t) => {
  const cases: Array<[pattern: string, suffix: string, fix: string]> = [
    ['https://*.com', 'com', '"https://*.example.com"'],
    ['https://*.co.uk', 'co.uk', '"https://*.example.co.uk"'],
    ['https://*.github.io', 'github.io', '"https://*.example.github.io"'],
    ['https://*.vercel.app', 'vercel.app', '"https://*.example.vercel.app"'],
    ['http://*.com:8080', 'com', '"http://*.example.com"'],
    ['https://*.unknowntld', 'unknowntld', '"https://*.example.unknowntld"'],
  ]
  for (const [pattern, suffix, fix] of cases) {
    await t.test(pattern, async (t) => {
      await refusesPolicy(t, { origins: [pattern] }, '/origins/0',
        new RegExp(`^${escape(JSON.stringify(pattern))} covers the public suffix "${escape(suffix)}"`), fix)
    })
  }
})

t.test('wildcards anywhere but the first label or the port are refused', async (t) => {
  const places = 'a wildcard stands for the first label (https://*.example.com) or for the port (http://localhost:*)'
  const cases: Array<[pattern: string, says: RegExp, fix: string]> = [
    ['https://a.*.example.com', /has a wildcard in the wrong place/, places],
    ['https://*example.com', /has a wildcard in the wrong place/, places],
    ['https://example.com*', /has a wildcard in the wrong place/, places],
    ['https://*', /has a wildcard in the wrong place/, places],
    ['https://*.*.example.com', /has more than one wildcard/, places],
    ['https://*.example.com:*', /combines a subdomain wildcard with a port wildcard/, 'list the ports'],
    ['https://*.127.0.0.1', /puts a wildcard in front of an IP address/, 'list the addresses'],
    ['https://*.[::1]', /puts a wildcard in front of an IP address/, 'list the addresses'],
    ['capacitor://*.example.com', /is a wildcard pattern for the scheme "capacitor"/, 'for http and https origins'],
    ['https://*.example.com:443', /is not a valid pattern: after "\*\.", it has the default port :443/, 'write "https://*.example.com"'],
    ['https://*.a..example.com', /is not a valid pattern: after "\*\.", it has an invalid host/, 'a host is'],
    ['https://localhost:*:*', /has more than one wildcard/, places],
    ['https://localhost:443:*', /is not a valid pattern: before ":\*", it has the default port :443/, 'write "https://localhost:*"'],
    ['http://localhost:8080:*', /has a port and a port wildcard/, 'write "http://localhost:8080" for that port, or "http://localhost:*" for any port'],
    ['http://a..example:*', /is not a valid pattern: before ":\*", it has an invalid host/, 'a host is'],
    ['https://*.example.com:', /is not a valid pattern: after "\*\.", it is not in the form browsers send/, 'write "https://*.example.com"'],
  ]
  for (const [pattern, says, fix] of cases) {
    await t.test(pattern, async (t) => {
      await refusesPolicy(t, { origins: [pattern] }, '/origins/0', new RegExp(`^${escape(JSON.stringify(pattern))} ${says.source}`), fix)
    })
  }
})

t.test("'*' inside a list, and an empty list, are refused", async (t) => {
  await refusesPolicy(t, { origins: [APP, '*'] }, '/origins/1', /^"\*" is '\*' inside a list/, "write origins: '*' (not in a list)")
  await refusesPolicy(t, { origins: [] }, '/origins', /^is empty, so no origin could ever be allowed/, 'cors: false')
})

t.test('origins of the wrong type are refused', async (t) => {
  const fix = "origins is '*', a list of origins, a RegExp or a function"
  await refusesPolicy(t, { origins: 42 }, '/origins', /^is the number 42/, fix)
  await refusesPolicy(t, { origins: APP }, '/origins', /^is the string "https:\/\/app\.example\.com"/, fix)
  await refusesPolicy(t, { origins: null }, '/origins', /^is null/, fix)
  await refusesPolicy(t, { origins: true }, '/origins', /^is true/, fix)
  await refusesPolicy(t, { origins: { app: APP } }, '/origins', /^is a value of type object/, fix)
  const problems = problemsOf(t, await startupError({ policies: { partners: { origins: [APP, 42, null] } } }))
  t.equal(problems.length, 2)
  assertProblem(t, problems[0], { where: 'policy "partners"', path: '/origins/1', says: /^is the number 42/, fix: 'each origin is a string' })
  assertProblem(t, problems[1], { where: 'policy "partners"', path: '/origins/2', says: /^is null/, fix: 'or a RegExp' })
})

t.test('a RegExp must be anchored with ^ and $, and must not be stateful', async (t) => {
  const anchor = 'write it as /^…$/'
  const cases: Array<[regexp: RegExp, says: RegExp, fix: string]> = [
    [/https:\/\/app\.example\.com/, /is not anchored/, anchor],
    [/^https:\/\/app\.example\.com/, /is not anchored/, anchor],
    [/https:\/\/app\.example\.com$/, /is not anchored/, anchor],
    [/^https:\/\/app\.example\.com\$/, /is not anchored/, anchor],
    [/^https:\/\/app\.example\.com$/g, /has the g flag/, 'remove the flag'],
    [/^https:\/\/app\.example\.com$/y, /has the y flag/, 'remove the flag'],
    [/^https:\/\/app\.example\.com$/gy, /has the g flag/, 'remove the flag'],
  ]
  for (const [regexp, says, fix] of cases) {
    await t.test(`${String(regexp)} alone`, async (t) => {
      await refusesPolicy(t, { origins: regexp }, '/origins', new RegExp(`^${escape(String(regexp))} ${says.source}`), fix)
    })
    await t.test(`${String(regexp)} in a list`, async (t) => {
      await refusesPolicy(t, { origins: [APP, regexp] }, '/origins/1', new RegExp(`^${escape(String(regexp))} ${says.source}`), fix)
    })
  }
  await t.test('anchored RegExps without g or y are accepted, alone or in a list', async () => {
    await starts({ origins: /^https:\/\/(?:app|admin)\.example\.com$/ })
    await starts({ origins: [APP, /^https:\/\/[a-z]+\.example\.org$/i], credentials: true })
  })
})

t.test("'null' cannot go with credentials", async (t) => {
  await refusesPolicy(t, { origins: [APP, 'null'], credentials: true }, '/origins/1', /^"null" with credentials/, 'remove "null" or set credentials: false')
  await starts({ origins: [APP, 'null'] })
})

t.test('functions are accepted as origins, with or without credentials', async () => {
  await starts({ origins: () => true })
  await starts({ origins: async (origin: string) => origin === APP, credentials: true })
})

t.test('methods must be upper-case tokens that browsers can send', async (t) => {
  const cases: Array<[method: string, says: RegExp, fix: string]> = [
    ['G E T', /is not a method name/, 'HTTP token'],
    ['GET,POST', /is not a method name/, 'HTTP token'],
    ['', /is not a method name/, 'HTTP token'],
    ['CONNECT', /is a forbidden method/, 'remove it'],
    ['TRACE', /is a forbidden method/, 'remove it'],
    ['TRACK', /is a forbidden method/, 'remove it'],
    ['connect', /is a forbidden method/, 'remove it'],
    ['Trace', /is a forbidden method/, 'remove it'],
    ['track', /is a forbidden method/, 'remove it'],
    ['patch', /is not upper case/, 'write "PATCH"'],
    ['Delete', /is not upper case/, 'write "DELETE"'],
  ]
  for (const [method, says, fix] of cases) {
    await t.test(JSON.stringify(method), async (t) => {
      await refusesPolicy(t, { origins: [APP], methods: ['POST', method] }, '/methods/1', new RegExp(`^${escape(JSON.stringify(method))} ${says.source}`), fix)
    })
  }
  await t.test('an empty list', async (t) => {
    await refusesPolicy(t, { origins: [APP], methods: [] }, '/methods', /^is empty, so no request could ever be allowed/, 'leave methods out')
  })
  await t.test('upper-case tokens, custom ones included, are accepted', async () => {
    await starts({ origins: [APP], methods: ['GET', 'POST', 'PURGE', 'M-SEARCH', 'POST'] })
  })
})

t.test('header names must be HTTP tokens', async (t) => {
  for (const field of ['allowHeaders', 'exposeHeaders']) {
    for (const name of ['x request id', 'x-a,x-b', 'x:y', '', 'x-ü', '"x"']) {
      await t.test(`${field} ${JSON.stringify(name)}`, async (t) => {
        await refusesPolicy(t, { origins: [APP], [field]: ['x-ok', name] }, `/${field}/1`,
          new RegExp(`^${escape(JSON.stringify(name))} is not a valid header name`), 'HTTP token')
      })
    }
  }
  await t.test('tokens of any case, duplicates and * are accepted', async () => {
    await starts({ origins: [APP], allowHeaders: ['Content-Type', 'x-api-key', 'X-API-Key', '*'], exposeHeaders: ['X-Request-Id', 'x-request-id'] })
  })
})

t.test('exposeHeaders cannot hold a forbidden response header: browsers never let scripts read Set-Cookie', async (t) => {
  for (const name of ['set-cookie', 'Set-Cookie', 'SET-COOKIE2']) {
    await t.test(name, async (t) => {
      await refusesPolicy(t, { origins: [APP], exposeHeaders: ['x-request-id', name] }, '/exposeHeaders/1',
        new RegExp(`^${escape(JSON.stringify(name))} is a forbidden response header: browsers never let scripts read it, whatever Access-Control-Expose-Headers says`), 'remove it')
    })
  }
  await t.test('allowHeaders may name a cookie header; exposeHeaders may name others', async () => {
    await starts({ origins: [APP], allowHeaders: ['set-cookie'], exposeHeaders: ['x-set-cookie', 'set-cookie-id'] })
  })
})

t.test('maxAge is a whole number of seconds from 0 to 86400', async (t) => {
  const fix = 'maxAge is a whole number of seconds from 0 to 86400'
  const cases: Array<[value: unknown, says: RegExp]> = [
    [-1, /^is the number -1/],
    [1.5, /^is the number 1\.5/],
    [-0.5, /^is the number -0\.5/],
    [86401, /^is the number 86401/],
    [Infinity, /^is the number Infinity/],
    [NaN, /^is the number NaN/],
    ['600', /^is the string "600"/],
    [null, /^is null/],
    [600n, /^is a value of type bigint/],
  ]
  for (const [value, says] of cases) {
    await t.test(String(value), async (t) => {
      await refusesPolicy(t, { origins: [APP], maxAge: value }, '/maxAge', says, fix)
    })
  }
  await t.test('0, 600 and 86400 are accepted', async () => {
    for (const maxAge of [0, 600, 86400]) await starts({ origins: [APP], maxAge })
  })
})

t.test('unknown keys are refused, with the field they were probably meant to be', async (t) => {
  const cases: Array<[key: string, fix: string]> = [
    ['credential', 'did you mean "credentials"?'],
    ['origin', 'did you mean "origins"?'],
    ['allowedHeaders', 'did you mean "allowHeaders"?'],
    ['exposedHeaders', 'did you mean "exposeHeaders"?'],
    ['maxage', 'did you mean "maxAge"?'],
    ['method', 'did you mean "methods"?'],
    ['privateNetwork', 'remove it'],
  ]
  for (const [key, fix] of cases) {
    await t.test(key, async (t) => {
      const policy = key === 'origin' ? { origin: APP } : { origins: [APP], [key]: true }
      const problems = problemsOf(t, await startupError({ policies: { partners: policy } }))
      const problem = problems.find((p) => p.path === `/${key}`)
      assertProblem(t, problem, { where: 'policy "partners"', path: `/${key}`, says: /^is not a policy field/, fix })
      t.match(problem?.message, /\(the fields are origins, credentials, methods, allowHeaders, exposeHeaders, maxAge, headersFromSchema, dangerouslyAllowInsecureOrigins, originTimeout\)$/)
    })
  }
})

t.test('fields of the wrong type are refused', async (t) => {
  await refusesPolicy(t, { origins: [APP], credentials: 'yes' }, '/credentials', /^is the string "yes"/, 'credentials is true or false')
  await refusesPolicy(t, { origins: [APP], credentials: 1 }, '/credentials', /^is the number 1/, 'credentials is true or false')
  await refusesPolicy(t, { origins: [APP], methods: 'GET' }, '/methods', /^is the string "GET"/, 'methods is a list of strings')
  await refusesPolicy(t, { origins: [APP], allowHeaders: { 'x-a': true } }, '/allowHeaders', /^is a value of type object/, 'allowHeaders is a list of strings')
  await refusesPolicy(t, { origins: [APP], exposeHeaders: 'x-request-id' }, '/exposeHeaders', /^is the string "x-request-id"/, 'exposeHeaders is a list of strings')
  const problems = problemsOf(t, await startupError({ policies: { partners: { origins: [APP], methods: ['GET', 1], allowHeaders: [null, 'x-a', false] } } }))
  t.same(problems.map((p) => p.path), ['/methods/1', '/allowHeaders/0', '/allowHeaders/2'])
  assertProblem(t, problems[0], { where: 'policy "partners"', path: '/methods/1', says: /^is the number 1/, fix: 'each item of methods is a string' })
  assertProblem(t, problems[2], { where: 'policy "partners"', path: '/allowHeaders/2', says: /^is false/, fix: 'each item of allowHeaders is a string' })
})

t.test('a policy that is not an object is refused', async (t) => {
  const cases: Array<[value: unknown, says: RegExp]> = [
    [42, /^is the number 42/],
    ['public', /^is the string "public"/],
    [null, /^is null/],
    [true, /^is true/],
    [[APP], /^is an array/],
    [/^https:\/\/app\.example\.com$/, /^is the RegExp \/\^https:/],
    [() => true, /^is a function/],
    [undefined, /^is undefined/],
  ]
  for (const [value, says] of cases) {
    await t.test(String(value), async (t) => {
      await refusesPolicy(t, value, '', says, "a policy is an object such as { origins: ['https://app.example.com'] }")
    })
  }
})

t.test('every problem of a policy is reported together, in one error', async (t) => {
  const err = await startupError({
    policies: {
      partners: {
        origins: ['https://app.example.com/', 'https://*.com', /example/, 'null'],
        credentials: true,
        credential: true,
        methods: ['TRACE', 'get'],
        allowHeaders: ['x a'],
        exposeHeaders: ['*'],
        maxAge: 100000,
      },
    },
  })
  const problems = problemsOf(t, err)
  t.equal(problems.length, 10)
  t.same(problems.map((p) => p.path).sort(), [
    '/allowHeaders/0', '/credential', '/exposeHeaders/0', '/maxAge', '/methods/0', '/methods/1',
    '/origins/0', '/origins/1', '/origins/2', '/origins/3',
  ])
  t.ok(problems.every((p) => p.where === 'policy "partners"'))
  t.equal((err as Error).message.split('\n').length, 10)
})

t.test('problems of several policies of one registration are reported together', async (t) => {
  const problems = problemsOf(t, await startupError({
    default: { origins: '*', credentials: true },
    policies: { partners: { origins: [] }, public: { origins: '*' }, admin: { origins: [APP], maxAge: -1 } },
  }))
  t.same(problems.map((p) => `${p.where} ${p.path}`), [
    'policy "partners" /origins',
    'policy "admin" /maxAge',
    'default policy /credentials',
  ])
})

t.test('inline route policies are checked the same way', async (t) => {
  const problems = problemsOf(t, await startupError({}, { origins: [APP, 'https://app.example.com:443'], credentials: 'yes' }))
  t.same(problems.map((p) => `${p.where} ${p.path}`), ['route PUT /me /credentials', 'route PUT /me /origins/1'])
})

t.test('the policy of the API example boots', async () => {
  const app = Fastify()
  await app.register(cors, {
    default: { origins: [APP], credentials: true },
    policies: {
      public: { origins: '*' },
      partners: {
        origins: ['https://*.partner.example', 'http://localhost:*'],
        allowHeaders: ['content-type', 'x-api-key'],
        exposeHeaders: ['x-request-id'],
        maxAge: 600,
      },
    },
  })
  app.get('/status', { config: { cors: 'public' } }, async () => 'ok')
  app.post('/orders', { config: { cors: 'partners' } }, async () => 'ok')
  app.put('/me', { config: { cors: { origins: [APP], credentials: true, allowHeaders: ['content-type'] } } }, async () => 'ok')
  app.get('/admin', { config: { cors: false } }, async () => 'ok')
  app.get('/report', { schema: { cors: 'partners' } }, async () => 'ok')
  await app.ready()
  await app.close()
})

t.test('checkPolicy normalizes an accepted policy and freezes it', async (t) => {
  const problems: CorsPolicyProblem[] = []
  const policy = checkPolicy({
    origins: [APP, 'https://*.example.org', /^https:\/\/x\.example$/],
    methods: ['GET', 'POST', 'GET'],
    allowHeaders: ['Content-Type', 'content-type', '*'],
    exposeHeaders: ['X-Request-Id', 'x-request-id', 'X-Total'],
    maxAge: 0,
  }, 'policy "p"', problems)
  t.same(problems, [])
  t.ok(Object.isFrozen(policy))
  t.match(policy, {
    credentials: false,
    methods: ['GET', 'POST'],
    allowHeaders: ['content-type'],
    anyHeader: true,
    exposeHeaders: ['X-Request-Id', 'X-Total'],
    maxAge: 0,
  })
  const plain = checkPolicy({ origins: '*' }, 'policy "p"', problems)
  t.same(plain, { origins: '*', credentials: false, methods: null, allowHeaders: [], anyHeader: false, exposeHeaders: [], maxAge: null, headersFromSchema: false })
  t.same(problems, [])
})

t.test('checkPolicy adds to the problems it is given and returns null on any problem', async (t) => {
  const problems: CorsPolicyProblem[] = [{ where: 'earlier', path: '', message: 'kept' }]
  t.equal(checkPolicy({ origins: [APP], maxAge: -1 }, 'route PUT /me', problems), null)
  t.equal(problems.length, 2)
  t.same(problems[0], { where: 'earlier', path: '', message: 'kept' })
  t.match(problems[1], { where: 'route PUT /me', path: '/maxAge' })
})

function escape (text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}
