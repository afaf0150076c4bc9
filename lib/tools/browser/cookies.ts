// The cookie half of the browser model: given the page, the request and a response's Set-Cookie,
// does each engine store the cookie, and does it send it back when the same page calls the same
// URL again with credentials: 'include'? Each rule is one function below, in the order browsers
// apply them; where Chromium and Firefox differ, ENGINES says how, as measured by
// test/browser/cookies.ts (Chromium 156 and Firefox 153 ESR, each with its shipped settings).
// Grounding: RFC 6265bis (parsing, Domain, Path, Secure, SameSite, prefixes), Fetch ("HTTP-network
// fetch": cookies only with credentials), CHIPS (Partitioned).
import { REDIRECT_STATUSES } from './check.ts'
import type { PageRequest, PlayResult } from './fetch.ts'
import { isIpAddress, isPotentiallyTrustworthy, isPublicSuffix, isSameSite, registrableDomain, siteName } from './site.ts'

export type CookieEngine = 'chromium' | 'firefox'
export const COOKIE_ENGINES: readonly CookieEngine[] = ['chromium', 'firefox']

/** How an engine's shipped defaults decide, where engines differ. */
interface EngineRules {
  title: string
  /** Whether the scheme is part of the site (Firefox: network.cookie.sameSite.schemeful is false). */
  schemeful: boolean
  /** What a cookie without SameSite is (Firefox: network.cookie.sameSite.laxByDefault is false). */
  unspecified: 'lax' | 'none'
  /**
   * Third-party cookies (a cookie of another site than the page's): Chromium 156's default setting
   * blocks them unless they are Partitioned; Firefox's Total Cookie Protection (cookieBehavior 5)
   * keeps each in a jar of the page's site.
   */
  thirdParty: 'partitioned-only' | 'partition-all'
  /** __Host- needs a Path=/ attribute (Chromium), or only the path / (Firefox: the default path counts). */
  hostPrefixPathAttribute: boolean
}

export const ENGINES: Readonly<Record<CookieEngine, EngineRules>> = {
  chromium: { title: 'Chromium', schemeful: true, unspecified: 'lax', thirdParty: 'partitioned-only', hostPrefixPathAttribute: true },
  firefox: { title: 'Firefox', schemeful: false, unspecified: 'none', thirdParty: 'partition-all', hostPrefixPathAttribute: false },
}

/** A Set-Cookie line, parsed as RFC 6265bis does (its value is kept out of every report). */
export interface ParsedCookie {
  name: string
  value: string
  /** The attributes as written, value-free, for reports: `Path=/; Secure; SameSite=Lax`. */
  attributes: string
  domain: string | null
  /** The Path attribute, when it is valid (starts with /). */
  path: string | null
  secure: boolean
  sameSite: 'strict' | 'lax' | 'none' | null
  partitioned: boolean
  /** Whether Max-Age or Expires has it expire at once. */
  expired: boolean
}

const MAX_NAME_VALUE_BYTES = 4096

