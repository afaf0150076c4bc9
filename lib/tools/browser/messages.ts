// A refusal in words: the sentence corsCheck gives, what the consoles of Chromium and Firefox print
// (measured on Chromium 156 and Firefox 153 ESR by test/browser/cli.ts), and the fix: which
// header the server must send, with which value.
import type { CorsCheckFailure } from './check.ts'
import type { Blocked, Failure } from './fetch.ts'

function what (blocked: Blocked): string {
  return blocked.preflight ? 'preflight' : 'response'
}

function corsSentence (failure: CorsCheckFailure, blocked: Blocked): string {
  const on = what(blocked)
  switch (failure.kind) {
    case 'allow-origin-missing': return `the ${on} has no Access-Control-Allow-Origin header`
    case 'allow-origin-multiple': return `the ${on} has several Access-Control-Allow-Origin values`
    case 'allow-origin-star': return `the ${on}'s Access-Control-Allow-Origin is '*', which is refused with credentials`
    case 'allow-origin-mismatch': return `the ${on}'s Access-Control-Allow-Origin ${JSON.stringify(failure.value)} is not ` +
      (blocked.requestOrigin === blocked.pageOrigin
        ? `the page's origin ${JSON.stringify(blocked.pageOrigin)}`
        : 'the request\'s origin "null" (a redirect to another origin made it null)')
    case 'allow-credentials': return `the ${on}'s Access-Control-Allow-Credentials is not exactly "true", which credentials require`
  }
}

function failureSentence (failure: Failure, blocked: Blocked): string {
  switch (failure.kind) {
    case 'preflight-redirect': return `the preflight was answered with a redirect (${failure.status}), which browsers never follow for a preflight`
    case 'preflight-status': return `the preflight was answered with ${failure.status}, not an ok status`
    case 'method': return `the method ${failure.method} is not in the preflight's Access-Control-Allow-Methods`
    case 'header': return `the request header ${failure.header} is not in the preflight's Access-Control-Allow-Headers${failure.star ? ' (\'*\' does not cover it)' : ''}`
    case 'redirect-locations': return `the ${failure.status} redirect has several Location headers, which is a network error`
    case 'redirect-location': return `the ${failure.status} redirect's Location ${JSON.stringify(failure.location)} is not a URL, which is a network error`
    case 'redirect-scheme': return `the ${failure.status} redirect goes to a ${failure.scheme} URL; fetch follows only http(s) redirects (a network error)`
    case 'redirect-limit': return `the ${failure.status} redirect is one more than the ${failure.limit} that fetch follows (a network error)`
    case 'redirect-credentials': return `the ${failure.status} redirect's Location includes credentials (user:pass@), which a CORS request refuses (a network error)`
    case 'redirect-unreachable': return `the ${failure.status} redirect goes to ${failure.why}`
    default: return corsSentence(failure, blocked)
  }
}

/** Why the browser refused, in one sentence (corsCheck's `reason`). */
export function sentence (blocked: Blocked): string {
  const reason = failureSentence(blocked.failure, blocked)
  return blocked.hops === 0 ? reason : `after ${blocked.hops} redirect${blocked.hops > 1 ? 's' : ''}, at ${blocked.method} ${blocked.url}: ${reason}`
}

const PREFLIGHT = 'Response to preflight request doesn\'t pass access control check: '

function chromiumCors (failure: CorsCheckFailure): string {
  switch (failure.kind) {
    case 'allow-origin-missing': return 'No \'Access-Control-Allow-Origin\' header is present on the requested resource.'
    case 'allow-origin-multiple': return `The 'Access-Control-Allow-Origin' header contains multiple values '${failure.value}', but only one is allowed. ` +
      'Have the server send the header with a valid value.'
    case 'allow-origin-mismatch': return `The 'Access-Control-Allow-Origin' header has a value '${failure.value}' that is not equal to the supplied origin. ` +
      'Have the server send the header with a valid value.'
    case 'allow-origin-star': return 'The value of the \'Access-Control-Allow-Origin\' header in the response must not be the wildcard \'*\' ' +
      'when the request\'s credentials mode is \'include\'.'
    case 'allow-credentials': return `The value of the 'Access-Control-Allow-Credentials' header in the response is '${failure.value ?? ''}' ` +
      'which must be \'true\' when the request\'s credentials mode is \'include\'.'
  }
}

