// The cookie half of the browser model, rule by rule: sites (lib/tools/browser/site.ts), the Set-Cookie
// parser, each rule for storing and for sending back with its reason in each engine, and each fix.
// What the engines actually do is measured by test/browser/cookies.ts; here every branch is pinned.
import t from 'tap'
import { ENGINES, judgeSetCookie, parseSetCookie, type CookieSource, type SetCookieVerdict } from '../../lib/tools/browser/cookies.ts'
import { redactCookieHeader, redactSetCookie } from '../../lib/tools/browser/redact.ts'
import { isPotentiallyTrustworthy, isPublicSuffix, isSameSite, registrableDomain, siteName } from '../../lib/tools/browser/site.ts'

const NOW = Date.UTC(2026, 0, 1)

function source (overrides: Partial<Omit<CookieSource, 'url' | 'later'>> & { url?: string, later?: string } = {}): CookieSource {
  const url = new URL(overrides.url ?? 'https://api.example.test/set')
  return {
    page: 'https://app.example.test',
    from: 'response',
    credentials: true,
    refused: false,
    now: NOW,
    ...overrides,
    url,
    later: overrides.later === undefined ? url : new URL(overrides.later),
  }
}

function judged (line: string, overrides: Parameters<typeof source>[0] = {}): SetCookieVerdict {
  const verdict = judgeSetCookie(line, source(overrides))
  if (verdict === null) throw new Error(`no cookie in ${line}`)
  return verdict
}

/** [stored, sentBack, partitioned] in Chromium, then in Firefox. */
function outcome (verdict: SetCookieVerdict): string {
  const one = ({ stored, sentBack, partitioned }: { stored: boolean, sentBack: boolean, partitioned: boolean }): string =>
    `${stored ? 'stored' : 'not stored'}${stored ? sentBack ? ', sent back' : ', not sent back' : ''}${partitioned ? ', partitioned' : ''}`
  return `chromium: ${one(verdict.engines.chromium)} | firefox: ${one(verdict.engines.firefox)}`
}

t.test('sites: the registrable domain from the Public Suffix List (private section included), hosts without one are their own site', async (t) => {
  t.equal(registrableDomain('api.example.test'), 'example.test', 'an unknown top-level label is a public suffix')
  t.equal(registrableDomain('a.b.example.co.uk'), 'example.co.uk')
  t.equal(registrableDomain('alice.github.io'), 'alice.github.io', 'github.io is a public suffix of the private section')
  t.equal(registrableDomain('localhost'), 'localhost')
  t.equal(registrableDomain('127.0.0.1'), '127.0.0.1')
  t.equal(registrableDomain('[::1]'), '[::1]')
  t.ok(isPublicSuffix('test'))
  t.ok(isPublicSuffix('github.io'))
  t.ok(isPublicSuffix('co.uk'))
  t.notOk(isPublicSuffix('example.test'))
  const url = (href: string): URL => new URL(href)
  t.ok(isSameSite(url('https://app.example.test'), url('https://api.example.test:8443'), true), 'ports do not make sites')
  t.notOk(isSameSite(url('http://app.example.test'), url('https://api.example.test'), true), 'schemeful: the scheme is part of the site')
  t.ok(isSameSite(url('http://app.example.test'), url('https://api.example.test'), false), 'not schemeful: the domains alone')
  t.notOk(isSameSite(url('http://localhost'), url('http://127.0.0.1'), false))
  t.notOk(isSameSite(url('capacitor://localhost'), url('http://localhost'), false), 'a page that is not http(s) is no site of the API')
  t.equal(siteName(url('https://api.example.test')), 'example.test')
  t.equal(siteName(url('https://api.example.test'), true), 'https://example.test')
})

t.test('secure URLs: https, and http on localhost, *.localhost and loopback addresses', async (t) => {
  for (const href of ['https://example.test', 'http://localhost:3000', 'http://app.localhost', 'http://127.0.0.1', 'http://127.1.2.3', 'http://[::1]:8080']) {
    t.ok(isPotentiallyTrustworthy(new URL(href)), href)
  }
  for (const href of ['http://example.test', 'http://10.0.0.1', 'http://localhost.example.test', 'ws://localhost']) {
    t.notOk(isPotentiallyTrustworthy(new URL(href)), href)
  }
})