/** RFC 6265bis "parse a Set-Cookie header"; null when there is no cookie (no name and no value). */
export function parseSetCookie (line: string, now: number): ParsedCookie | null {
  const [pair = '', ...rest] = line.split(';')
  const equals = pair.indexOf('=')
  const name = equals === -1 ? '' : pair.slice(0, equals).trim()
  const value = (equals === -1 ? pair : pair.slice(equals + 1)).trim()
  if (name === '' && value === '') return null
  const cookie: ParsedCookie = { name, value, attributes: '', domain: null, path: null, secure: false, sameSite: null, partitioned: false, expired: false }
  let maxAge: number | null = null
  let expires: number | null = null
  const written: string[] = []
  for (const item of rest) {
    const at = item.indexOf('=')
    const key = (at === -1 ? item : item.slice(0, at)).trim()
    const attribute = (at === -1 ? '' : item.slice(at + 1)).trim()
    if (key === '') continue
    written.push(at === -1 ? key : `${key}=${attribute}`)
    switch (key.toLowerCase()) {
      case 'domain':
        if (attribute !== '') cookie.domain = attribute.replace(/^\./, '').toLowerCase()
        break
      case 'path':
        cookie.path = attribute.startsWith('/') ? attribute : null
        break
      case 'secure': cookie.secure = true; break
      case 'partitioned': cookie.partitioned = true; break
      case 'samesite': {
        const lower = attribute.toLowerCase()
        // An unknown value is as if SameSite were absent.
        cookie.sameSite = lower === 'strict' || lower === 'lax' || lower === 'none' ? lower : null
        break
      }
      case 'max-age':
        if (/^-?\d+$/.test(attribute)) maxAge = Number(attribute)
        break
      case 'expires': {
        const date = Date.parse(attribute)
        if (!Number.isNaN(date)) expires = date
        break
      }
    }
  }
  cookie.attributes = written.join('; ')
  // Max-Age wins over Expires.
  cookie.expired = maxAge !== null ? maxAge <= 0 : expires !== null && expires <= now
  return cookie
}

/** Where a Set-Cookie came from, and what the page does next. */
export interface CookieSource {
  /** The page's origin, as in the request's Origin (`null` for an opaque origin). */
  page: string
  /** The URL of the response that carried it. */
  url: URL
  /** A preflight's answer, a redirect followed on the way, or the response the page gets. */
  from: 'preflight' | 'redirect' | 'response'
  /** Whether the request was made with credentials: 'include'. */
  credentials: boolean
  /** Whether the CORS check refused this response (the cookie is judged all the same). */
  refused: boolean
  /** The URL the page calls again, where sending back is judged: the first URL of the call. */
  later: URL
  /** For Expires; default now. */
  now?: number
}

export interface CookieVerdict {
  /** Whether the engine keeps the cookie. */
  stored: boolean
  /** Whether it goes along when the same page calls `later` again with credentials: 'include'. */
  sentBack: boolean
  /** Whether it is kept for the page's site only: the API's own pages and other sites never get it. */
  partitioned: boolean
  /** Why, in a sentence. */
  reason: string
}

export interface SetCookieVerdict {
  /** The cookie's name (never its value). */
  name: string
  /** Its attributes as written. */
  attributes: string
  /** The URL of the response that set it. */
  url: string
  from: CookieSource['from']
  engines: Record<CookieEngine, CookieVerdict>
  /** What to change when an engine does not store it or does not send it back; null when both do. */
  fix: string | null
}

/** Why a cookie is not stored or not sent back: the rule that decided, and its sentence. */
interface Problem { rule: Rule, reason: string }

type Rule =
  | 'preflight' | 'credentials' | 'size' | 'expired' | 'secure-origin' | 'none-secure' | 'prefix' | 'partitioned-secure'
  | 'domain' | 'cross-site' | 'scheme' | 'third-party' | 'path' | 'send-secure' | 'send-cross-site'

/** Everything a rule needs, computed once per cookie and engine. */
interface Context {
  cookie: ParsedCookie
  source: CookieSource
  /** The page's URL, or null for an opaque origin or a page that is not http(s). */
  page: URL | null
  rules: EngineRules
  /** Whether the response's URL is of another site than the page's, as this engine counts sites. */
  crossSite: boolean
  /** Its SameSite, with this engine's meaning of an absent one. */
  sameSite: 'strict' | 'lax' | 'none'
}

const host = (url: URL): string => url.hostname

function pageSite (context: Context): string {
  return context.page === null ? `an opaque origin (${context.source.page})` : siteName(context.page, context.rules.schemeful)
}

function crossSiteWords (context: Context, url: URL): string {
  return `${host(url)} is another site (${siteName(url, context.rules.schemeful)}) than the page's (${pageSite(context)})`
}