/** What Chromium's console prints for this refusal. */
export function chromiumMessage (blocked: Blocked): string {
  const failure = blocked.failure
  const from = blocked.hops === 0 ? '' : ` (redirected from '${blocked.firstUrl}')`
  const prefix = `Access to fetch at '${blocked.url}'${from} from origin '${blocked.pageOrigin}' has been blocked by CORS policy: `
  switch (failure.kind) {
    case 'preflight-redirect': return `${prefix}${PREFLIGHT}Redirect is not allowed for a preflight request.`
    case 'preflight-status': return prefix + PREFLIGHT + (failure.cors === null ? 'It does not have HTTP ok status.' : chromiumCors(failure.cors))
    case 'method': return `${prefix}Method ${failure.method} is not allowed by Access-Control-Allow-Methods in preflight response.`
    case 'header': return `${prefix}Request header field ${failure.header} is not allowed by Access-Control-Allow-Headers in preflight response.`
    case 'redirect-locations': return 'Failed to load resource: net::ERR_RESPONSE_HEADERS_MULTIPLE_LOCATION'
    case 'redirect-location': return 'Failed to load resource: net::ERR_INVALID_REDIRECT'
    case 'redirect-scheme': return 'Failed to load resource: net::ERR_UNSAFE_REDIRECT'
    case 'redirect-limit': return 'Failed to load resource: net::ERR_TOO_MANY_REDIRECTS'
    case 'redirect-credentials': return `${prefix}Redirect location '' contains a username and password, which is disallowed for cross-origin requests.`
    case 'redirect-unreachable': return sentence(blocked)
    default: return prefix + (blocked.preflight ? PREFLIGHT : '') + chromiumCors(failure)
  }
}

function firefoxCors (failure: CorsCheckFailure, status: number | null): string {
  switch (failure.kind) {
    case 'allow-origin-missing': return `CORS header ‘Access-Control-Allow-Origin’ missing). Status code: ${status}.`
    case 'allow-origin-multiple':
    case 'allow-origin-mismatch': return `CORS header ‘Access-Control-Allow-Origin’ does not match ‘${failure.value}’).`
    case 'allow-origin-star': return 'Credential is not supported if the CORS header ‘Access-Control-Allow-Origin’ is ‘*’).'
    case 'allow-credentials': return 'expected ‘true’ in CORS header ‘Access-Control-Allow-Credentials’).'
  }
}

/** What Firefox's console prints (first) for this refusal. */
export function firefoxMessage (blocked: Blocked): string {
  const failure = blocked.failure
  const url = failure.kind === 'allow-origin-star' ? `‘${blocked.url}’` : blocked.url
  const prefix = `Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at ${url}. (Reason: `
  switch (failure.kind) {
    case 'preflight-redirect': return `${prefix}CORS request external redirect not allowed).`
    case 'preflight-status': return prefix + (failure.cors === null
      ? `CORS preflight response did not succeed). Status code: ${failure.status}.`
      : firefoxCors(failure.cors, failure.status))
    case 'method': return `${prefix}Did not find method in CORS header ‘Access-Control-Allow-Methods’).`
    case 'header': return `${prefix}header ‘${failure.header}’ is not allowed according to header ‘Access-Control-Allow-Headers’ from CORS preflight response).`
    case 'redirect-unreachable': return sentence(blocked)
    case 'redirect-locations':
    case 'redirect-location':
    case 'redirect-scheme':
    case 'redirect-limit':
    case 'redirect-credentials': return `${prefix}CORS request did not succeed). Status code: (null).`
    default: return prefix + firefoxCors(failure, blocked.status)
  }
}

/** The origin the server must allow: the page's, or `null` past a redirect to another origin. */
function allowed (blocked: Blocked): string {
  return blocked.requestOrigin
}

/**
 * How a fix for a refused origin begins: a tool cannot know whether the refusal is deliberate, so
 * the fix is conditional, and says what allowing means where it opens more than reading.
 */
export function ifAllowed (origin: string, credentials: boolean): string {
  const cookies = credentials ? ' with your users\' cookies' : ''
  return origin === 'null'
    ? 'If pages with an opaque origin (Origin: null: sandboxed frames, data: and file: pages, requests redirected from another origin) ' +
      `should read this${cookies} (any site can make its page opaque: allowing null allows every site)`
    : `If ${origin} should read this${cookies}`
}

/** What allowing an origin with credentials means, in a sentence. */
export function credentialsMeaning (origin: string): string {
  return ` With credentials, that lets ${origin === 'null' ? 'such pages' : `pages of ${origin}`} send requests as the signed-in user ` +
    '(with their cookies) and read the answers: allow only an origin you trust as you trust your own.'
}

