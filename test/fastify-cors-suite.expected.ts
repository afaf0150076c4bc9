// The tests of @fastify/cors's own suite that fail when run through fromFastifyCors, and how each
// fails. fastify-cors-suite.test.ts runs the suite and holds it to this list exactly; the
// "@fastify/cors's own tests" tables of docs/migration.md are generated from it (the same test compares them).

/** How a test fails, as the suite's reporter describes it: what was thrown, or the assertion that failed. */
export interface FailsWith {
  /** The error's name: `CorsPolicyError` when the app did not start, `AssertionError` for a wrong answer; any when left out. */
  error?: string
  code?: string
  message: RegExp
}

export interface ExpectedFailure {
  /** `difference`: a documented difference in behaviour. `refused`: an option fromFastifyCors or the plugin refuses at startup. */
  kind: 'difference' | 'refused'
  /** The tests' names, exactly as in @fastify/cors's test files. */
  tests: readonly string[]
  failsWith: FailsWith
  /** What @fastify/cors does (for `refused`: the option). */
  fastifyCors: string
  /** What this plugin does (for `refused`: the startup error). */
  ours: string
  /** Why (for `refused`: what to write instead). */
  why: string
}

const declaredBefore = /^route [A-Z,]+ \/\S*: was declared before fastify-cors-policy loaded/