// ---- the rules for storing, in order: the first that applies decides

function preflight ({ source }: Context): Problem | null {
  return source.from !== 'preflight'
    ? null
    : { rule: 'preflight', reason: 'a preflight\'s Set-Cookie is ignored: browsers send preflights without credentials and keep no cookie from their answers' }
}

function credentials ({ source }: Context): Problem | null {
  return source.credentials
    ? null
    : { rule: 'credentials', reason: 'the request was made without credentials: \'include\', so the browser ignores the cookies of this cross-origin response (and sends none)' }
}

function size ({ cookie }: Context): Problem | null {
  const bytes = Buffer.byteLength(cookie.name) + Buffer.byteLength(cookie.value)
  return bytes <= MAX_NAME_VALUE_BYTES
    ? null
    : { rule: 'size', reason: `its name and value take ${bytes} bytes, over the ${MAX_NAME_VALUE_BYTES} a browser keeps` }
}

function expired ({ cookie }: Context): Problem | null {
  return cookie.expired
    ? { rule: 'expired', reason: 'it expires at once (Max-Age of 0 or less, or an Expires in the past): the browser deletes the cookie instead of storing it' }
    : null
}

function secureOrigin ({ cookie, source }: Context): Problem | null {
  return !cookie.secure || isPotentiallyTrustworthy(source.url)
    ? null
    : {
        rule: 'secure-origin',
        reason: `it is Secure but came over plain http from ${host(source.url)}; only https and the loopback hosts ` +
          '(localhost, 127.0.0.1) may set Secure cookies',
      }
}

function noneNeedsSecure ({ cookie }: Context): Problem | null {
  return cookie.sameSite === 'none' && !cookie.secure ? { rule: 'none-secure', reason: 'SameSite=None without Secure is refused' } : null
}

function prefix ({ cookie, rules, source }: Context): Problem | null {
  const name = cookie.name.toLowerCase()
  // Prefixes compare case-insensitively in both engines.
  if (name.startsWith('__secure-') && !cookie.secure) return { rule: 'prefix', reason: 'a __Secure- cookie must be Secure' }
  if (!name.startsWith('__host-')) return null
  if (!cookie.secure) return { rule: 'prefix', reason: 'a __Host- cookie must be Secure' }
  if (cookie.domain !== null) return { rule: 'prefix', reason: 'a __Host- cookie must have no Domain attribute' }
  const path = cookie.path ?? (rules.hostPrefixPathAttribute ? null : defaultPath(source.url))
  if (path === '/') return null
  return {
    rule: 'prefix',
    reason: cookie.path !== null
      ? `a __Host- cookie must have Path=/, not Path=${cookie.path}`
      : path === null
        ? `a __Host- cookie needs the attribute Path=/ in ${rules.title} (a default path of / is not enough there)`
        : `a __Host- cookie needs the path /, and without a Path attribute its path is ${path} (the default for ${source.url.pathname})`,
  }
}

function partitionedNeedsSecure ({ cookie }: Context): Problem | null {
  return cookie.partitioned && !cookie.secure ? { rule: 'partitioned-secure', reason: 'a Partitioned cookie must be Secure' } : null
}

function domain ({ cookie, source }: Context): Problem | null {
  const wanted = cookie.domain
  const name = source.url.hostname
  if (wanted === null || wanted === name) return null
  if (isIpAddress(name) || !name.endsWith('.' + wanted)) {
    return { rule: 'domain', reason: `its Domain=${wanted} is not ${name} or a parent domain of it` }
  }
  // A parent domain above the host's registrable domain: a public suffix (com, test, github.io).
  return isPublicSuffix(wanted) || !wanted.endsWith(registrableDomain(name))
    ? { rule: 'domain', reason: `its Domain=${wanted} is a public suffix, which no site may set cookies for` }
    : null
}