t.test('parsing a Set-Cookie line as RFC 6265bis does', async (t) => {
  t.same(parseSetCookie(' sid = abc ; Path=/x ; Domain=.Example.TEST; Secure; HttpOnly; SameSite=lax; Partitioned; Max-Age=60', NOW), {
    name: 'sid',
    value: 'abc',
    attributes: 'Path=/x; Domain=.Example.TEST; Secure; HttpOnly; SameSite=lax; Partitioned; Max-Age=60',
    domain: 'example.test',
    path: '/x',
    secure: true,
    sameSite: 'lax',
    partitioned: true,
    expired: false,
  })
  t.equal(parseSetCookie('a=1; Path=relative', NOW)?.path, null, 'a Path not starting with / is the default path')
  t.equal(parseSetCookie('a=1; Domain=', NOW)?.domain, null, 'an empty Domain is ignored')
  t.equal(parseSetCookie('a=1; SameSite=Bogus', NOW)?.sameSite, null, 'an unknown SameSite is as if it were absent')
  t.equal(parseSetCookie('a=1; SameSite=None; SameSite=Strict', NOW)?.sameSite, 'strict', 'the last attribute wins')
  t.equal(parseSetCookie('a=1; Max-Age=abc; Expires=never', NOW)?.expired, false, 'invalid Max-Age and Expires are ignored')
  t.equal(parseSetCookie('a=1; Expires=Thu, 01 Jan 2099 00:00:00 GMT', NOW)?.expired, false)
  t.equal(parseSetCookie('a=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT', NOW)?.expired, true)
  t.equal(parseSetCookie('a=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=5', NOW)?.expired, false, 'Max-Age wins over Expires')
  t.equal(parseSetCookie('a=1;; ;Secure', NOW)?.attributes, 'Secure', 'empty attributes are skipped')
  t.match(parseSetCookie('onlyvalue; Secure', NOW), { name: '', value: 'onlyvalue' }, 'a pair without = is a value with an empty name')
  t.equal(parseSetCookie('', NOW), null)
  t.equal(parseSetCookie(' = ; Secure', NOW), null, 'no name and no value: no cookie')
  t.equal(judgeSetCookie('=', source()), null)
  const { now: _now, ...unstamped } = source()
  t.equal(judgeSetCookie('a=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT', unstamped)?.engines.firefox.stored, false, 'Expires compares with the present by default')
})

t.test('cookie values never leave the model: names and attributes only', async (t) => {
  t.equal(redactCookieHeader('sid=abc; theme=dark'), 'sid=…; theme=…')
  t.equal(redactCookieHeader('lonely'), '…')
  t.equal(redactSetCookie('sid=abc; Path=/; HttpOnly'), 'sid=…; Path=/; HttpOnly')
  t.equal(redactSetCookie('sid=abc'), 'sid=…')
  t.equal(redactSetCookie('justvalue; Secure'), '…; Secure')
  const verdict = judged('sid=s3cr3t; Path=/; Secure; SameSite=Lax')
  t.notMatch(JSON.stringify(verdict), 's3cr3t')
  t.same([verdict.name, verdict.attributes, verdict.url, verdict.from], ['sid', 'Path=/; Secure; SameSite=Lax', 'https://api.example.test/set', 'response'])
})

t.test('the engines, as measured: where their shipped settings differ', async (t) => {
  t.same(ENGINES.chromium, { title: 'Chromium', schemeful: true, unspecified: 'lax', thirdParty: 'partitioned-only', hostPrefixPathAttribute: true })
  t.same(ENGINES.firefox, { title: 'Firefox', schemeful: false, unspecified: 'none', thirdParty: 'partition-all', hostPrefixPathAttribute: false })
})

const CROSS = { url: 'https://api.other.test/set' }

