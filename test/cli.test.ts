// `fastify-cors-policy check`: the browser's verdict on a live API, with the reason and the fix.
// Against a plain node:http API that makes the usual mistakes (test/cli-cases.ts), and a Fastify
// app with the plugin for the diagnosis of a refused preflight. In-process calls of main() for each
// case, and the real bin spawned as a user runs it.
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import cors from '../lib/index.ts'
import { main } from '../lib/cli.ts'
import { chromiumMessage, firefoxMessage, fix, sentence } from '../lib/tools/browser/messages.ts'
import type { Blocked, Failure } from '../lib/tools/browser/fetch.ts'
import { MISTAKES, startMistakesApi } from './cli-cases.ts'
import { makeTestCertificate } from './certificate.ts'

const PAGE = 'http://localhost:3000'
const root = fileURLToPath(new URL('..', import.meta.url))

interface BinResult { status: number | null, stdout: string, stderr: string }

/** Runs the package's bin in a checkout, as a user does, and collects what it printed. */
function runBin (args: string[], env: NodeJS.ProcessEnv): Promise<BinResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`${root}bin/fastify-cors-policy.js`, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => { stdout += chunk })
    child.stderr.on('data', (chunk) => { stderr += chunk })
    child.on('error', reject)
    child.on('close', (status) => resolve({ status, stdout, stderr }))
  })
}
const api = await startMistakesApi(PAGE)
t.teardown(() => api.close())

/** Runs the command in-process: its exit status, stdout and stderr. */
async function run (...argv: string[]): Promise<{ status: number, stdout: string, stderr: string }> {
  let stdout = ''
  let stderr = ''
  const status = await main(argv, { stdout: (text) => { stdout += text }, stderr: (text) => { stderr += text } })
  return { status, stdout, stderr }
}

function argsOf (c: typeof MISTAKES[number], origin = PAGE): string[] {
  const args = ['check', api.origin + c.path, '--origin', origin]
  if (c.method !== undefined) args.push('--method', c.method)
  for (const [name, value] of Object.entries(c.headers ?? {})) args.push('--header', `${name}:${value}`)
  if (c.credentials === true) args.push('--credentials')
  return args
}

interface Report {
  ok: boolean
  preflight: boolean
  reason: string | null
  firefoxReason: string | null
  fix: string | null
  steps: Array<{ kind: string, method: string, url: string, headers: Record<string, string>, status: number, responseHeaders: Record<string, string> }>
  exposedHeaders: string[]
  hiddenHeaders: string[]
  browserDifferences: string[]
  diagnosis: { refused: string, headers: string[], plugin: boolean, field: string | null, finding: string, fix: string, probes: unknown[] } | null
}