/** The cookie's SameSite in words: `a SameSite=Lax cookie`, or `a cookie without SameSite (which Chromium treats as Lax)`. */
function sameSiteWords (context: Context): string {
  return context.cookie.sameSite === null
    ? `a cookie without SameSite (which ${context.rules.title} treats as ${capital(context.sameSite)})`
    : `a SameSite=${capital(context.sameSite)} cookie`
}

function sameSiteOnSetting (context: Context): Problem | null {
  if (!context.crossSite || context.sameSite === 'none') return null
  return {
    rule: schemeOnly(context, context.source.url) ? 'scheme' : 'cross-site',
    reason: `${crossSiteWords(context, context.source.url)}, and a cross-site response cannot set ${sameSiteWords(context)}`,
  }
}

function thirdParty (context: Context): Problem | null {
  if (!context.crossSite || context.rules.thirdParty !== 'partitioned-only' || context.cookie.partitioned) return null
  return {
    rule: schemeOnly(context, context.source.url) ? 'scheme' : 'third-party',
    reason: `${crossSiteWords(context, context.source.url)}: a third-party cookie, which ${context.rules.title} blocks with its default ` +
      'settings unless it is Partitioned',
  }
}

const STORING = [preflight, credentials, size, expired, secureOrigin, noneNeedsSecure, prefix, partitionedNeedsSecure, domain, sameSiteOnSetting, thirdParty]

// ---- the rules for sending it back to `later`, from the same page

function pathAndDomain ({ cookie, source }: Context): Problem | null {
  const later = source.later
  const hostOk = cookie.domain === null || cookie.domain === source.url.hostname
    ? later.hostname === source.url.hostname
    : later.hostname === cookie.domain || later.hostname.endsWith('.' + cookie.domain)
  if (!hostOk) return { rule: 'path', reason: `it is stored for ${cookie.domain ?? source.url.hostname}, not for ${later.hostname}` }
  const path = cookie.path ?? defaultPath(source.url)
  return pathMatches(later.pathname, path) ? null : { rule: 'path', reason: `it is stored for the path ${path}, which does not cover ${later.pathname}` }
}

function secureOnSending ({ cookie, source }: Context): Problem | null {
  return !cookie.secure || isPotentiallyTrustworthy(source.later)
    ? null
    : { rule: 'send-secure', reason: `it is Secure, and ${source.later.origin} is plain http` }
}

function sameSiteOnSending (context: Context): Problem | null {
  if (context.sameSite === 'none' || isSameSiteAs(context, context.source.later)) return null
  return { rule: 'send-cross-site', reason: `${crossSiteWords(context, context.source.later)}, and it is ${sameSiteWords(context)}` }
}

function partitionOnSending (context: Context, partitioned: boolean): Problem | null {
  // A partitioned cookie goes back to pages of the same site; an unpartitioned one only to first-party requests.
  if (partitioned || isSameSiteAs(context, context.source.later)) return null
  return { rule: 'send-cross-site', reason: `${crossSiteWords(context, context.source.later)}, and the cookie was stored as a first-party cookie of ${host(context.source.url)}` }
}

// ---- verdicts

function isSameSiteAs (context: Context, url: URL): boolean {
  return context.page !== null && isSameSite(context.page, url, context.rules.schemeful)
}

/** Whether page and URL share a registrable domain and differ only in their scheme. */
function schemeOnly (context: Context, url: URL): boolean {
  return context.page !== null && isSameSite(context.page, url, false)
}

function capital (word: string): string {
  return word[0]!.toUpperCase() + word.slice(1)
}

/** RFC 6265bis "default-path": the request path up to its last slash. */
function defaultPath (url: URL): string {
  const path = url.pathname
  const slash = path.lastIndexOf('/')
  return slash <= 0 ? '/' : path.slice(0, slash)
}

