import { readFileSync } from 'node:fs'
import t from 'tap'
import { CorsPolicyError, CorsPolicySchema } from '../lib/index.ts'
import type { CorsPolicyProblem } from '../lib/errors.ts'
import { MISCONFIG_CHECKS } from '../lib/misconfig.ts'
import { checkPolicy } from '../lib/policy.ts'
import { startupError } from './helpers.ts'

// The misconfigurations refused at startup (lib/misconfig.ts), each with the attack it prevents, and
// the loudly named opt-out for plain http origins with credentials.

function problemsOf (policy: unknown): CorsPolicyProblem[] {
  const problems: CorsPolicyProblem[] = []
  checkPolicy(policy, 'policy "web"', problems)
  return problems
}

function accepted (policy: unknown): boolean {
  return problemsOf(policy).length === 0
}

t.test('an http origin with credentials is refused: anyone on the network path could read credentialed responses', async (t) => {
  for (const origin of ['http://app.example.com', 'http://app.example.com:8080', 'http://*.example.com', 'http://app.example.com:*', 'http://10.0.0.5', 'http://[2001:db8::1]']) {
    const problems = problemsOf({ origins: ['https://app.example.com', origin], credentials: true })
    t.equal(problems.length, 1, origin)
    t.equal(problems[0]?.path, '/origins/1', origin)
    t.match(problems[0]?.message, /plain http origin with credentials: anyone on the network path .*; use https, or set dangerouslyAllowInsecureOrigins: true/, origin)
  }

  const err = await startupError({}, { origins: ['http://app.example.com'], credentials: true })
  t.type(err, CorsPolicyError)
  t.equal((err as CorsPolicyError).code, 'FST_CORS_POLICY_INVALID')
  t.match((err as Error).message, /^route PUT \/me: \/origins\/0 "http:\/\/app\.example\.com" allows a plain http origin with credentials/)
})

t.test('loopback origins over http, and http origins without credentials, are accepted', async (t) => {
  for (const origin of ['http://localhost', 'http://localhost:3000', 'http://localhost:*', 'http://127.0.0.1:8080', 'http://127.0.0.1:*',
    'http://127.1.2.3', 'http://[::1]:3000', 'http://[::1]:*', 'http://app.localhost:5173', 'http://*.app.localhost']) {
    t.ok(accepted({ origins: [origin], credentials: true }), origin)
  }
  t.ok(accepted({ origins: ['http://app.example.com', 'http://*.example.com'] }), 'without credentials')
  t.ok(accepted({ origins: ['http://app.example.com'], credentials: false }), 'credentials: false')
  t.ok(accepted({ origins: ['capacitor://localhost', 'https://app.example.com'], credentials: true }), 'https and other schemes')
  t.equal(await startupError({}, { origins: ['http://localhost:*'], credentials: true }), null)
})

t.test('dangerouslyAllowInsecureOrigins: true is the opt-out; it must be a boolean', async (t) => {
  t.ok(accepted({ origins: ['http://app.example.com', 'http://*.example.com'], credentials: true, dangerouslyAllowInsecureOrigins: true }))
  t.ok(accepted({ origins: /^https?:\/\/app\.example\.com$/, credentials: true, dangerouslyAllowInsecureOrigins: true }))
  t.equal(problemsOf({ origins: ['http://app.example.com'], credentials: true, dangerouslyAllowInsecureOrigins: false }).length, 1)
  t.same(problemsOf({ origins: ['https://app.example.com'], dangerouslyAllowInsecureOrigins: 'yes' }).map((p) => [p.path, p.message]), [
    ['/dangerouslyAllowInsecureOrigins', 'is the string "yes"; dangerouslyAllowInsecureOrigins is true or false'],
  ])
  t.equal(await startupError({}, { origins: ['http://intranet.example'], credentials: true, dangerouslyAllowInsecureOrigins: true }), null)
  t.ok(Object.hasOwn(CorsPolicySchema.properties, 'dangerouslyAllowInsecureOrigins'), 'part of the JSON schema')
})

t.test('a RegExp that can match an http origin with credentials is refused, loopback aside', async (t) => {
  for (const regexp of [/^https?:\/\/app\.example\.com$/, /^http:\/\/app\.example\.com$/, /^(http|https):\/\/app\.example\.com$/,
    /^https:\/\/a\.example\.com$|^http:\/\/b\.example\.com$/, /^[a-z]+:\/\/app\.example\.com$/, /^http(s)?:\/\/app\.example\.com$/,
    /^(https?:\/\/app\.example\.com)$/, /^http:\/\/localhost\.evil\.com$/, /^http:\/\/(localhost|evil\.com)(:\d+)?$/, /^https:\/\/a\.example\.com$|http:\/\/b\.example\.com$/]) {
    const problems = problemsOf({ origins: [regexp], credentials: true })
    t.equal(problems.length, 1, String(regexp))
    t.match(problems[0]?.message, /plain http origin with credentials/, String(regexp))
  }
  for (const regexp of [/^https:\/\/app\.example\.com$/, /^http:\/\/localhost(?::\d+)?$/, /^https?:\/\/127\.0\.0\.1:\d+$/,
    /^http:\/\/\[::1\]:3000$/, /^http:\/\/(localhost|127\.0\.0\.1)(:\d+)?$/, /^https?:\/\/(?:localhost|\[::1\])$/, /^(?:https|wss):\/\/app\.example\.com$/, /^capacitor:\/\/localhost$/, /^https:\/\/a\.example\.com$|^localhost$/]) {
    t.ok(accepted({ origins: [regexp], credentials: true }), String(regexp))
  }
  t.ok(accepted({ origins: /^https?:\/\/app\.example\.com$/ }), 'without credentials')
})