function corsFix (failure: CorsCheckFailure, blocked: Blocked): string {
  const on = blocked.preflight ? `the preflight (OPTIONS ${blocked.url})` : `${blocked.method} ${blocked.url}`
  const origin = allowed(blocked)
  const credentials = blocked.credentials ? ' and Access-Control-Allow-Credentials: true' : ''
  const meaning = blocked.credentials ? credentialsMeaning(origin) : ''
  const tainted = origin === blocked.pageOrigin
    ? ''
    : ` (after a redirect to another origin the request's Origin is null: the page's origin ${blocked.pageOrigin} is not sent there)`
  const lead = ifAllowed(origin, blocked.credentials)
  switch (failure.kind) {
    case 'allow-origin-missing': return `${lead}, answer ${on} with Access-Control-Allow-Origin: ${origin}${credentials}${tainted}.${meaning}`
    case 'allow-origin-multiple': return `Send one origin, not a list. ${lead}, answer with Access-Control-Allow-Origin: ${origin} (compare the request's Origin ` +
      `with your list and echo it when it is there, with Vary: Origin).${meaning}`
    case 'allow-origin-mismatch': {
      const detail = failure.value === origin + '/' ? ', without the trailing slash' : ' exactly: scheme, host and port as the page sends them, no path'
      return `${lead}, answer ${on} with Access-Control-Allow-Origin: ${origin}${detail}${tainted}.${meaning}`
    }
    case 'allow-origin-star': return `With credentials, '*' is refused. ${lead}, answer ${on} with Access-Control-Allow-Origin: ${origin} and ` +
      `Access-Control-Allow-Credentials: true (echo the allowed Origin, with Vary: Origin); otherwise call it without credentials.${credentialsMeaning(origin)}`
    case 'allow-credentials': return `${lead}, answer ${on} with Access-Control-Allow-Credentials: true (exactly that value); otherwise call it without credentials.` +
      credentialsMeaning(origin)
  }
}

/** What the server (or, for a method's case, the page) must change, in a sentence. */
export function fix (blocked: Blocked): string {
  const failure = blocked.failure
  const asked = blocked.requestHeaders.length > 0 ? `, Access-Control-Allow-Headers: ${blocked.requestHeaders.join(', ')}` : ''
  switch (failure.kind) {
    case 'preflight-redirect': return `Answer OPTIONS ${blocked.url} itself with 204 and the Access-Control-Allow-* headers: a preflight is ` +
      'never redirected (or have the page call the URL the redirect points to).'
    case 'preflight-status': return `${ifAllowed(allowed(blocked), blocked.credentials)}, answer the preflight (OPTIONS ${blocked.url}) with 204 (any 2xx), ` +
      `Access-Control-Allow-Origin: ${allowed(blocked)}${blocked.credentials ? ', Access-Control-Allow-Credentials: true' : ''}, ` +
      `Access-Control-Allow-Methods: ${blocked.method}${asked}.${blocked.credentials ? credentialsMeaning(allowed(blocked)) : ''}`
    case 'method': {
      const upper = failure.method.toUpperCase()
      if (upper !== failure.method) {
        return `Browsers send the method "${failure.method}" as written (they upper-case only DELETE, GET, HEAD, OPTIONS, POST and PUT), and ` +
          `methods compare case-sensitively: write method: '${upper}' in the page's fetch(), or list ${failure.method} in Access-Control-Allow-Methods.`
      }
      return `Answer the preflight with Access-Control-Allow-Methods: ${failure.method} (a list such as GET, POST, ${failure.method} works too).`
    }
    case 'header': return failure.star
      ? 'List authorization by name: Access-Control-Allow-Headers: authorization (\'*\' never covers it in the Fetch standard, ' +
        'though Chromium and Firefox accept it today).'
      : `Answer the preflight with Access-Control-Allow-Headers: ${blocked.requestHeaders.join(', ')} (it lacks ${failure.header}).`
    case 'redirect-locations': return 'Send one Location header on the redirect.'
    case 'redirect-location': return 'Send a valid URL in the redirect\'s Location header.'
    case 'redirect-scheme': return 'A fetch() follows redirects to http(s) URLs only: redirect to one, or answer directly.'
    case 'redirect-limit': return 'Stop the redirect loop: fetch follows at most 20 redirects.'
    case 'redirect-credentials': return 'Redirect to a URL without user:password@: a CORS request refuses it.'
    case 'redirect-unreachable': return 'Test the app at the redirect\'s target, or check the deployed API with `npx fastify-cors-policy check`.'
    default: return corsFix(failure, blocked)
  }
}