/** RFC 6265bis "path-match". */
function pathMatches (requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true
  return requestPath.startsWith(cookiePath) && (cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/')
}

function pageUrl (page: string): URL | null {
  if (!URL.canParse(page)) return null
  const url = new URL(page)
  return url.protocol === 'http:' || url.protocol === 'https:' ? url : null
}

function judge (cookie: ParsedCookie, source: CookieSource, rules: EngineRules): { verdict: CookieVerdict, problem: Problem | null } {
  const page = pageUrl(source.page)
  const context: Context = {
    cookie,
    source,
    page,
    rules,
    crossSite: page === null || !isSameSite(page, source.url, rules.schemeful),
    sameSite: cookie.sameSite ?? rules.unspecified,
  }
  for (const rule of STORING) {
    const problem = rule(context)
    if (problem !== null) return { verdict: { stored: false, sentBack: false, partitioned: false, reason: `not stored: ${problem.reason}` }, problem }
  }
  // Total Cookie Protection keeps every third-party cookie in a jar of the page's site; a Partitioned
  // cookie is kept in one whenever the page's site (scheme included) is not the API's.
  const partitioned = (context.crossSite && rules.thirdParty === 'partition-all') ||
    (cookie.partitioned && (page === null || !isSameSite(page, source.url, true)))
  const notes = storedNotes(context, partitioned)
  for (const problem of [pathAndDomain(context), secureOnSending(context), sameSiteOnSending(context), partitionOnSending(context, partitioned)]) {
    if (problem !== null) {
      return { verdict: { stored: true, sentBack: false, partitioned, reason: `stored, but not sent back: ${[problem.reason, ...notes].join('; ')}` }, problem }
    }
  }
  return { verdict: { stored: true, sentBack: true, partitioned, reason: `stored and sent back: ${notes.join('; ')}` }, problem: null }
}

function storedNotes (context: Context, partitioned: boolean): string[] {
  const notes = [!partitioned
    ? `a first-party cookie (${host(context.source.url)} is on the page's site, ${siteName(context.source.url, context.rules.schemeful)})`
    : context.rules.thirdParty === 'partition-all' && context.crossSite
      ? `a third-party cookie, kept in a jar of the page's site (${pageSite(context)}) by Total Cookie Protection: ` +
        'the API\'s own pages and other sites never get it'
      : `Partitioned: kept for pages of ${pageSite(context)} only`]
  if (context.source.refused) notes.push('the CORS check refused the response, but the browser stores its cookies before that check')
  return notes
}

/**
 * Judges one Set-Cookie line in each engine. `null` when the line holds no cookie at all (no name
 * and no value: browsers ignore it).
 */
export function judgeSetCookie (line: string, source: CookieSource): SetCookieVerdict | null {
  const cookie = parseSetCookie(line, source.now ?? Date.now())
  if (cookie === null) return null
  const chromium = judge(cookie, source, ENGINES.chromium)
  const firefox = judge(cookie, source, ENGINES.firefox)
  const problem = chromium.problem ?? firefox.problem
  return {
    name: cookie.name,
    attributes: cookie.attributes,
    url: source.url.href,
    from: source.from,
    engines: { chromium: chromium.verdict, firefox: firefox.verdict },
    fix: problem === null ? null : fixFor(problem.rule, cookie, source),
  }
}

// ---- fixes: what to change, never a hole

const CSRF = 'SameSite=None removes the browser\'s own CSRF defence for this cookie: check the Origin header of every ' +
  'state-changing request against your allowed origins (or require a CSRF token).'

function crossSiteFix (cookie: ParsedCookie, source: CookieSource): string {
  const page = pageUrl(source.page)
  const home = page === null
    ? 'the page\'s site'
    : isIpAddress(page.hostname) || !page.hostname.includes('.')
      ? `${page.protocol}//${page.hostname} (another port is fine: ports do not make sites)`
      : `the page's site, e.g. ${page.protocol}//api.${registrableDomain(page.hostname)}`
  return `Serve the API on ${home}: the cookie is then first-party, and SameSite=Lax keeps working in every browser. ` +
    `If the API must stay on another site: Set-Cookie: ${cookie.name}=…; SameSite=None; Secure; Partitioned; Path=/ over https. ` +
    'Chromium (with its default settings) drops third-party cookies without Partitioned, and Firefox keeps every third-party cookie ' +
    'in a jar of the page\'s site: either way the cookie then works for this page\'s site only. ' + CSRF
}

function fixFor (rule: Rule, cookie: ParsedCookie, source: CookieSource): string {
  switch (rule) {
    case 'preflight': return 'Set the cookie on the actual response, not on the preflight (OPTIONS): browsers keep nothing from a preflight.'
    case 'credentials': return 'Call fetch() with credentials: \'include\' (and answer with Access-Control-Allow-Credentials: true and the page\'s exact origin): ' +
      'without it, a cross-origin response\'s cookies are ignored and none are sent.'
    case 'size': return 'Keep the name and value under 4096 bytes: store an identifier in the cookie and the data on the server.'
    case 'expired': return 'If this is a sign-out, this is how a cookie is deleted; otherwise give it a future Expires or a positive Max-Age.'
    case 'secure-origin': return `Serve ${source.url.host} over https: Secure cookies are refused over plain http (localhost and 127.0.0.1 excepted).`
    case 'none-secure': return pageUrl(source.page) !== null && isSameSite(pageUrl(source.page)!, source.url, true)
      ? 'SameSite=None requires Secure (and https); on the page\'s own site it is not needed: leave SameSite out or set SameSite=Lax.'
      : 'SameSite=None requires Secure (and https). ' + crossSiteFix(cookie, source)
    case 'prefix': return cookie.name.toLowerCase().startsWith('__host-')
      ? 'A __Host- cookie needs exactly: Secure; Path=/; and no Domain attribute.'
      : 'A __Secure- cookie needs the Secure attribute (and https).'
    case 'partitioned-secure': return 'Add Secure to a Partitioned cookie (and serve it over https).'
    case 'domain': return `Leave out Domain for a cookie of ${source.url.hostname} alone, or name a parent domain within its site ` +
      `(Domain=${registrableDomain(source.url.hostname)}), never a public suffix or another site.`
    case 'scheme': return 'Serve the page and the API with the same scheme (https for both): Chromium counts the scheme as part of the site, ' +
      `so ${pageUrl(source.page)!.origin} and ${source.url.origin} are two sites there.`
    case 'path': return `Set Path=/ (or a path that covers ${source.later.pathname}), and no Domain or a parent domain of the hosts the page calls.`
    case 'send-secure': return `Call ${source.later.origin} over https: a Secure cookie is never sent over plain http.`
    default: return crossSiteFix(cookie, source)
  }
}

/**
 * Every cookie a played fetch() met (redirects and a refused answer included, in order), judged
 * in each engine; `later` (where sending back is judged) is the call's first URL.
 */
export function judgePlayed (played: PlayResult<unknown>, request: Pick<PageRequest, 'origin' | 'url' | 'credentials'>, now = Date.now()): SetCookieVerdict[] {
  const verdicts: SetCookieVerdict[] = []
  const last = played.steps.length - 1
  const blocked = played.blocked
  for (const { step: index, lines } of played.setCookies) {
    const step = played.steps[index]!
    const from = step.kind === 'preflight' ? 'preflight' : REDIRECT_STATUSES.has(step.status) && step.responseHeaders.location !== undefined ? 'redirect' : 'response'
    const refused = blocked !== null && index === last && !blocked.failure.kind.startsWith('redirect-')
    for (const line of lines) {
      const verdict = judgeSetCookie(line, { page: request.origin, url: new URL(step.url), from, credentials: request.credentials, refused, later: request.url, now })
      if (verdict !== null) verdicts.push(verdict)
    }
  }
  return verdicts
}
