import { readFileSync } from 'node:fs'
import t, { type Test } from 'tap'
import { CorsPolicyError, CorsPolicySchema } from '../../lib/index.ts'
import type { CorsPolicyProblem } from '../../lib/policy/errors.ts'
import { MISCONFIG_CHECKS } from '../../lib/policy/misconfig.ts'
import { checkPolicy } from '../../lib/policy/policy.ts'
import { startupError } from '../helpers.ts'

// The misconfigurations refused at startup (lib/policy/misconfig.ts), each with the attack it prevents, and
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

  // Beside an item that is no origin at all, which is reported once, as such, and keeps its place in the paths.
  t.same(problemsOf({ origins: [42, 'http://app.example.com', /^http:\/\/b\.example\.com$/], credentials: true }).map((p) => p.path),
    ['/origins/0', '/origins/1', '/origins/2'])

  const err = await startupError({}, { origins: ['http://app.example.com'], credentials: true })
  t.type(err, CorsPolicyError)
  t.equal((err as CorsPolicyError).code, 'FST_CORS_POLICY_INVALID')
  t.match((err as Error).message, /^route PUT \/me: \/origins\/0 "http:\/\/app\.example\.com" allows a plain http origin with credentials/)
})

t.test('loopback origins over http, and http origins without credentials, are accepted', async (t) => {
  for (const origin of ['http://localhost', 'http://localhost:3000', 'http://localhost:*', 'http://127.0.0.1:8080', 'http://127.0.0.1:*',
    'http://127.1.2.3', 'http://[::1]:3000', 'http://[::1]:*', 'http://app.localhost:5173', 'http://*.app.localhost',
    'http://*.localhost', 'http://*.localhost:3000', 'http://*.localhost:*', 'https://*.localhost']) {
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

// RegExps are judged on what they match, not on how they are spelled: each case is one RegExp, the
// problem it must get (at /origins/1, beside an exact origin), and an origin the message names.
const INSECURE = /allows a plain http origin with credentials: anyone on the network path .* \(it matches (\S+)\); use https, or set dangerouslyAllowInsecureOrigins: true/
const ANY_HOST = /matches hosts anyone can register, such as (\S+), so any site could read the responses; /
const LOOK_ALIKE = /matches (\S+) as well as (\S+): a look-alike host that anyone can register, .*; match whole labels under a domain you own, spelled out to its top-level domain, .*or list a pattern such as "https:\/\/\*\.example\.com"$/

/** The one problem of `{ origins: [APP, regexp], credentials }`, or fails. */
function onlyProblem (t: Test, regexp: RegExp, credentials: boolean): string {
  const problems = problemsOf({ origins: ['https://app.example.com', regexp], credentials })
  t.same(problems.map((p) => p.path), ['/origins/1'], `${String(regexp)}: one problem, at its path`)
  t.ok(problems[0]?.message.startsWith(`${String(regexp)} `), `${String(regexp)}: the message names it`)
  return problems[0]?.message ?? ''
}

/** Asserts that `regexp` matches `origin`, as the matcher runs it: the example in a message is a real one. */
function assertMatches (t: Test, regexp: RegExp, origin: string | undefined): void {
  t.ok(origin !== undefined && new RegExp(`^(?:${regexp.source})$`, regexp.flags).test(origin), `${String(regexp)} matches ${origin}`)
}

t.test('a RegExp that matches any host is refused, with or without credentials', async (t) => {
  for (const [regexp, attacker] of [[/^.*$/, 'https://evil.io'], [/^https:\/\/.+$/, 'https://evil.io'], [/^https:\/\/[a-z]+\.com$/, 'https://evil.com'],
    [/^https:\/\/[^/]+$/, 'https://evil.io'], [/^https:\/\/[a-z0-9-]+\.github\.io$/, 'https://evil.github.io'],
    [/^(?:http|https):\/\/[0-9.]+$/, 'https://203.0.113.7'], [/^https:\/\/app\.example\.com|https:\/\/.*$/, 'https://evil.io'],
    [/^https:\/\/[\w-]+(?:\.[\w-]+)?\.(?:com|net)$/, 'https://attacker.net'],
    [/^https:\/\/[a-z]+\.(?:example\.com|[a-z]+\.dev)$/, 'https://a.evil.dev']] as Array<[RegExp, string]>) {
    const message = onlyProblem(t, regexp, false)
    t.equal(ANY_HOST.exec(message)?.[1], attacker, String(regexp))
    assertMatches(t, regexp, attacker)
    t.match(message, /; for a public API write origins: '\*'; otherwise list the origins, a subdomain pattern such as "https:\/\/\*\.example\.com", or decide in an origin function$/)
  }
  // With credentials the fix cannot be '*'; /^.*$/ also lets plain http in, a second mistake.
  const message = onlyProblem(t, /^https:\/\/.+$/, true)
  t.match(message, /; list the origins, a subdomain pattern such as "https:\/\/\*\.example\.com", or decide in an origin function$/)
  t.notMatch(message, /origins: '\*'/)
  t.same(problemsOf({ origins: /^.*$/, credentials: true }).map((p) => [p.path, INSECURE.exec(p.message)?.[1] ?? ANY_HOST.exec(p.message)?.[1]]), [
    ['/origins', 'http://evil.io'],
    ['/origins', 'https://evil.io'],
  ])
  const err = await startupError({}, { origins: /^https:\/\/.+$/ })
  t.match((err as Error).message, /^route PUT \/me: \/origins \/\^https:\\\/\\\/\.\+\$\/ matches hosts anyone can register, such as https:\/\/evil\.io/)
})

t.test('a RegExp that lets a look-alike host in, around the domain or by a variable label, is refused', async (t) => {
  const cases: Array<[RegExp, string, string]> = [
    [/^https:\/\/.*example\.com$/, 'https://evilexample.com', 'https://example.com'],
    [/^https:\/\/example[a-z]*\.com$/, 'https://examplee.com', 'https://example.com'],
    [/^https:\/\/example\.[a-z]+$/, 'https://example.xa', 'https://example.a'],
    [/^https:\/\/[a-z]{3}\.com$/, 'https://xaa.com', 'https://aaa.com'],
    [/^https:\/\/(?:www\.)?example\d*\.com$/, 'https://example0.com', 'https://example.com'],
    [/^https:\/\/([a-z]+-)?example\.com$/, 'https://evil-example.com', 'https://example.com'],
    [/^https:\/\/example\.co[a-z]?$/, 'https://example.coo', 'https://example.co'],
    [/^https:\/\/(?:app|admin)\.example\.com(?:\.[a-z]+)?$/, 'https://app.example.com.xa', 'https://app.example.com.a'],
    // A class or a repetition anywhere in the domain's labels.
    [/^https:\/\/ex[a-z]mple\.com$/, 'https://exxmple.com', 'https://example.com'],
    [/^https:\/\/e[a-z]*xample\.com$/, 'https://evilexample.com', 'https://example.com'],
    // A single label has no registrable domain: the whole host is what it names.
    [/^https:\/\/[a-z]+$/, 'https://evila', 'https://a'],
  ]
  for (const credentials of [false, true]) {
    for (const [regexp, variant, sample] of cases) {
      const found = LOOK_ALIKE.exec(onlyProblem(t, regexp, credentials))
      t.same(found?.slice(1), [variant, sample], String(regexp))
      assertMatches(t, regexp, variant)
      assertMatches(t, regexp, sample)
    }
  }
})

t.test('a RegExp that allows plain http with credentials is refused whatever its spelling of ://', async (t) => {
  for (const regexp of [/^https?:\/{2}app\.example\.com$/, /^https?:[/][/]app\.example\.com$/, /^https?:\x2f\x2fapp\.example\.com$/,
    /^https?:\u002f\u002fapp\.example\.com$/, /^https?:(?:\/)\/app\.example\.com$/, /^https?:[/]{2}app\.example\.com$/,
    /^(?:https|http):\/\/app\.example\.com$/, /^http[s]{0,1}:\/\/app\.example\.com$/, /^https?:\/\/(?:localhost|app\.example\.com)$/,
    /^HTTP:\/\/APP\.EXAMPLE\.COM$/i, /^(?:https:\/\/app|http:\/\/api)\.example\.com$/]) {
    const found = INSECURE.exec(onlyProblem(t, regexp, true))
    t.ok(found, String(regexp))
    t.match(found?.[1], /^http:\/\/(?:app|api)\.example\.com$/, String(regexp))
    assertMatches(t, regexp, found?.[1])
    t.ok(accepted({ origins: [regexp], credentials: false }), `${String(regexp)} without credentials`)
    t.ok(accepted({ origins: [regexp], credentials: true, dangerouslyAllowInsecureOrigins: true }), `${String(regexp)} with the opt-out`)
  }
})

t.test('RegExps for subdomains of a domain, listed hosts and loopback are accepted, with or without credentials', async (t) => {
  for (const regexp of [/^https:\/\/([a-z0-9-]+\.)?example\.com$/, /^https:\/\/(app|admin)\.example\.com(:\d+)?$/, /^https:\/\/[a-z0-9-]+\.example\.com$/,
    /^http:\/\/localhost(:\d+)?$/, /^http:\/\/(localhost|127\.0\.0\.1)(:\d+)?$/, /^http:\/\/[a-z0-9-]+\.localhost(:\d+)?$/,
    /^https:\/\/tenant-\d+\.saas\.example$/, /^http:\/\/127\.0\.0\.\d{1,3}:\d{4}$/, /^http:\/\/\[::1\](?::\d+)?$/,
    /^https:\/\/(?:[a-z]+\.)?(?:example\.com|example\.org)$/, /^https:\/\/example(?:-staging)?\.com$/, /^HTTPS:\/\/APP\.EXAMPLE\.COM$/i,
    /^capacitor:\/\/localhost$/, /^https:\/\/[a-z]+\.example\.com(?::(?:8443|9443))?$/, /^https:\/\/x-y\.com$/, /^https:\/\/app9\.com$/,
    // Parts that match nothing, or nothing more: they leave the rest to judge.
    /^https:\/\/app\.example\.com(?:[^\s\S])*$/, /^https:\/\/app\.example\.com(?:evil){0}$/,
    // More choices than the samples hold: the first ones are judged.
    new RegExp(`^https:\\/\\/(?:${Array.from({ length: 60 }, (_, i) => `app${i}`).join('|')})\\.(?:eu|us)\\.example\\.com$`)]) {
    t.same(problemsOf({ origins: [regexp], credentials: true }), [], `${String(regexp)} with credentials`)
    t.same(problemsOf({ origins: [regexp] }), [], String(regexp))
  }
  t.equal(await startupError({}, { origins: [/^http:\/\/[a-z0-9-]+\.localhost(:\d+)?$/, /^https:\/\/([a-z0-9-]+\.)?example\.com$/], credentials: true }), null)
})

t.test('a RegExp with a lookaround or a backreference is refused: its hosts cannot be told from its samples', async (t) => {
  for (const [regexp, construct] of [[/^https:\/\/(?=.*example)[a-z.]+$/, 'a lookaround'], [/^https:\/\/(?!evil)[a-z]+\.com$/, 'a lookaround'],
    [/^https:\/\/(a)\1\.example\.com$/, 'a backreference'], [/^https:\/\/(?<n>[a-z]+)\.\k<n>\.com$/, 'a backreference']] as Array<[RegExp, string]>) {
    t.equal(onlyProblem(t, regexp, false), `${String(regexp)} uses ${construct}, so startup cannot tell which hosts it lets in; ` +
      'list the origins and patterns ("https://*.example.com"), or decide in an origin function')
  }
  // safe-regex2 refuses every lookbehind first, with its own message.
  for (const regexp of [/^https:\/\/[a-z.]+(?<=\.example\.com)$/, /^https:\/\/[a-z.]+(?<!\.evil\.io)$/]) {
    t.match(onlyProblem(t, regexp, false), /may take exponential time/)
  }
  // Nested deeper than the parser goes: refused the same way, not a crash.
  const deep = new RegExp('^' + '(?:'.repeat(3000) + 'https:\\/\\/app\\.example\\.com' + ')'.repeat(3000) + '$')
  t.match(onlyProblem(t, deep, false), /uses syntax too deep or too new for the RegExp parser, so startup cannot tell which hosts it lets in; /)
})

t.test('a RegExp that matches no origin in serialized form is refused: it allows nothing', async (t) => {
  for (const regexp of [/^HTTPS:\/\/APP\.EXAMPLE\.COM$/, /^https:\/\/app\.example\.com\/$/, /^app\.example\.com$/, /^https:\/\/app\.example\.com:443$/, /^[^\s\S]$/,
    /^https:\/\/app\.example\.com[^\s\S]+$/, /^https:\/\/a{3000}\.com$/]) {
    t.match(onlyProblem(t, regexp, false), /matches no origin as browsers send them \(scheme:\/\/host\[:port\], lower case, nothing after\), so it allows nothing; write it for whole origins, e.g\. /, String(regexp))
  }
})

t.test('the RegExp checks run on every RegExp, alone or listed, and say nothing more where another check spoke', async (t) => {
  // An unescaped dot gets its own message only; an unanchored or stateful RegExp is not sampled.
  t.same(problemsOf({ origins: [/^https:\/\/app.example.com$/] }).length, 1)
  t.same(problemsOf({ origins: [/^https:\/\/.*$/g] }).length, 1)
  t.same(problemsOf({ origins: [/https:\/\/.*/] }).length, 1)
  t.same(problemsOf({ origins: [/^https:\/\/(a+)+\.example\.com$/] }).length, 1)
  // The same RegExp object in two policies gets the same answer.
  const shared = /^https:\/\/.*example\.com$/
  t.equal(problemsOf({ origins: [shared] })[0]?.message, problemsOf({ origins: [shared], credentials: true })[0]?.message)
})

t.test('the RegExp analysis is fast enough to run at every startup', async (t) => {
  const regexps = [/^https:\/\/([a-z0-9-]+\.)?example\.com$/, /^https:\/\/(app|admin)\.example\.com(:\d+)?$/, /^http:\/\/localhost(:\d+)?$/]
  checkPolicy({ origins: regexps.map((r) => new RegExp(r.source)) }, 'warm-up', [])
  const started = process.hrtime.bigint()
  for (let i = 0; i < 50; i++) checkPolicy({ origins: regexps.map((r) => new RegExp(r.source)) }, 'p', [])
  const perRegExp = Number(process.hrtime.bigint() - started) / 1e6 / 150
  t.ok(perRegExp < 5, `${perRegExp.toFixed(3)} ms per RegExp, with the policy check around it (a generous bound: the machine is shared)`)
})

t.test('all the mistakes of a policy are reported together', async (t) => {
  const problems = problemsOf({
    origins: ['http://app.example.com', /^https:\/\/a.example\.com$/, /^https:\/\/(a+)+\.example\.com$/, 'https://x.example.com/'],
    credentials: true,
  })
  t.same(problems.map((p) => p.path).sort(), ['/origins/0', '/origins/1', '/origins/2', '/origins/3'])
})

t.test('every check of the table is tested here and documented in docs/policies.md and SECURITY.md', async (t) => {
  const policies = readFileSync(new URL('../../docs/policies.md', import.meta.url), 'utf8')
  const security = readFileSync(new URL('../../SECURITY.md', import.meta.url), 'utf8')
  t.same(MISCONFIG_CHECKS.map((check) => check.name), [
    'an http origin with credentials',
    'a RegExp origin with an unescaped dot',
    'a RegExp origin open to catastrophic backtracking',
    'a RegExp origin that cannot be checked',
    'a RegExp origin that matches no origin',
    'a RegExp origin that matches any host',
    'a RegExp origin that lets look-alike hosts in',
  ])
  for (const { name } of MISCONFIG_CHECKS) {
    t.ok(policies.includes(name), `docs/policies.md names "${name}"`)
    t.ok(security.includes(name), `SECURITY.md names "${name}"`)
  }
  t.ok(policies.includes('dangerouslyAllowInsecureOrigins') && security.includes('dangerouslyAllowInsecureOrigins'), 'the opt-out is documented')
})
