// `fastify-cors-policy check <url> --origin <origin>`: the browser's verdict on any live API, over
// the network, with the reason in the words of a browser's console and the fix. A thin adapter over
// the browser model of lib/tools/browser/ (the one corsCheck plays with inject); nothing of the plugin's
// runtime imports it.
import { parseArgs } from 'node:util'
import { COOKIE_ENGINES, ENGINES, judgePlayed, type SetCookieVerdict } from './tools/browser/cookies.ts'
import { diagnose, type Diagnosis } from './tools/browser/diagnose.ts'
import { play, type Step } from './tools/browser/fetch.ts'
import { chromiumMessage, firefoxMessage, fix, sentence } from './tools/browser/messages.ts'
import { networkTransport } from './tools/browser/network.ts'
import { isForbiddenRequestHeader, normalizeHeaders, normalizeMethod } from './tools/browser/request.ts'
import { isHttp } from './tools/browser/redirect.ts'

export const USAGE = `Usage: fastify-cors-policy check <url> --origin <origin> [options]

Would a page at <origin> be allowed to fetch() <url>, and if not, why? Plays the browser's part of
the Fetch standard over the network against any HTTP(S) server: the preflight when one is needed,
the request, every redirect, each with the CORS check; then prints the verdict, the reason as a
browser's console words it, and the fix. Then each cookie the answers set: whether Chromium and
Firefox (with their default settings) store it and send it back, why, and the fix.

Options:
  --origin <origin>          the page's origin, e.g. https://app.example.com (or null)
  --method <method>          as the page passes it to fetch() (default GET); case matters: patch is sent as written
  --header <name>:<value>    a request header the page sets (repeatable)
  --credentials              credentials: 'include' (cookies and HTTP auth go along)
  --cookie <name>=<value>    a cookie the browser holds for the API, sent with --credentials as a
                             browser sends it (repeatable); values are never printed
  --json                     one JSON object on stdout instead of text
  --timeout <ms>             how long to wait for each answer (default 10000)
  -h, --help                 this text

Exit status: 0 when the page could read the response, 1 when the browser would block it,
2 for a usage error or a server that cannot be reached. Cookie verdicts do not change it.

Example:
  npx fastify-cors-policy check https://api.example.com/me --origin https://app.example.com --method PUT \\
    --header content-type:application/json --credentials
`

export interface Output {
  stdout: (text: string) => void
  stderr: (text: string) => void
}