t.test('a RegExp with an unescaped dot is refused: it matches any character, so a look-alike domain gets in', async (t) => {
  const regexp = /^https:\/\/app.example.com$/
  t.ok(regexp.test('https://appxexample.com'), 'the hole: appxexample.com is anyone\'s to register')
  const problems = problemsOf({ origins: ['https://a.example.com', regexp] })
  t.same(problems.map((p) => p.path), ['/origins/1'])
  t.match(problems[0]?.message, /has an unescaped "\." that matches any character .*; write \/\^https:\\\/\\\/app\\\.example\\\.com\$\//)

  t.same(problemsOf({ origins: /^https:\/\/(www.)?example\.com$/ }).map((p) => p.path), ['/origins'], 'a RegExp alone')
  t.match(problemsOf({ origins: [/^https:\/\/app./] }).map((p) => p.message), [/is not anchored/, /write \/\^https:\\\/\\\/app\\\.\//], 'a dot at the end')
  for (const fine of [/^https:\/\/app\.example\.com$/, /^https:\/\/.+\.example\.com$/, /^https:\/\/[a-z.]+\.example\.com$/,
    /^https:\/\/.{1,20}\.example\.com$/, /^https:\/\/[^.]+\.example\.com$/, /^https:\/\/(?:.*\.)?example\.com$/]) {
    t.ok(accepted({ origins: [fine] }), String(fine))
  }

  const err = await startupError({}, { origins: [/^https:\/\/app.example.com$/] })
  t.match((err as Error).message, /^route PUT \/me: \/origins\/0 \/\^https:\\\/\\\/app\.example\.com\$\/ has an unescaped "\."/)
})

t.test('a RegExp open to catastrophic backtracking is refused: one crafted Origin could stall the server', async (t) => {
  for (const regexp of [/^https:\/\/(a+)+\.example\.com$/, /^https:\/\/([a-z0-9-]+\.)*example\.com$/, /^https:\/\/(\w+\s?)*$/, /^https:\/\/(a?a)+\.example\.com$/]) {
    const problems = problemsOf({ origins: [regexp] })
    t.equal(problems.length, 1, String(regexp))
    t.match(problems[0]?.message, /may take exponential time .*; for subdomains list a pattern such as "https:\/\/\*\.example\.com", or decide in an origin function/)
  }
  t.ok(accepted({ origins: [/^https:\/\/[a-z0-9-]+\.example\.com$/] }), 'one level of repetition')
  // An optional part outside groups repeats at most once: safe-regex2 alone would count it as nesting.
  t.ok(accepted({ origins: [/^https:\/\/(?:[a-z0-9-]+\.)?example\.com(?::\d+)?$/] }), 'optional subdomain and port')
  const err = await startupError({}, { origins: /^https:\/\/(a+)+\.example\.com$/ })
  t.match((err as Error).message, /^route PUT \/me: \/origins \/\^https:\\\/\\\/\(a\+\)\+\\\.example\\\.com\$\/ may take exponential time/)
})

t.test('all the mistakes of a policy are reported together', async (t) => {
  const problems = problemsOf({
    origins: ['http://app.example.com', /^https:\/\/a.example\.com$/, /^https:\/\/(a+)+\.example\.com$/, 'https://x.example.com/'],
    credentials: true,
  })
  t.same(problems.map((p) => p.path).sort(), ['/origins/0', '/origins/1', '/origins/2', '/origins/3'])
})

t.test('every check of the table is tested here and documented in README.md and SECURITY.md', async (t) => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const security = readFileSync(new URL('../SECURITY.md', import.meta.url), 'utf8')
  t.same(MISCONFIG_CHECKS.map((check) => check.name), [
    'an http origin with credentials',
    'a RegExp origin with an unescaped dot',
    'a RegExp origin open to catastrophic backtracking',
  ])
  for (const { name } of MISCONFIG_CHECKS) {
    t.ok(readme.includes(name), `README.md names "${name}"`)
    t.ok(security.includes(name), `SECURITY.md names "${name}"`)
  }
  t.ok(readme.includes('dangerouslyAllowInsecureOrigins') && security.includes('dangerouslyAllowInsecureOrigins'), 'the opt-out is documented')
})