export const expectedFailures: readonly ExpectedFailure[] = [
  {
    kind: 'difference',
    tests: [
      'Should add cors headers',
      'Should add cors headers when payload is a stream',
      'Dynamic origin resolution (valid origin)',
      'Dynamic origin resolution (not valid origin)',
      'Dynamic origin resolution (valid origin - promises)',
      'Dynamic origin resolution (not valid origin - promises)',
      'Should reply 404 without cors headers when origin is false',
      'Disable preflight',
      'Should always add vary header to `Origin` for reflected origin',
      'Should always add vary header to `Origin` for reflected origin (vary is array)',
      'Should collapse vary header to * when pre-existing vary contains * with whitespace before comma',
      'Allow only request from with specific headers',
      'Should support wildcard config /1',
      'Should support wildcard config /2',
      'Should allow routes to disable CORS individually',
      'Should not run origin function or add vary header when route disables CORS (callback origin)',
      'Should not run origin function or add vary header when route disables CORS (promise origin)',
      'Should support route-level config',
      'Should set hook onRequest if hook option is not set',
      'Should set hook onRequest if hook option is set to onRequest',
      'Should set hook preParsing if hook option is set to preParsing',
      'Should set hook preValidation if hook option is set to preValidation',
      'Should set hook preHandler if hook option is set to preHandler',
      'Should set hook preSerialization if hook option is set to preSerialization',
    ],
    failsWith: { error: 'CorsPolicyError', code: 'FST_CORS_POLICY_INVALID', message: declaredBefore },
    fastifyCors: '`fastify.register(cors)` without `await`, then `fastify.get(…)`: its hooks also cover the routes declared before it loaded',
    ours: '`ready()` rejects with a `CorsPolicyError` naming each such route and the fix',
    why: 'a policy is compiled and the `OPTIONS` route generated when a route is declared, which the plugin sees only once loaded; a route it cannot govern is refused at startup rather than left without CORS in silence. `await app.register(cors, …)`, or `register(cors)` then `register(routes)`',
  },
  {
    kind: 'difference',
    tests: [
      'Dynamic origin resolution (errored)',
      'Dynamic origin resolution (invalid result)',
      'Dynamic origin resolution (errored - promises)',
    ],
    failsWith: { error: 'AssertionError', message: /^Expected values to be strictly equal:\s+404 !== 500\s*$/ },
    fastifyCors: 'an origin function that fails, rejects or answers `undefined` turns the request into a 500',
    ours: 'the origin is not allowed: the request is answered as usual, without CORS headers (here the app\'s 404); a failure is logged at `error`',
    why: 'CORS decides which pages may read a response, not whether it is served: an outage of the origin lookup must not fail same-origin and server-to-server calls',
  },
  {
    kind: 'difference',
    tests: ['Should support wildcard arrays from dynamic origin resolvers'],
    failsWith: { error: 'AssertionError', message: /^Expected values to be strictly equal:[\s\S]*\+ 'https:\/\/client\.example'\s+- '\*'\s*$/ },
    fastifyCors: 'an origin function answering `\'*\'` or `[\'*\']` sends `Access-Control-Allow-Origin: *`',
    ours: 'the origin is allowed and answered with itself (and `Vary: Origin`); on a credentialed policy it is not allowed, and logged',
    why: 'an origin function decides per origin, and the same pages may read the answer. With credentials, browsers never accepted `*`, and reflecting the origin instead would let every site read your users\' data',
  },
  {
    kind: 'difference',
    tests: [
      'Should reply to preflight requests',
      'Should add access-control-allow-headers to response if preflight req has access-control-request-headers',
      'Should reply to preflight requests with custom status code',
      'Should reply to all options requests',
      'Should support a prefix for preflight requests',
      'Allow only request from with specific methods',
      'Should reply to all preflight requests when strictPreflight is disabled',
      'Default empty 200 response with preflightContinue on OPTIONS routes',
      'Should support ongoing prefix ',
    ],
    failsWith: { error: 'AssertionError', message: /^Expected values to be strictly equal:\s+404 !== 20[04]\s*$/ },
    fastifyCors: 'its catch-all `OPTIONS *` route answers a preflight for any URL, with or without a route there (204, or `optionsSuccessStatus`)',
    ours: 'a preflight is judged by the route the actual request will hit; on a path without routes the app answers as it would without the plugin (404)',
    why: 'no catch-all route, so wildcard routes and proxies keep their `OPTIONS`; each route\'s own policy applies to its preflights. A preflight that is allowed is a 204 whatever `optionsSuccessStatus` says',
  },
  {
    kind: 'difference',
    tests: [
      'Should reply with 400 error to OPTIONS requests missing origin header when default strictPreflight',
      'Should reply with 400 to OPTIONS requests when missing Access-Control-Request-Method header when default strictPreflight',
    ],
    failsWith: { error: 'AssertionError', message: /^Expected values to be strictly equal:\s+404 !== 400\s*$/ },
    fastifyCors: 'an `OPTIONS` without `Origin` or without `Access-Control-Request-Method` is a 400 `Invalid Preflight Request` (`strictPreflight`)',
    ours: 'it is a plain `OPTIONS`: the app\'s own `OPTIONS` route answers it, or the generated one (204 with `Allow`); here there is no route, so 404',
    why: 'browsers send both headers on every preflight: a request without them is not a preflight, and belongs to the application',
  },
  {
    kind: 'difference',
    tests: [
      'Should be able to override preflight response with a route',
      'Can override preflight response with preflightContinue',
    ],
    failsWith: { error: 'AssertionError', message: /^Expected values to be strictly equal:\s+403 !== 200\s*$/ },
    fastifyCors: 'with `preflightContinue`, a preflight goes on to the app\'s `OPTIONS` route, which answers it',
    ours: 'the plugin answers every preflight itself (here a 403: there is no `GET /` route for it to be judged by); the app\'s `OPTIONS` route answers plain `OPTIONS`',
    why: 'a preflight answered by application code is where CORS mistakes hide; `preflightContinue` is ignored',
  },
  {
    kind: 'difference',
    tests: ['hide options route by default', 'show options route'],
    // node:test reports a plan mismatch as a message, without an error.
    failsWith: { message: /^plan expected 2 assertions but received 1$/ },
    fastifyCors: 'declares an `OPTIONS *` route, hidden from OpenAPI unless `hideOptionsRoute: false`',
    ours: 'no `OPTIONS *` route: one generated `OPTIONS` route per CORS-enabled path, always hidden; `hideOptionsRoute` is ignored',
    why: 'a catch-all would take `OPTIONS` from wildcard routes and proxies; generated routes are plumbing, not API',
  },
  {
    kind: 'difference',
    tests: ['Silences preflight logs when logLevel is "silent"'],
    failsWith: { error: 'AssertionError', message: /^Expected values to be strictly equal:\s+true !== false\s*$/ },
    fastifyCors: '`logLevel` sets the log level of its `OPTIONS *` route',
    ours: 'ignored: preflights are logged as the app logs requests',
    why: 'there is no catch-all route to carry it, and a preflight\'s log line is how a browser\'s refusal is explained',
  },
  {
    kind: 'refused',
    tests: [
      'Should support dynamic config (callback)',
      'Should support dynamic config (Promise)',
      'Should support dynamic config. (Invalid function)',
    ],
    failsWith: { error: 'CorsPolicyError', code: 'FST_CORS_POLICY_INVALID', message: /^fromFastifyCors: are a function \(@fastify\/cors's register\(cors, \(\) => delegator\) form/ },
    fastifyCors: 'options given as a function, `register(cors, () => delegator)`: options decided per request',
    ours: '`fromFastifyCors: are a function (…), which has no equivalent`',
    why: 'declare each route\'s policy in its `config.cors` (or name shared ones in `policies`); preflights honour it too',
  },
  {
    kind: 'refused',
    tests: [
      'Should support custom hook with dynamic config',
      'Should support custom hook with dynamic config (callback)',
      'Should support custom hook with dynamic config (Promise)',
      'Should support custom hook with dynamic config (Promise), but should error /1',
      'Should support custom hook with dynamic config (Promise), but should error /2',
      'delegator + logLevel:"silent" → OPTIONS logs are suppressed',
      'delegator + hideOptionsRoute:false → OPTIONS route is visible',
    ],
    // The (callback) test checks the refusal in inject callbacks, where node:test reports an assertion
    // quoting it; or, when its 1 ms sleep ends first, that none of its 16 assertions ran.
    failsWith: { message: /^(?:ifError got unwanted exception: )?fromFastifyCors: \/delegator has no equivalent|^plan expected 16 assertions but received 0$/ },
    fastifyCors: '`delegator`',
    ours: '`fromFastifyCors: /delegator has no equivalent`',
    why: 'the same: per-route policies',
  },
  {
    kind: 'refused',
    tests: ['Should error on invalid hook option', 'Should error on onSend hook option', 'Should error on onSend hook option with delegator'],
    failsWith: { error: 'AssertionError', message: /^Expected values to be strictly equal:[\s\S]*\+ 'CorsPolicyError'\s+- 'TypeError'\s*$/ },
    fastifyCors: '`hook: \'invalid\'`, `hook: \'onSend\'` (with or without `delegator`), which @fastify/cors refuses with a `TypeError`',
    ours: 'refused too, with a `CorsPolicyError`: `fromFastifyCors: /hook is the string "onSend", which @fastify/cors refuses too`',
    why: 'leave `hook` out: preflights are answered in `onRequest` and headers set in `onSend` whatever it says',
  },
  {
    kind: 'refused',
    tests: [
      'Should add cors headers (custom values)',
      'Allow only request from a specific origin',
      'Allow only request from multiple specific origin',
    ],
    failsWith: { error: 'CorsPolicyError', code: 'FST_CORS_POLICY_INVALID', message: /^default policy: \/origins\/0 "[a-z.]+" does not start with scheme:\/\// },
    fastifyCors: '`origin: \'example.com\'`: no browser sends such an origin',
    ours: '`default policy: /origins/0 "example.com" does not start with scheme://`',
    why: 'write origins as browsers send them: `https://example.com`',
  },
  {
    kind: 'refused',
    tests: ['Allow only request from a specific origin using regex'],
    failsWith: { error: 'CorsPolicyError', code: 'FST_CORS_POLICY_INVALID', message: /^fromFastifyCors: \/origin \/\(\?:example\|other\)\\\.com\\\/\?\$\/giu is not anchored/ },
    fastifyCors: '`origin: /(?:example|other)\\.com\\/?$/giu`, unanchored: it also matches `https://example.com.evil.io`',
    ours: '`fromFastifyCors: /origin … is not anchored, so it also matches look-alike origins`',
    why: 'anchor it (`/^https:\\/\\/(www\\.)?(example|other)\\.com$/`), or keep the old meaning with `{ dangerouslyAllowUnsafeOrigins: true }`',
  },
  {
    kind: 'refused',
    tests: ['Server error if origin option is falsy but not false'],
    failsWith: { error: 'CorsPolicyError', code: 'FST_CORS_POLICY_INVALID', message: /^fromFastifyCors: \/origin is the string "", which @fastify\/cors answered with a 500 on every request/ },
    fastifyCors: '`origin: \'\'`, which @fastify/cors answers with a 500 on every request',
    ours: '`fromFastifyCors: /origin is the string ""`',
    why: 'list the origins, or `origin: false` for no CORS',
  },
]

function cell (text: string): string {
  return text.replace(/\|/g, '\\|')
}

function codeSpan (name: string): string {
  return name.includes('`') ? `\`\` ${name} \`\`` : `\`${name}\``
}

/**
 * The part of docs/migration.md about the suite, generated from the list: the counts and one table per kind.
 * `declared` is the suite's test names as they run (a name may occur twice); when the document differs,
 * fastify-cors-suite.test.ts shows what to paste.
 */
export function suiteSection (declared: readonly string[], version: string): string {
  const occurrences = (name: string): number => declared.filter((declaredName) => declaredName === name).length
  const count = (kind: ExpectedFailure['kind']): number => expectedFailures.filter((entry) => entry.kind === kind)
    .reduce((sum, entry) => sum + entry.tests.reduce((tests, name) => tests + occurrences(name), 0), 0)
  const differences = count('difference')
  const refused = count('refused')
  const name = (test: string): string => cell(codeSpan(test)) + (occurrences(test) > 1 ? ` (${occurrences(test)} tests)` : '')
  const rows = (kind: ExpectedFailure['kind']): string[] => expectedFailures.filter((entry) => entry.kind === kind).map((entry) =>
    `| ${entry.tests.map(name).join('<br>')} | ${cell(entry.fastifyCors)} | ${cell(entry.ours)} | ${cell(entry.why)} |`)
  return [
    `Of the ${declared.length} tests of @fastify/cors ${version}, ${declared.length - differences - refused} pass, ${differences} fail on a documented ` +
      `difference and ${refused} on an option refused at startup.`,
    '',
    '| @fastify/cors tests | @fastify/cors | fastify-cors-policy | why |',
    '| --- | --- | --- | --- |',
    ...rows('difference'),
    '',
    '| @fastify/cors tests | option | refused at startup with | write instead |',
    '| --- | --- | --- | --- |',
    ...rows('refused'),
  ].join('\n')
}