t.test('each rule for storing, with its reason in each engine', async (t) => {
  const cases: Array<[name: string, line: string, overrides: Parameters<typeof source>[0], expected: string, reasons: [RegExp, RegExp]]> = [
    ['a same-site cookie', 'a=1; SameSite=Lax', {}, 'chromium: stored, sent back | firefox: stored, sent back',
      [/^stored and sent back: a first-party cookie \(api\.example\.test is on the page's site, https:\/\/example\.test\)$/, /page's site, example\.test\)$/]],
    ['a preflight\'s Set-Cookie', 'a=1', { from: 'preflight' }, 'chromium: not stored | firefox: not stored',
      [/^not stored: a preflight's Set-Cookie is ignored: browsers send preflights without credentials/, /preflight/]],
    ['without credentials', 'a=1', { credentials: false }, 'chromium: not stored | firefox: not stored',
      [/^not stored: the request was made without credentials: 'include'/, /without credentials/]],
    ['4097 bytes of name and value', `a=${'v'.repeat(4096)}`, {}, 'chromium: not stored | firefox: not stored',
      [/its name and value take 4097 bytes, over the 4096 a browser keeps/, /4097 bytes/]],
    ['expired', 'a=1; Max-Age=0', {}, 'chromium: not stored | firefox: not stored', [/it expires at once/, /expires at once/]],
    ['Secure over http', 'a=1; Secure', { page: 'http://app.example.test', url: 'http://api.example.test/set' }, 'chromium: not stored | firefox: not stored',
      [/it is Secure but came over plain http from api\.example\.test; only https and the loopback hosts/, /plain http/]],
    ['Secure over http on localhost', 'a=1; Secure', { page: 'http://localhost:3000', url: 'http://localhost:3001/set' },
      'chromium: stored, sent back | firefox: stored, sent back', [/^stored and sent back/, /^stored and sent back/]],
    ['SameSite=None without Secure', 'a=1; SameSite=None', {}, 'chromium: not stored | firefox: not stored',
      [/SameSite=None without Secure is refused/, /SameSite=None without Secure/]],
    ['__Secure- without Secure', '__Secure-a=1', {}, 'chromium: not stored | firefox: not stored', [/a __Secure- cookie must be Secure/, /must be Secure/]],
    ['__Host- without Secure', '__HOST-a=1; Path=/', {}, 'chromium: not stored | firefox: not stored', [/a __Host- cookie must be Secure/, /must be Secure/]],
    ['__Host- with Domain', '__Host-a=1; Secure; Path=/; Domain=api.example.test', {}, 'chromium: not stored | firefox: not stored',
      [/must have no Domain attribute/, /no Domain/]],
    ['__Host- with Path=/a', '__Host-a=1; Secure; Path=/a', {}, 'chromium: not stored | firefox: not stored', [/must have Path=\/, not Path=\/a/, /not Path=\/a/]],
    ['__Host- without Path, default path /', '__Host-a=1; Secure', {}, 'chromium: not stored | firefox: stored, sent back',
      [/needs the attribute Path=\/ in Chromium \(a default path of \/ is not enough there\)/, /^stored and sent back/]],
    ['__Host- without Path, default path /deep', '__Host-a=1; Secure', { url: 'https://api.example.test/deep/set' }, 'chromium: not stored | firefox: not stored',
      [/attribute Path=\//, /needs the path \/, and without a Path attribute its path is \/deep \(the default for \/deep\/set\)/]],
    ['__Host- done right', '__Host-a=1; Secure; Path=/', {}, 'chromium: stored, sent back | firefox: stored, sent back', [/^stored/, /^stored/]],
    ['Partitioned without Secure', 'a=1; Partitioned', {}, 'chromium: not stored | firefox: not stored', [/a Partitioned cookie must be Secure/, /Partitioned/]],
    ['Domain: a sibling', 'a=1; Domain=app.example.test', {}, 'chromium: not stored | firefox: not stored',
      [/its Domain=app\.example\.test is not api\.example\.test or a parent domain of it/, /not api\.example\.test/]],
    ['Domain: a public suffix', 'a=1; Domain=test', {}, 'chromium: not stored | firefox: not stored',
      [/its Domain=test is a public suffix, which no site may set cookies for/, /public suffix/]],
    ['Domain: above the registrable domain but not in the list', 'a=1; Domain=co.uk', { page: 'https://example.co.uk', url: 'https://api.example.co.uk/set' },
      'chromium: not stored | firefox: not stored', [/public suffix/, /public suffix/]],
    ['Domain on an IP address', 'a=1; Domain=0.0.1', { page: 'http://127.0.0.1:3000', url: 'http://127.0.0.1:3001/set' }, 'chromium: not stored | firefox: not stored',
      [/its Domain=0\.0\.1 is not 127\.0\.0\.1/, /not 127\.0\.0\.1/]],
    ['Domain: the parent domain', 'a=1; Domain=example.test', {}, 'chromium: stored, sent back | firefox: stored, sent back', [/^stored/, /^stored/]],
    ['cross-site, SameSite=Lax', 'a=1; SameSite=Lax; Secure', CROSS, 'chromium: not stored | firefox: not stored',
      [/^not stored: api\.other\.test is another site \(https:\/\/other\.test\) than the page's \(https:\/\/example\.test\), and a cross-site response cannot set a SameSite=Lax cookie$/,
        /another site \(other\.test\) than the page's \(example\.test\), and a cross-site response cannot set a SameSite=Lax cookie$/]],
    ['cross-site, no SameSite', 'a=1; Secure', CROSS, 'chromium: not stored | firefox: stored, sent back, partitioned',
      [/cannot set a cookie without SameSite \(which Chromium treats as Lax\)$/,
        /^stored and sent back: a third-party cookie, kept in a jar of the page's site \(example\.test\) by Total Cookie Protection: the API's own pages and other sites never get it$/]],
    ['cross-site, SameSite=None; Secure', 'a=1; SameSite=None; Secure', CROSS, 'chromium: not stored | firefox: stored, sent back, partitioned',
      [/: a third-party cookie, which Chromium blocks with its default settings unless it is Partitioned$/, /Total Cookie Protection/]],
    ['cross-site, SameSite=None; Secure; Partitioned', 'a=1; SameSite=None; Secure; Partitioned', CROSS,
      'chromium: stored, sent back, partitioned | firefox: stored, sent back, partitioned',
      [/^stored and sent back: Partitioned: kept for pages of https:\/\/example\.test only$/, /Total Cookie Protection/]],
    ['http page, https API on its domain: Chromium counts the scheme', 'a=1; SameSite=Strict', { page: 'http://app.example.test' },
      'chromium: not stored | firefox: stored, sent back', [/another site \(https:\/\/example\.test\) than the page's \(http:\/\/example\.test\)/, /^stored and sent back: a first-party/]],
    ['http page, https API on its domain, SameSite=None; Secure', 'a=1; SameSite=None; Secure', { page: 'http://app.example.test' },
      'chromium: not stored | firefox: stored, sent back', [/a third-party cookie/, /^stored and sent back: a first-party/]],
    ['http page, https API on its domain, Partitioned', 'a=1; SameSite=None; Secure; Partitioned', { page: 'http://app.example.test' },
      'chromium: stored, sent back, partitioned | firefox: stored, sent back, partitioned', [/Partitioned: kept for pages of http:\/\/example\.test only/, /Partitioned: kept for pages of example\.test only/]],
    ['a same-site Partitioned cookie is kept for the API\'s own site', 'a=1; SameSite=None; Secure; Partitioned', {}, 'chromium: stored, sent back | firefox: stored, sent back',
      [/first-party/, /first-party/]],
    ['a refused response', 'a=1; SameSite=Lax', { refused: true }, 'chromium: stored, sent back | firefox: stored, sent back',
      [/; the CORS check refused the response, but the browser stores its cookies before that check$/, /before that check$/]],
    ['an opaque page origin', 'a=1; SameSite=None; Secure; Partitioned', { page: 'null' }, 'chromium: stored, sent back, partitioned | firefox: stored, sent back, partitioned',
      [/Partitioned: kept for pages of an opaque origin \(null\) only/, /kept in a jar of the page's site \(an opaque origin \(null\)\)/]],
    ['a page that is not http(s)', 'a=1; SameSite=Lax; Secure', { page: 'capacitor://localhost', url: 'https://localhost/set' }, 'chromium: not stored | firefox: not stored',
      [/than the page's \(an opaque origin \(capacitor:\/\/localhost\)\)/, /cross-site response cannot set a SameSite=Lax cookie/]],
  ]
  for (const [name, line, overrides, expected, [chromium, firefox]] of cases) {
    const verdict = judged(line, overrides)
    t.equal(outcome(verdict), expected, name)
    t.match(verdict.engines.chromium.reason, chromium, `${name}: Chromium's reason`)
    t.match(verdict.engines.firefox.reason, firefox, `${name}: Firefox's reason`)
  }
})

t.test('each rule for sending it back when the page calls the first URL again', async (t) => {
  const path = judged('a=1; Path=/other; SameSite=Lax')
  t.equal(outcome(path), 'chromium: stored, not sent back | firefox: stored, not sent back')
  t.match(path.engines.chromium.reason, /^stored, but not sent back: it is stored for the path \/other, which does not cover \/set; a first-party cookie/)
  const deeper = judged('a=1; SameSite=Lax', { url: 'https://api.example.test/v1/login', later: 'https://api.example.test/v2/me' })
  t.match(deeper.engines.firefox.reason, /stored for the path \/v1, which does not cover \/v2\/me/, 'the default path is the URL\'s directory')
  t.equal(outcome(judged('a=1; SameSite=Lax', { url: 'https://api.example.test/v1/login', later: 'https://api.example.test/v1/me' })),
    'chromium: stored, sent back | firefox: stored, sent back')
  t.equal(outcome(judged('a=1; SameSite=Lax', { later: 'https://api.example.test/' })), 'chromium: stored, sent back | firefox: stored, sent back', 'the path / covers /')

  const host = judged('a=1; SameSite=Lax', { url: 'https://login.example.test/set', later: 'https://api.example.test/set' })
  t.match(host.engines.chromium.reason, /it is stored for login\.example\.test, not for api\.example\.test/, 'a host-only cookie goes to its host alone')
  t.equal(outcome(judged('a=1; SameSite=Lax; Domain=example.test', { url: 'https://login.example.test/set', later: 'https://api.example.test/set' })),
    'chromium: stored, sent back | firefox: stored, sent back', 'a Domain cookie goes to every host under it')
  t.match(judged('a=1; Domain=example.test', { url: 'https://login.example.test/set', later: 'https://example.test/set' }).engines.firefox.reason, /^stored and sent back/)
  t.match(judged('a=1; Domain=example.test', { url: 'https://login.example.test/set', later: 'https://other.test/set' }).engines.firefox.reason,
    /stored for example\.test, not for other\.test/)

  const secure = judged('a=1; Secure; SameSite=Lax', { later: 'http://api.example.test/set' })
  t.match(secure.engines.chromium.reason, /it is Secure, and http:\/\/api\.example\.test is plain http/)

  const strict = judged('a=1; SameSite=Strict; Domain=example.test', { url: 'https://login.example.test/set', later: 'https://example.test/set', page: 'https://app.example.test' })
  t.equal(outcome(strict), 'chromium: stored, sent back | firefox: stored, sent back')
  const schemeful = judged('a=1; SameSite=Strict', { url: 'http://api.example.test/set', later: 'https://api.example.test/set', page: 'http://app.example.test' })
  t.equal(outcome(schemeful), 'chromium: stored, not sent back | firefox: stored, sent back', 'Chromium does not send it to the other scheme')
  t.match(schemeful.engines.chromium.reason, /api\.example\.test is another site \(https:\/\/example\.test\) than the page's \(http:\/\/example\.test\), and it is a SameSite=Strict cookie/)
  const unspecified = judged('a=1', { url: 'http://api.example.test/set', later: 'https://api.example.test/set', page: 'http://app.example.test' })
  t.match(unspecified.engines.chromium.reason, /, and it is a cookie without SameSite \(which Chromium treats as Lax\); a first-party cookie/)

  // Set on a redirect to http://localhost:3001 (first-party there), the call being to https://localhost:3002.
  const firstParty = judged('a=1; SameSite=None; Secure', { page: 'http://localhost:3000', url: 'http://localhost:3001/set', later: 'https://localhost:3002/set' })
  t.equal(outcome(firstParty), 'chromium: stored, not sent back | firefox: stored, sent back')
  t.match(firstParty.engines.chromium.reason, /localhost is another site \(https:\/\/localhost\) than the page's \(http:\/\/localhost\), and the cookie was stored as a first-party cookie of localhost/,
    'a first-party cookie is not sent in a third-party request')
})

t.test('fixes: the safe way first, never a hole', async (t) => {
  const fix = (line: string, overrides: Parameters<typeof source>[0] = {}): string | null => judged(line, overrides).fix
  t.equal(fix('a=1; SameSite=Lax'), null, 'nothing to fix')
  t.equal(fix('a=1; SameSite=None; Secure; Partitioned', CROSS), null, 'kept and sent back in both')
  const crossSite = fix('sid=v; SameSite=Lax; Secure', CROSS)!
  t.match(crossSite, /^Serve the API on the page's site, e\.g\. https:\/\/api\.example\.test: the cookie is then first-party, and SameSite=Lax keeps working in every browser\. /)
  t.match(crossSite, /If the API must stay on another site: Set-Cookie: sid=…; SameSite=None; Secure; Partitioned; Path=\/ over https\./)
  t.match(crossSite, /Chromium \(with its default settings\) drops third-party cookies without Partitioned, and Firefox keeps every third-party cookie in a jar of the page's site/)
  t.match(crossSite, /SameSite=None removes the browser's own CSRF defence for this cookie: check the Origin header of every state-changing request/)
  t.notMatch(crossSite, /sid=v/, 'never the value')
  t.match(fix('a=1; SameSite=None; Secure', { page: 'http://localhost:3000', url: 'http://127.0.0.1:3001/set' }),
    /^Serve the API on http:\/\/localhost \(another port is fine: ports do not make sites\)/)
  t.match(fix('a=1; SameSite=None; Secure', { page: 'https://192.168.1.2', url: 'https://api.other.test/set' }), /^Serve the API on https:\/\/192\.168\.1\.2 \(another port/)
  t.match(fix('a=1; SameSite=Lax; Secure', { page: 'null' }), /^Serve the API on the page's site: /)
  t.match(fix('a=1; SameSite=Lax', { page: 'http://app.example.test' }), /^Serve the page and the API with the same scheme \(https for both\): Chromium counts the scheme as part of the site, so http:\/\/app\.example\.test and https:\/\/api\.example\.test are two sites there\.$/)
  t.match(fix('a=1; SameSite=None'), /^SameSite=None requires Secure \(and https\); on the page's own site it is not needed: leave SameSite out or set SameSite=Lax\.$/)
  t.match(fix('a=1; SameSite=None', CROSS), /^SameSite=None requires Secure \(and https\)\. Serve the API on the page's site/)
  t.match(fix('a=1', { from: 'preflight' }), /^Set the cookie on the actual response, not on the preflight/)
  t.match(fix('a=1', { credentials: false }), /^Call fetch\(\) with credentials: 'include'/)
  t.match(fix(`a=${'v'.repeat(5000)}`), /^Keep the name and value under 4096 bytes/)
  t.match(fix('a=1; Max-Age=0'), /^If this is a sign-out, this is how a cookie is deleted/)
  t.match(fix('a=1; Secure', { page: 'http://app.example.test', url: 'http://api.example.test/set' }), /^Serve api\.example\.test over https: Secure cookies are refused over plain http/)
  t.match(fix('__Host-a=1; Secure'), /^A __Host- cookie needs exactly: Secure; Path=\/; and no Domain attribute\.$/)
  t.match(fix('__Secure-a=1'), /^A __Secure- cookie needs the Secure attribute/)
  t.match(fix('a=1; Partitioned'), /^Add Secure to a Partitioned cookie/)
  t.match(fix('a=1; Domain=other.test'), /^Leave out Domain for a cookie of api\.example\.test alone, or name a parent domain within its site \(Domain=example\.test\)/)
  t.match(fix('a=1; Path=/other'), /^Set Path=\/ \(or a path that covers \/set\)/)
  t.match(fix('a=1; Secure', { later: 'http://api.example.test/set' }), /^Call http:\/\/api\.example\.test over https/)
})