/** What each case's reason (as Chromium's console words it) and fix must say. */
const EXPECTED: Record<string, { reason?: RegExp, fix?: RegExp, exposed?: string[], hidden?: string[] }> = {
  'no Access-Control-Allow-Origin': { reason: /: No 'Access-Control-Allow-Origin' header is present on the requested resource\.$/, fix: /^If http:\/\/localhost:3000 should read this, answer GET \S+\/no-acao with Access-Control-Allow-Origin: http:\/\/localhost:3000\.$/ },
  'Access-Control-Allow-Origin names another origin': { reason: /has a value 'https:\/\/app\.example\.com' that is not equal to the supplied origin/, fix: /^If http:\/\/localhost:3000 should read this, answer GET \S+ with Access-Control-Allow-Origin: http:\/\/localhost:3000 exactly/ },
  'Access-Control-Allow-Origin with a trailing slash': { reason: /has a value 'http:\/\/localhost:3000\/' that is not equal/, fix: /^If http:\/\/localhost:3000 should read this, answer GET \S+ with Access-Control-Allow-Origin: http:\/\/localhost:3000, without the trailing slash\.$/ },
  'Access-Control-Allow-Origin with two origins': { reason: /contains multiple values 'http:\/\/localhost:3000, https:\/\/app\.example\.com', but only one is allowed/, fix: /^Send one origin, not a list\. If http:\/\/localhost:3000 should read this, answer with Access-Control-Allow-Origin: http:\/\/localhost:3000 / },
  '* with credentials': { reason: /must not be the wildcard '\*' when the request's credentials mode is 'include'/, fix: /^With credentials, '\*' is refused\. If http:\/\/localhost:3000 should read this with your users' cookies, answer GET \S+ with Access-Control-Allow-Origin: http:\/\/localhost:3000 and Access-Control-Allow-Credentials: true \(echo the allowed Origin, with Vary: Origin\); otherwise call it without credentials\. With credentials, that lets pages of http:\/\/localhost:3000 send requests as the signed-in user \(with their cookies\) and read the answers: allow only an origin you trust as you trust your own\.$/ },
  'credentials without Access-Control-Allow-Credentials': { reason: /'Access-Control-Allow-Credentials' header in the response is '' which must be 'true'/, fix: /^If http:\/\/localhost:3000 should read this with your users' cookies, answer GET \S+ with Access-Control-Allow-Credentials: true \(exactly that value\); otherwise call it without credentials\. With credentials, that lets pages of http:\/\/localhost:3000 send requests as the signed-in user/ },
  'a preflight without Access-Control-Allow-Methods': { reason: /: Method PUT is not allowed by Access-Control-Allow-Methods in preflight response\.$/, fix: /Access-Control-Allow-Methods: PUT/ },
  'a preflight answered 404': { reason: /Response to preflight request doesn't pass access control check: No 'Access-Control-Allow-Origin' header/, fix: /^if http:\/\/localhost:3000 should read this, answer preflights from http:\/\/localhost:3000 with 204/ },
  'a preflight answered with a redirect': { reason: /Response to preflight request doesn't pass access control check: Redirect is not allowed for a preflight request\.$/, fix: /itself with 204/ },
  'Access-Control-Allow-Headers: * and Authorization': { reason: /Request header field authorization is not allowed by Access-Control-Allow-Headers/, fix: /List authorization by name/ },
  'lower-case patch against PATCH': { reason: /Method patch is not allowed/, fix: /write method: 'PATCH' in the page's fetch\(\)/ },
  'a header the preflight does not allow': { reason: /Request header field x-debug is not allowed/, fix: /Access-Control-Allow-Headers: content-type, x-debug \(it lacks x-debug\)/ },
  'exposed and hidden response headers': { exposed: ['content-type', 'x-request-id'], hidden: ['date', 'x-trace-id'] },
  'a redirect to a response without Access-Control-Allow-Origin': { reason: /^Access to fetch at '\S+\/no-acao' \(redirected from '\S+\/redirect-no-acao'\) from origin/, fix: /^If http:\/\/localhost:3000 should read this, answer GET \S+\/no-acao with/ },
  'a redirect without Access-Control-Allow-Origin': { reason: /at '\S+\/redirect-bare' from origin/ },
  'a redirect to another origin that allows only the page': {
    reason: /^Access to fetch at 'http:\/\/127\.0\.0\.1:\d+\/ok' \(redirected from/,
    fix: /^If pages with an opaque origin \(Origin: null: .*allowing null allows every site\), answer GET \S+ with Access-Control-Allow-Origin: null exactly.*the request's Origin is null/,
  },
}

t.test('every mistake: the verdict of the Fetch standard, the exit status, the reason and the fix (--json)', async (t) => {
  for (const c of MISTAKES) {
    const { status, stdout, stderr } = await run(...argsOf(c), '--json')
    const report = JSON.parse(stdout) as Report
    t.equal(stderr, '', `${c.name}: nothing on stderr`)
    t.equal(status, c.ok ? 0 : 1, `${c.name}: exit ${c.ok ? 0 : 1}`)
    t.equal(report.ok, c.ok, `${c.name}: ok ${c.ok}`)
    t.equal(report.preflight, c.preflight, `${c.name}: ${c.preflight ? 'preflighted' : 'no preflight'}`)
    t.equal(report.steps[0]?.kind, c.preflight ? 'preflight' : 'request', `${c.name}: the first step`)
    t.equal(report.reason === null, c.ok, `${c.name}: a reason exactly when refused`)
    const expected = EXPECTED[c.name] ?? {}
    if (expected.reason !== undefined) t.match(report.reason, expected.reason, `${c.name}: the reason`)
    if (expected.fix !== undefined) t.match(report.fix, expected.fix, `${c.name}: the fix`)
    if (expected.exposed !== undefined) t.same(report.exposedHeaders, expected.exposed, `${c.name}: readable headers`)
    if (expected.hidden !== undefined) t.same(report.hiddenHeaders, expected.hidden, `${c.name}: hidden headers`)
    t.same(report.browserDifferences, c.browsers === undefined
      ? []
      : [
          'Chromium and Firefox let Access-Control-Allow-Headers: * cover Authorization, which the Fetch standard does not: both accept this preflight.',
        ], `${c.name}: browser differences`)
  }
})

t.test('past a redirect to another origin the request carries Origin: null, and Authorization is dropped', async (t) => {
  api.seen.length = 0
  const { status } = await run('check', `${api.origin}/redirect-elsewhere`, '--origin', PAGE, '--json')
  t.equal(status, 0)
  t.same(api.seen, [`GET /redirect-elsewhere origin=${PAGE}`, 'GET /null-ok origin=null'])
  const { stdout } = await run('check', `${api.origin}/redirect-elsewhere`, '--origin', PAGE, '--json', '--header', 'authorization:Bearer t')
  const report = JSON.parse(stdout) as Report
  t.same(report.steps.map((step) => [step.kind, step.method, Object.keys(step.headers)]), [
    ['preflight', 'OPTIONS', ['origin', 'access-control-request-method', 'access-control-request-headers']],
  ], 'with authorization the first request needs a preflight, which this route does not answer')
})

t.test('the text for people: each request with its CORS headers, the verdict, the reason and the fix', async (t) => {
  const blocked = await run('check', `${api.origin}/json`, '--origin', PAGE, '--method', 'post', '--header', 'Content-Type: application/json', '--header', 'x-debug:1')
  t.equal(blocked.status, 1)
  t.equal(blocked.stdout, [
    `OPTIONS ${api.origin}/json  (preflight)`,
    `  origin: ${PAGE}`,
    '  access-control-request-method: POST',
    '  access-control-request-headers: content-type,x-debug',
    '→ 204',
    `  access-control-allow-origin: ${PAGE}`,
    '  access-control-allow-methods: POST',
    '  access-control-allow-headers: content-type',
    '',
    `Blocked: a page at ${PAGE} cannot read this response.`,
    `Reason: Access to fetch at '${api.origin}/json' from origin '${PAGE}' has been blocked by CORS policy: Request header field x-debug is not allowed by Access-Control-Allow-Headers in preflight response.`,
    `  (Firefox: Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at ${api.origin}/json. (Reason: header ‘x-debug’ is not allowed according to header ‘Access-Control-Allow-Headers’ from CORS preflight response).)`,
    'Fix: Answer the preflight with Access-Control-Allow-Headers: content-type, x-debug (it lacks x-debug).',
    '',
  ].join('\n'))
  const allowed = await run('check', `${api.origin}/exposed`, '--origin', PAGE)
  t.equal(allowed.status, 0)
  t.match(allowed.stdout, `Allowed: a page at ${PAGE} can read this response (200).\nReadable by its script: content-type, x-request-id.\n` +
    'Hidden from it: date, x-trace-id (list a name in Access-Control-Expose-Headers to expose it).')
  const plain = await run('check', `${api.origin}/ok`, '--origin', PAGE)
  t.match(plain.stdout, 'Readable by its script: no header.\nHidden from it: date (', 'CORS and connection headers are not listed as hidden')
  const star = await run('check', `${api.origin}/any-header`, '--origin', PAGE, '--header', 'authorization:Bearer t')
  t.match(star.stdout, 'Note: Chromium and Firefox let Access-Control-Allow-Headers: * cover Authorization, which the Fetch standard does not: ' +
    'both accept this preflight. (The verdict above follows the Fetch standard.)')
  const redirect = await run('check', `${api.origin}/redirect-bare`, '--origin', PAGE)
  t.match(redirect.stdout, '→ 302\n  location: /ok\n  (no Access-Control-* header)\n')
})

t.test('a refused preflight of a server running the plugin: the part refused, found by re-sending it, and the policy field', async (t) => {
  const app = Fastify()
  await app.register(cors, { default: { origins: [PAGE], allowHeaders: ['content-type'] } })
  app.get('/items', async () => 'items')
  app.post('/items', async () => 'created')
  app.patch('/items', async () => 'patched')
  app.get('/public', { config: { cors: { origins: '*' } } }, async () => 'public')
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const url = `http://localhost:${(app.server.address() as AddressInfo).port}`
  const check = async (...args: string[]) => {
    const { status, stdout } = await run('check', ...args, '--json')
    t.equal(status, 1)
    return JSON.parse(stdout) as Report
  }
  const header = await check(`${url}/items`, '--origin', PAGE, '--method', 'POST', '--header', 'content-type:application/json', '--header', 'x-debug:1')
  t.match(header.reason, /Response to preflight request doesn't pass access control check: No 'Access-Control-Allow-Origin' header/)
  t.match(header.diagnosis, { refused: 'header', headers: ['x-debug'], plugin: true, field: 'allowHeaders', finding: /refused because of the header x-debug: without it, the preflight is allowed/ })
  t.equal(header.fix, "add 'x-debug' to the route policy's allowHeaders (fastify-cors-policy), e.g. allowHeaders: ['content-type', 'x-debug'].")
  t.equal(header.diagnosis?.probes.length, 3, 'without any header, then each header alone')

  const method = await check(`${url}/items`, '--origin', PAGE, '--method', 'DELETE')
  t.match(method.diagnosis, { refused: 'method', plugin: true, field: 'methods', fix: /declare a DELETE route on this path.*or add 'DELETE' to its policy's methods/ })

  const lower = await check(`${url}/items`, '--origin', PAGE, '--method', 'patch')
  t.match(lower.diagnosis, { refused: 'method-case', field: null, finding: /a preflight for PATCH is allowed, one for patch is not/ })

  const lowerText = await run('check', `${url}/items`, '--origin', PAGE, '--method', 'patch')
  t.match(lowerText.stdout, '(1 preflight re-sent); the server runs fastify-cors-policy.')
  const origin = await check(`${url}/items`, '--origin', 'https://evil.example', '--method', 'PUT')
  t.match(origin.diagnosis, { refused: 'origin', plugin: true, field: 'origins', fix: /^if https:\/\/evil\.example should read this, add 'https:\/\/evil\.example' to the route policy's origins \(fastify-cors-policy\), and check that the route is CORS-enabled/ })
  const credentialed = await check(`${url}/items`, '--origin', 'https://evil.example', '--method', 'PUT', '--credentials')
  t.match(credentialed.diagnosis, {
    refused: 'origin',
    fix: /^if https:\/\/evil\.example should read this with your users' cookies, add 'https:\/\/evil\.example' to the route policy's origins [^]*\. With credentials, that lets pages of https:\/\/evil\.example send requests as the signed-in user \(with their cookies\) and read the answers: allow only an origin you trust as you trust your own\.$/,
  })

  const text = await run('check', `${url}/items`, '--origin', PAGE, '--method', 'POST', '--header', 'x-debug:1', '--header', 'x-trace:1')
  t.match(text.stdout, 'Found: refused because of the headers x-debug, x-trace: without them, the preflight is allowed (3 preflights re-sent); the server runs fastify-cors-policy.\n')
  t.match(text.stdout, "Fix: add them to the route policy's allowHeaders (fastify-cors-policy), e.g. allowHeaders: ['x-debug', 'x-trace'].")
})

t.test('the diagnosis of a server that is not the plugin names headers, not policy fields', async (t) => {
  const server = createServer((request, response) => {
    const acrh = String(request.headers['access-control-request-headers'] ?? '')
    const both = acrh.includes('x-a') && acrh.includes('x-b')
    const ok = request.method === 'OPTIONS' && !both && (request.url !== '/get-only' || request.headers['access-control-request-method'] === 'GET')
    response.setHeader('x-repeated', ['1', '2', '3'])
    response.writeHead(ok ? 204 : 400, ok ? { 'access-control-allow-origin': PAGE, 'access-control-allow-methods': 'PUT', 'access-control-allow-headers': 'x-a, x-b' } : {})
    response.end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const url = `http://localhost:${(server.address() as AddressInfo).port}`
  const { stdout } = await run('check', `${url}/x`, '--origin', PAGE, '--method', 'PUT', '--header', 'x-a:1', '--header', 'x-b:1', '--json')
  const together = JSON.parse(stdout) as Report
  t.match(together.diagnosis, { refused: 'header', headers: [], plugin: false, field: null, finding: /refused because of the request headers together \(x-a, x-b\)/ })
  t.equal(together.fix, 'answer the preflight with Access-Control-Allow-Headers: x-a, x-b (it refuses x-a, x-b).')
  const getOnly = JSON.parse((await run('check', `${url}/get-only`, '--origin', PAGE, '--method', 'PUT', '--json')).stdout) as Report
  t.match(getOnly.diagnosis, { refused: 'method', plugin: false, fix: 'answer the preflight for PUT with a 2xx and Access-Control-Allow-Methods: PUT.' })
  t.equal(getOnly.steps[0]?.responseHeaders['x-repeated'], '1, 2, 3', 'a header received three times, joined as a browser does')
  const text = await run('check', `${url}/get-only`, '--origin', PAGE, '--method', 'PUT')
  t.match(text.stdout, '\nFound: refused because of the method PUT: a preflight for GET is allowed (1 preflight re-sent).\n')
  const none = JSON.parse((await run('check', `${url}/get-only`, '--origin', PAGE, '--method', 'GET', '--header', 'x-a:1', '--header', 'x-b:1', '--json')).stdout) as Report
  t.match(none.diagnosis, { refused: 'header', headers: [] }, 'GET with both headers')
})

t.test('usage errors and unreachable servers exit 2 with the error on stderr; --help exits 0', async (t) => {
  const usage: Array<[string[], RegExp]> = [
    [[], /no command: the command is check/],
    [['test', 'http://x'], /unknown command test/],
    [['check'], /check takes one URL/],
    [['check', 'http://a.example', 'http://b.example', '--origin', PAGE], /check takes one URL/],
    [['check', 'ftp://a.example/x', '--origin', PAGE], /is not an http\(s\) URL/],
    [['check', 'a.example/x', '--origin', PAGE], /is not an http\(s\) URL/],
    [['check', 'http://a.example/x'], /--origin is required/],
    [['check', 'http://a.example/x', '--origin', `${PAGE}/`], /is not an origin as browsers send it.*\(http:\/\/localhost:3000\)$/m],
    [['check', 'http://a.example/x', '--origin', 'localhost:3000'], /is not an origin as browsers send it: scheme:\/\/host\[:port\], lower case, no path, no trailing slash$/m],
    [['check', 'http://a.example/x', '--origin', 'http://a.example'], /same-origin request is not a CORS request/],
    [['check', 'http://a.example/x', '--origin', PAGE, '--method', 'GE T'], /is not an HTTP method/],
    [['check', 'http://a.example/x', '--origin', PAGE, '--header', 'x-a'], /--header x-a is not name:value/],
    [['check', 'http://a.example/x', '--origin', PAGE, '--header', 'x a:1'], /is not name:value/],
    [['check', 'http://a.example/x', '--origin', PAGE, '--header', 'Cookie:a=b'], /--header cookie: a forbidden request header/],
    [['check', 'http://a.example/x', '--origin', PAGE, '--timeout', '0'], /--timeout 0 is not a number of milliseconds/],
    [['check', 'http://a.example/x', '--origin', PAGE, '--bogus'], /Unknown option '--bogus'/],
  ]
  for (const [argv, message] of usage) {
    const { status, stdout, stderr } = await run(...argv)
    t.equal(status, 2, argv.join(' '))
    t.equal(stdout, '')
    t.match(stderr, message, argv.join(' '))
    t.match(stderr, /Run fastify-cors-policy --help for the options\.\n$/)
  }
  const help = await run('--help')
  t.equal(help.status, 0)
  t.match(help.stdout, /^Usage: fastify-cors-policy check <url> --origin <origin> \[options\]/)

  // Nothing listens on port 1; a server that accepts and never answers, with a short --timeout.
  const refused = await run('check', 'http://localhost:1/x', '--origin', PAGE)
  t.equal(refused.status, 2)
  t.match(refused.stderr, /^fastify-cors-policy: cannot reach http:\/\/localhost:1\/x: connect ECONNREFUSED/)
  const https = await run('check', 'https://localhost:1/x', '--origin', PAGE)
  t.match([https.status, https.stderr], [2, /cannot reach https:\/\/localhost:1\/x/])
  const silent = createServer(() => {})
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { silent.closeAllConnections(); silent.close() })
  const slow = await run('check', `http://localhost:${(silent.address() as AddressInfo).port}/x`, '--origin', PAGE, '--timeout', '50')
  t.match([slow.status, slow.stderr], [2, /no answer within 50 ms/])
})

t.test('every refusal in words: corsCheck\'s sentence, the consoles of Chromium and Firefox, and the fix', async (t) => {
  const at = (failure: Failure, more: Partial<Blocked> = {}): Blocked => ({
    failure,
    method: 'GET',
    url: 'http://api.test/b',
    firstUrl: 'http://api.test/a',
    preflight: false,
    hops: 1,
    status: null,
    requestHeaders: [],
    pageOrigin: PAGE,
    requestOrigin: PAGE,
    credentials: false,
    ...more,
  })
  const network = 'Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at http://api.test/b. (Reason: CORS request did not succeed). Status code: (null).'
  const cases: Array<[Blocked, string, string, RegExp]> = [
    [at({ kind: 'redirect-locations', status: 302 }), 'after 1 redirect, at GET http://api.test/b: the 302 redirect has several Location headers, which is a network error',
      'Failed to load resource: net::ERR_RESPONSE_HEADERS_MULTIPLE_LOCATION', /one Location header/],
    [at({ kind: 'redirect-location', status: 302, location: 'http://[' }), 'after 1 redirect, at GET http://api.test/b: the 302 redirect\'s Location "http://[" is not a URL, which is a network error',
      'Failed to load resource: net::ERR_INVALID_REDIRECT', /a valid URL/],
    [at({ kind: 'redirect-scheme', status: 301, location: 'data:,x', scheme: 'data:' }, { hops: 0 }), 'the 301 redirect goes to a data: URL; fetch follows only http(s) redirects (a network error)',
      'Failed to load resource: net::ERR_UNSAFE_REDIRECT', /http\(s\) URLs only/],
    [at({ kind: 'redirect-limit', status: 302, limit: 20 }, { hops: 20 }), 'after 20 redirects, at GET http://api.test/b: the 302 redirect is one more than the 20 that fetch follows (a network error)',
      'Failed to load resource: net::ERR_TOO_MANY_REDIRECTS', /redirect loop/],
    [at({ kind: 'redirect-credentials', status: 302, location: 'http://u:p@api.test/' }, { hops: 0 }), 'the 302 redirect\'s Location includes credentials (user:pass@), which a CORS request refuses (a network error)',
      `Access to fetch at 'http://api.test/b' from origin '${PAGE}' has been blocked by CORS policy: Redirect location '' contains a username and password, which is disallowed for cross-origin requests.`, /without user:password@/],
    [at({ kind: 'redirect-unreachable', status: 302, location: 'http://other.test/', why: 'another origin' }, { hops: 0 }), 'the 302 redirect goes to another origin',
      'the 302 redirect goes to another origin', /redirect's target/],
    [at({ kind: 'preflight-status', status: 500, cors: null }, { hops: 0, preflight: true, method: 'PUT', credentials: true, requestHeaders: ['x-a'], status: 500 }), 'the preflight was answered with 500, not an ok status',
      `Access to fetch at 'http://api.test/b' from origin '${PAGE}' has been blocked by CORS policy: Response to preflight request doesn't pass access control check: It does not have HTTP ok status.`,
      /^If http:\/\/localhost:3000 should read this with your users' cookies, answer the preflight \(OPTIONS http:\/\/api\.test\/b\) with 204 \(any 2xx\), Access-Control-Allow-Origin: http:\/\/localhost:3000, Access-Control-Allow-Credentials: true, Access-Control-Allow-Methods: PUT, Access-Control-Allow-Headers: x-a\. With credentials, that lets pages of http:\/\/localhost:3000 send requests as the signed-in user/],
    [at({ kind: 'allow-origin-star' }, { hops: 0, preflight: true, credentials: true, status: 204 }), 'the preflight\'s Access-Control-Allow-Origin is \'*\', which is refused with credentials',
      `Access to fetch at 'http://api.test/b' from origin '${PAGE}' has been blocked by CORS policy: Response to preflight request doesn't pass access control check: The value of the 'Access-Control-Allow-Origin' header in the response must not be the wildcard '*' when the request's credentials mode is 'include'.`,
      /^With credentials, '\*' is refused\. If http:\/\/localhost:3000 should read this with your users' cookies, answer the preflight \(OPTIONS http:\/\/api\.test\/b\) with Access-Control-Allow-Origin: http:\/\/localhost:3000 and/],
    [at({ kind: 'allow-origin-missing' }, { requestOrigin: 'null', credentials: true, status: 200 }), 'after 1 redirect, at GET http://api.test/b: the response has no Access-Control-Allow-Origin header',
      `Access to fetch at 'http://api.test/b' (redirected from 'http://api.test/a') from origin '${PAGE}' has been blocked by CORS policy: No 'Access-Control-Allow-Origin' header is present on the requested resource.`,
      /^If pages with an opaque origin \(Origin: null: sandboxed frames, data: and file: pages, requests redirected from another origin\) should read this with your users' cookies \(any site can make its page opaque: allowing null allows every site\), answer GET http:\/\/api\.test\/b with Access-Control-Allow-Origin: null and Access-Control-Allow-Credentials: true \(after a redirect.*\)\. With credentials, that lets such pages send requests as the signed-in user/],
    [at({ kind: 'method', method: 'PURGE' }, { hops: 0, preflight: true }), 'the method PURGE is not in the preflight\'s Access-Control-Allow-Methods',
      `Access to fetch at 'http://api.test/b' from origin '${PAGE}' has been blocked by CORS policy: Method PURGE is not allowed by Access-Control-Allow-Methods in preflight response.`,
      /Access-Control-Allow-Methods: PURGE \(a list such as GET, POST, PURGE works too\)/],
  ]
  for (const [blocked, expectedSentence, chromium, expectedFix] of cases) {
    t.equal(sentence(blocked), expectedSentence)
    t.equal(chromiumMessage(blocked), chromium)
    t.match(fix(blocked), expectedFix)
    if (blocked.failure.kind.startsWith('redirect-') && blocked.failure.kind !== 'redirect-unreachable') t.equal(firefoxMessage(blocked), network.replace('/b', blocked.url.slice(15)))
  }
  t.equal(firefoxMessage(cases[6]![0]), 'Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at http://api.test/b. (Reason: CORS preflight response did not succeed). Status code: 500.')
  t.equal(firefoxMessage(cases[5]![0]), 'the 302 redirect goes to another origin')
  t.equal(fix(at({ kind: 'preflight-status', status: 404, cors: null }, { hops: 0, preflight: true, method: 'DELETE' })),
    `If ${PAGE} should read this, answer the preflight (OPTIONS http://api.test/b) with 204 (any 2xx), Access-Control-Allow-Origin: ${PAGE}, Access-Control-Allow-Methods: DELETE.`)
  t.match(firefoxMessage(cases[7]![0]), /at ‘http:\/\/api\.test\/b’\. \(Reason: Credential is not supported/)
})

t.test('the real command, as a user runs it: the bin in a checkout runs the sources', async (t) => {
  const env = { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0' }
  const bin = (args: string[]): Promise<BinResult> => runBin(args, env)
  const [blocked, allowed, usage] = await Promise.all([
    bin(['check', `${api.origin}/trailing-slash`, '--origin', PAGE, '--json']),
    bin(['check', `${api.origin}/ok`, '--origin', PAGE]),
    bin(['check', `${api.origin}/ok`]),
  ])
  t.equal(blocked.status, 1, blocked.stderr)
  t.match(JSON.parse(blocked.stdout), { ok: false, preflight: false, reason: /has a value 'http:\/\/localhost:3000\/' that is not equal to the supplied origin/, exposedHeaders: [] })
  t.equal(allowed.status, 0, allowed.stderr)
  t.match(allowed.stdout, `Allowed: a page at ${PAGE} can read this response (200).`)
  t.equal(usage.status, 2)
  t.match(usage.stderr, '--origin is required')
  const manifest = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { bin: Record<string, string>, files: string[] }
  t.same(manifest.bin, { 'fastify-cors-policy': './bin/fastify-cors-policy.js' })
  t.ok(manifest.files.includes('bin'), 'the bin is packed')
})

t.test('the plugin never loads the browser model or the command; the browser model imports nothing of the plugin', async (t) => {
  const importsOf = (file: string): string[] => [...readFileSync(`${root}${file}`, 'utf8').matchAll(/^(?:import|export)\b[^'"]*?from '([^']+)'/gm)].map((m) => m[1]!)
  const reached = new Set<string>()
  const walk = (file: string): void => {
    if (reached.has(file)) return
    reached.add(file)
    for (const target of importsOf(file)) {
      if (target.startsWith('.')) walk(new URL(target, `file:///${file}`).pathname.slice(1))
    }
  }
  walk('lib/index.ts')
  t.ok(reached.size > 10, 'the plugin\'s own modules are found')
  t.same([...reached].filter((file) => file.startsWith('lib/tools/browser/') || file === 'lib/cli.ts' || file === 'lib/testing.ts'), [])
  const files = readdirSync(`${root}lib/tools/browser`).filter((file) => file.endsWith('.ts'))
  t.ok(files.length >= 11)
  for (const file of files) {
    // tldts, a package, holds the Public Suffix List (site.ts); nothing of the plugin is imported.
    const outside = importsOf(`lib/tools/browser/${file}`).filter((target) => !target.startsWith('./') && !target.startsWith('node:') && target !== 'tldts')
    t.same(outside, [], `lib/tools/browser/${file} imports only lib/tools/browser/, node: and tldts`)
  }
})

/** A plain node:http API for the cookie section: same-site from PAGE on localhost, cross-site as 127.0.0.1. */
async function startCookieApi (t: Test): Promise<{ origin: string, elsewhere: string, seen: Array<string | undefined> }> {
  const seen: Array<string | undefined> = []
  const server = createServer((request, response) => {
    seen.push(request.headers.cookie)
    const allow = { 'access-control-allow-origin': PAGE, 'access-control-allow-credentials': 'true' }
    const path = request.url ?? '/'
    if (request.method === 'OPTIONS') {
      response.writeHead(403, { vary: 'Access-Control-Request-Method, Access-Control-Request-Headers', 'content-length': '0', 'set-cookie': 'pf=s3cr3t; SameSite=Lax' })
      response.end()
      return
    } else if (path === '/refused') {
      response.writeHead(200, { 'set-cookie': 'sid=s3cr3t; Path=/; SameSite=Lax' })
    } else if (path === '/hop') {
      response.writeHead(302, { ...allow, location: '/plain', 'set-cookie': 'hop=s3cr3t' })
    } else if (path === '/plain') {
      response.writeHead(200, { ...allow, 'set-cookie': ['plain=s3cr3t', 'other=s3cr3t; Path=/'] })
    } else {
      response.writeHead(200, { ...allow, 'set-cookie': ['sid=s3cr3t; Path=/; SameSite=Lax; HttpOnly', 'loose=s3cr3t; SameSite=None'] })
    }
    response.end('ok')
  })
  server.keepAliveTimeout = 100
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  return { origin: `http://localhost:${port}`, elsewhere: `http://127.0.0.1:${port}`, seen }
}

t.test('the cookie section: after the CORS verdict, each cookie the answers set, per engine, with the fix; never a value', async (t) => {
  const cookieApi = await startCookieApi(t)
  const text = await run('check', `${cookieApi.origin}/login`, '--origin', PAGE, '--credentials', '--cookie', 'session=hunter2', '--cookie', 'theme=dark')
  t.equal(text.status, 0, 'CORS allows it; a refused cookie does not change the exit status')
  t.equal(cookieApi.seen.at(-1), 'session=hunter2; theme=dark', 'the --cookie cookies go along as a browser sends them')
  t.match(text.stdout, '  cookie: session=…; theme=…\n')
  t.match(text.stdout, /Allowed: [^]*\n\nCookies: CORS allows the response; of the 2 cookies set, Chromium sends back sid, Firefox sends back sid\.\n/)
  t.match(text.stdout, /Cookie sid \(Path=\/; SameSite=Lax; HttpOnly\), set by the response to http:\/\/localhost:\d+\/login:\n {2}Chromium: stored and sent back: a first-party cookie \(localhost is on the page's site, http:\/\/localhost\)\.\n {2}Firefox: stored and sent back: /)
  t.match(text.stdout, /Cookie loose \(SameSite=None\), set by [^\n]*\n {2}Chromium: not stored: SameSite=None without Secure is refused\.\n {2}Firefox: not stored: SameSite=None without Secure is refused\.\n {2}Fix: SameSite=None requires Secure/)
  t.notMatch(text.stdout + text.stderr, /hunter2|dark|s3cr3t/, 'no value is printed')

  const json = await run('check', `${cookieApi.elsewhere}/login`, '--origin', PAGE, '--credentials', '--cookie', 'session=hunter2', '--json')
  const report = JSON.parse(json.stdout) as Report & { request: { cookies: string[] }, setCookies: Array<{ name: string, attributes: string, engines: Record<string, { stored: boolean }>, fix: string | null }> }
  t.equal(json.status, 0, 'CORS allows it (the page\'s origin is echoed): the exit status stays 0, whatever the cookies')
  t.same(report.request.cookies, ['session'])
  t.same(report.setCookies.map((c) => [c.name, c.attributes, c.engines.chromium!.stored, c.engines.firefox!.stored]), [
    ['sid', 'Path=/; SameSite=Lax; HttpOnly', false, false],
    ['loose', 'SameSite=None', false, false],
  ], 'cross-site: 127.0.0.1 is another site than localhost')
  t.match(report.setCookies[0]!.fix, /^Serve the API on http:\/\/localhost \(another port is fine/)
  t.same([report.steps[0]!.headers.cookie, report.steps[0]!.responseHeaders['set-cookie']], ['session=…', 'sid=…; Path=/; SameSite=Lax; HttpOnly, loose=…; SameSite=None'])
  t.notMatch(json.stdout, /hunter2|s3cr3t/, 'no value in the JSON either')

  const refused = await run('check', `${cookieApi.origin}/refused`, '--origin', PAGE, '--credentials')
  t.equal(refused.status, 1)
  t.match(refused.stdout, /Cookies: CORS blocks the response \(its cookies are judged all the same\); of the cookie set, Chromium sends back it, Firefox sends back it\.\n/)
  t.match(refused.stdout, /the CORS check refused the response, but the browser stores its cookies before that check/)

  const hop = await run('check', `${cookieApi.origin}/hop`, '--origin', PAGE, '--credentials')
  t.match(hop.stdout, /Cookies: CORS allows the response; of the 3 cookies set, Chromium sends back all, Firefox sends back all\.\n/)
  t.match(hop.stdout, /\nCookie hop, set by the redirect from http:\/\/localhost:\d+\/hop:\n/, 'a cookie without attributes, on a redirect')
  t.match(hop.stdout, /\nCookie other \(Path=\/\), set by the response to http:\/\/localhost:\d+\/plain:\n/)
  t.notMatch(hop.stdout, /Fix:|s3cr3t/)
  const preflightText = await run('check', `${cookieApi.origin}/x`, '--origin', PAGE, '--method', 'PUT')
  t.match(preflightText.stdout, /Cookies: CORS blocks the response \(its cookies are judged all the same\); of the cookie set, Chromium sends back none, Firefox sends back none\.\n/)
  t.match(preflightText.stdout, /\nCookie pf \(SameSite=Lax\), set by the preflight to http:\/\/localhost:\d+\/x:\n {2}Chromium: not stored: a preflight's Set-Cookie is ignored/)

  const probed = await run('check', `${cookieApi.origin}/x`, '--origin', PAGE, '--method', 'PUT', '--json')
  const diagnosis = (JSON.parse(probed.stdout) as Report).diagnosis!
  t.ok(diagnosis.probes.length > 0)
  t.match(JSON.stringify(diagnosis.probes), /"set-cookie":"pf=…; SameSite=Lax"/, 'the re-sent preflights are reported without values too')
  t.notMatch(probed.stdout, /s3cr3t/)
  t.match(JSON.parse(probed.stdout), { setCookies: [{ name: 'pf', from: 'preflight', engines: { chromium: { stored: false } } }] })
})

t.test('--cookie: sent only with --credentials, as a browser does; malformed ones are usage errors that never show the value', async (t) => {
  const cookieApi = await startCookieApi(t)
  const plain = await run('check', `${cookieApi.origin}/login`, '--origin', PAGE, '--cookie', 'session=hunter2')
  t.equal(plain.status, 0)
  t.equal(cookieApi.seen.at(-1), undefined, 'no Cookie header without credentials')
  t.match(plain.stdout, 'Note: --cookie was not sent: a browser sends cookies only with credentials: \'include\' (--credentials).')
  t.match(plain.stdout, /Chromium: not stored: the request was made without credentials: 'include'/)
  for (const [argument, message] of [
    ['hunter2', /^fastify-cors-policy: --cookie takes name=value, the name a token \(the value is not shown\)\n/],
    ['=hunter2', /--cookie takes name=value/],
    ['bad name=hunter2', /--cookie takes name=value/],
    ['session=hunter2;x', /^fastify-cors-policy: --cookie session: its value holds a ; or a control character, which a cookie value cannot\n/],
    ['session=hunter2\u0001', /its value holds a ; or a control character/],
  ] as const) {
    const result = await run('check', `${cookieApi.origin}/login`, '--origin', PAGE, '--cookie', argument)
    t.equal(result.status, 2, argument.replace('hunter2', '…'))
    t.match(result.stderr, message)
    t.notMatch(result.stderr, /hunter2/)
  }
  t.match((await run('--help')).stdout, '--cookie <name>=<value>    a cookie the browser holds for the API')
})

t.test('over HTTPS, the bin trusts a certificate through NODE_EXTRA_CA_CERTS, as Node does', async (t) => {
  const certificate = makeTestCertificate(['localhost', '127.0.0.1'])
  const page = 'https://localhost:3000'
  const server = createHttpsServer({ cert: certificate.cert, key: certificate.key }, (_request, response) => {
    response.writeHead(200, { 'access-control-allow-origin': page, 'access-control-allow-credentials': 'true', 'set-cookie': 'sid=s3cr3t; Secure; SameSite=Lax; Path=/' })
    response.end('ok')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  const folder = mkdtempSync(join(tmpdir(), 'cli-ca-'))
  t.teardown(() => rmSync(folder, { recursive: true, force: true }))
  writeFileSync(join(folder, 'ca.pem'), certificate.cert)
  const url = `https://localhost:${(server.address() as AddressInfo).port}/login`
  const bin = (env: NodeJS.ProcessEnv): Promise<BinResult> => runBin(['check', url, '--origin', page, '--credentials', '--json'], env)
  const { NODE_EXTRA_CA_CERTS: _unset, ...rest } = process.env
  const [trusted, untrusted] = await Promise.all([
    bin({ ...rest, _TAPJS_PROCESSINFO_COVERAGE_: '0', NODE_EXTRA_CA_CERTS: join(folder, 'ca.pem') }),
    bin({ ...rest, _TAPJS_PROCESSINFO_COVERAGE_: '0' }),
  ])
  t.equal(trusted.status, 0, trusted.stderr)
  t.match(JSON.parse(trusted.stdout), { ok: true, setCookies: [{ name: 'sid', engines: { chromium: { stored: true, sentBack: true }, firefox: { stored: true, sentBack: true } } }] },
    'a Secure cookie from https://localhost, for a page on https://localhost:3000: one site')
  t.equal(untrusted.status, 2)
  t.match(untrusted.stderr, /cannot reach https:\/\/localhost:\d+\/login: self[- ]signed certificate/)
})