const TOKEN = /^[!#$%&'*+\-.^`|~\w]+$/

class UsageError extends Error {}

interface Check {
  url: URL
  origin: string
  method: string
  headers: Record<string, string>
  credentials: boolean
  /** --cookie, in order: the Cookie header's pairs. */
  cookies: Array<[name: string, value: string]>
  json: boolean
  timeout: number
}

function parse (argv: string[]): Check | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      origin: { type: 'string' },
      method: { type: 'string' },
      header: { type: 'string', multiple: true },
      credentials: { type: 'boolean' },
      cookie: { type: 'string', multiple: true },
      json: { type: 'boolean' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help === true) return 'help'
  const [command, target, ...extra] = positionals
  if (command !== 'check') throw new UsageError(command === undefined ? 'no command: the command is check' : `unknown command ${command}: the command is check`)
  if (target === undefined || extra.length > 0) throw new UsageError('check takes one URL')
  if (!URL.canParse(target) || !isHttp(new URL(target))) throw new UsageError(`${target} is not an http(s) URL`)
  const url = new URL(target)
  url.hash = ''
  const origin = values.origin
  if (origin === undefined) throw new UsageError('--origin is required: the origin of the page that calls the API')
  if (origin !== 'null' && (!URL.canParse(origin) || new URL(origin).origin !== origin)) {
    throw new UsageError(`--origin ${origin} is not an origin as browsers send it: scheme://host[:port], lower case, no path, no trailing slash` +
      (URL.canParse(origin) && new URL(origin).origin !== 'null' ? ` (${new URL(origin).origin})` : ''))
  }
  if (origin === url.origin) throw new UsageError(`the page's origin ${origin} is the URL's own origin: a same-origin request is not a CORS request`)
  const method = values.method ?? 'GET'
  if (!TOKEN.test(method)) throw new UsageError(`--method ${method} is not an HTTP method`)
  const given: Record<string, string> = {}
  for (const header of values.header ?? []) {
    const colon = header.indexOf(':')
    const name = header.slice(0, colon)
    if (colon < 1 || !TOKEN.test(name)) throw new UsageError(`--header ${header} is not name:value`)
    given[name] = header.slice(colon + 1)
  }
  const headers = normalizeHeaders(given)
  for (const name of Object.keys(headers)) {
    if (isForbiddenRequestHeader(name)) throw new UsageError(`--header ${name}: a forbidden request header, which page scripts cannot set`)
  }
  const cookies: Check['cookies'] = []
  for (const cookie of values.cookie ?? []) {
    // The value is never echoed, not even in an error.
    const equals = cookie.indexOf('=')
    const name = cookie.slice(0, equals)
    if (equals < 1 || !TOKEN.test(name)) throw new UsageError('--cookie takes name=value, the name a token (the value is not shown)')
    if ([...cookie.slice(equals + 1)].some((c) => c === ';' || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) throw new UsageError(`--cookie ${name}: its value holds a ; or a control character, which a cookie value cannot`)
    cookies.push([name, cookie.slice(equals + 1)])
  }
  const timeout = Number(values.timeout ?? 10_000)
  if (!Number.isInteger(timeout) || timeout <= 0) throw new UsageError(`--timeout ${values.timeout} is not a number of milliseconds`)
  return { url, origin, method: normalizeMethod(method), headers, credentials: values.credentials === true, cookies, json: values.json === true, timeout }
}

/** Runs the command; resolves to the exit status. */
export async function main (argv: string[], output: Output): Promise<number> {
  let check: Check | 'help'
  try {
    check = parse(argv)
  } catch (error) {
    output.stderr(`fastify-cors-policy: ${(error as Error).message}\nRun fastify-cors-policy --help for the options.\n`)
    return 2
  }
  if (check === 'help') {
    output.stdout(USAGE)
    return 0
  }
  const transport = networkTransport(check.timeout)
  let played
  let diagnosis: Diagnosis | null = null
  try {
    played = await play(transport, {
      origin: check.origin,
      method: check.method,
      url: check.url,
      headers: check.headers,
      credentials: check.credentials,
      cookie: check.cookies.length === 0 ? undefined : check.cookies.map(([name, value]) => `${name}=${value}`).join('; '),
    })
    const first = played.steps[0]!
    if (played.blocked !== null) {
      diagnosis = await diagnose(transport, played.blocked, { status: first.status, headers: first.responseHeaders })
    }
  } catch (error) {
    output.stderr(`fastify-cors-policy: cannot reach ${check.url.href}: ${(error as Error).message}\n`)
    return 2
  }
  const { blocked } = played
  const last = played.last?.response ?? null
  // The response headers a script cannot read, CORS and connection headers aside.
  const hidden = played.ok
    ? Object.keys(last!.headers).filter((name) => !played.exposedHeaders.includes(name) && !NOT_CONTENT.test(name)).sort()
    : []
  const setCookies = judgePlayed(played, { origin: check.origin, url: check.url, credentials: check.credentials })
  const report = {
    ok: played.ok,
    preflight: played.preflight.sent,
    reason: blocked === null ? null : chromiumMessage(blocked),
    firefoxReason: blocked === null ? null : firefoxMessage(blocked),
    summary: blocked === null ? null : sentence(blocked),
    fix: blocked === null ? null : diagnosis?.fix ?? fix(blocked),
    diagnosis,
    request: {
      url: check.url.href,
      origin: check.origin,
      method: check.method,
      headers: check.headers,
      credentials: check.credentials,
      cookies: check.cookies.map(([name]) => name),
    },
    steps: played.steps,
    redirects: played.redirects,
    status: played.ok ? last!.status : null,
    exposedHeaders: played.exposedHeaders,
    hiddenHeaders: hidden,
    browserDifferences: played.browserDifferences,
    setCookies,
  }
  if (check.json) {
    output.stdout(JSON.stringify(report, null, 2) + '\n')
  } else {
    const lines: string[] = []
    for (const step of played.steps) lines.push(...describeStep(step))
    if (report.ok) {
      lines.push(`Allowed: a page at ${check.origin} can read this response (${report.status}).`)
      lines.push(`Readable by its script: ${played.exposedHeaders.join(', ') || 'no header'}.`)
      if (hidden.length > 0) lines.push(`Hidden from it: ${hidden.join(', ')} (list a name in Access-Control-Expose-Headers to expose it).`)
    } else {
      lines.push(`Blocked: a page at ${check.origin} cannot read this response.`)
      lines.push(`Reason: ${report.reason}`)
      lines.push(`  (Firefox: ${report.firefoxReason})`)
      if (diagnosis !== null) {
        lines.push(`Found: ${diagnosis.finding} (${diagnosis.probes.length} preflight${diagnosis.probes.length > 1 ? 's' : ''} re-sent)` +
          (diagnosis.plugin ? '; the server runs fastify-cors-policy.' : '.'))
      }
      lines.push(`Fix: ${report.fix}`)
    }
    for (const difference of played.browserDifferences) lines.push(`Note: ${difference} (The verdict above follows the Fetch standard.)`)
    if (check.cookies.length > 0 && !check.credentials) lines.push('Note: --cookie was not sent: a browser sends cookies only with credentials: \'include\' (--credentials).')
    lines.push(...describeCookies(setCookies, played.ok))
    output.stdout(lines.join('\n') + '\n')
  }
  return played.ok ? 0 : 1
}

/** The cookie section: after the CORS verdict, each cookie the answers set, as each engine treats it. */
function describeCookies (cookies: SetCookieVerdict[], ok: boolean): string[] {
  if (cookies.length === 0) return []
  const backIn = (engine: typeof COOKIE_ENGINES[number]): string => {
    const back = cookies.filter((cookie) => cookie.engines[engine].sentBack).map((cookie) => cookie.name)
    return `${ENGINES[engine].title} sends back ${back.length === cookies.length ? (cookies.length > 1 ? 'all' : 'it') : back.length === 0 ? 'none' : back.join(', ')}`
  }
  const lines = ['', `Cookies: CORS ${ok ? 'allows' : 'blocks'} the response${ok ? '' : ' (its cookies are judged all the same)'}; ` +
    `of the ${cookies.length === 1 ? 'cookie' : `${cookies.length} cookies`} set, ${COOKIE_ENGINES.map(backIn).join(', ')}.`]
  for (const cookie of cookies) {
    const by = cookie.from === 'preflight' ? 'the preflight to' : cookie.from === 'redirect' ? 'the redirect from' : 'the response to'
    lines.push(`Cookie ${cookie.name}${cookie.attributes === '' ? '' : ` (${cookie.attributes})`}, set by ${by} ${cookie.url}:`)
    for (const engine of COOKIE_ENGINES) lines.push(`  ${ENGINES[engine].title}: ${cookie.engines[engine].reason}.`)
    if (cookie.fix !== null) lines.push(`  Fix: ${cookie.fix}`)
  }
  return lines
}

const NOT_CONTENT = /^(?:access-control-|connection$|keep-alive$|transfer-encoding$|vary$)/
const SHOWN_REQUEST = new Set(['origin', 'access-control-request-method', 'access-control-request-headers'])
const SHOWN_RESPONSE = /^(?:access-control-|vary$|location$)/

function describeStep (step: Step): string[] {
  const lines = [`${step.method} ${step.url}${step.kind === 'preflight' ? '  (preflight)' : ''}`]
  for (const [name, value] of Object.entries(step.headers)) {
    if (step.kind === 'request' || SHOWN_REQUEST.has(name)) lines.push(`  ${name}: ${value}`)
  }
  lines.push(`→ ${step.status}`)
  const shown = Object.entries(step.responseHeaders).filter(([name]) => SHOWN_RESPONSE.test(name))
  for (const [name, value] of shown) lines.push(`  ${name}: ${value}`)
  if (!shown.some(([name]) => name.startsWith('access-control-'))) lines.push('  (no Access-Control-* header)')
  lines.push('')
  return lines
}
