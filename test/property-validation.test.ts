import fc from 'fast-check'
import Fastify from 'fastify'
import t from 'tap'
import cors from '../lib/index.ts'
import { CorsPolicyError, type CorsPolicyProblem } from '../lib/policy/errors.ts'
import { checkPolicy } from '../lib/policy/policy.ts'
import { baseDomain, label, nearMiss, serializedOrigin } from './arbitraries.ts'
import { serializedParts } from './cors-model.ts'
import { SEED, check, checkAsync } from './property.ts'

// Policy validation: what the validator accepts is what browsers send, what it refuses it refuses
// with a CorsPolicyError, and no wildcard covers a public suffix.

function accepts (origin: string): boolean {
  const problems: CorsPolicyProblem[] = []
  const policy = checkPolicy({ origins: [origin] }, 'policy "p"', problems)
  if ((policy === null) !== (problems.length > 0)) throw new Error(`${JSON.stringify(origin)}: refused without a problem, or a problem without a refusal`)
  for (const problem of problems) {
    if (problem.where !== 'policy "p"' || !problem.path.startsWith('/origins') || problem.message === '') {
      throw new Error(`${JSON.stringify(origin)}: the problem ${JSON.stringify(problem)} does not name the policy, the path and the fix`)
    }
  }
  return policy !== null
}

/** Whether an accepted entry has the form browsers send (or, for a pattern, its base has). */
function isBrowserForm (entry: string): boolean {
  if (entry === 'null') return true
  const sub = /^(https?):\/\/\*\.(.+)$/.exec(entry)
  if (sub !== null) return isBrowserForm(`${sub[1]}://${sub[2]}`)
  if (entry.endsWith(':*')) return isBrowserForm(entry.slice(0, -2))
  if (entry.startsWith('http://') || entry.startsWith('https://')) {
    return URL.canParse(entry) && new URL(entry).origin === entry && serializedParts(entry) !== null
  }
  // Other schemes have no URL serialization of their origin: scheme://host[:port], lower case, 2 KiB at most.
  return entry.length <= 2048 && /^[a-z][a-z0-9+.-]*:\/\/(?:\[[0-9a-f:.]+\]|[a-z0-9_-]+(?:\.[a-z0-9_-]+)*)(?::(?:0|[1-9][0-9]{0,4}))?$/.test(entry) &&
    Number(/:([0-9]+)$/.exec(entry)?.[1] ?? 0) <= 65535
}

// Origin-like strings: each part drawn from what is right and what people get wrong.
const scheme = fc.constantFrom('https', 'http', 'HTTPS', 'Http', 'capacitor', 'chrome-extension', 'ftp', 'ws', 'a+b.c-d', '1ab', '', 'https ', 'h_ttp')
const separator = fc.constantFrom('://', '://', '://', ':/', ':', '//', ':///', '')
const userinfo = fc.constantFrom('', '', '', '', 'user@', 'user:pw@', '@')
const hostPart = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.array(label, { maxLength: 2 }), baseDomain).map(([ls, b]) => [...ls, b].join('.')) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('localhost', '127.0.0.1', '[::1]', '[0:0::1]', '[::FFFF:1.2.3.4]', '1.2.3.04', '0x7f.0.0.1', '127.1',
      '256.1.1.1', '[::1', 'a..b.com', '.a.com', 'a.com.', 'A.com', 'a_b.com', 'a!b.com', 'a%2eb.com', 'münchen.de', 'xn--mnchen-3ya.de',
      'xn--zz.com', '*', '*.com', '*.co.uk', '*.github.io', '*.example.com', 'a.*.example.com', '*.*.example.com', '**.example.com', '*example.com',
      ' a.com', 'a .com', 'a\tb.com', '')
  },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 12 }) })
const portPart = fc.constantFrom('', '', '', ':8443', ':3000', ':0', ':65535', ':65536', ':443', ':80', ':08443', ':*', ':', ':-1', ':1e3', ': 80', ':8443:*')
const tail = fc.constantFrom('', '', '', '', '/', '/path', '?q', '#f', ' ', '\n', '/*')

const originLike = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(scheme, separator, userinfo, hostPart, portPart, tail).map((parts) => parts.join('')) },
  { weight: 2, arbitrary: nearMiss(serializedOrigin) },
  { weight: 1, arbitrary: serializedOrigin },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) })

t.test('the validator accepts an origin exactly when it has the form browsers send, and says why it refuses one', async (t) => {
  // Patterns are accepted only when their base has that form (and, below, covers no public suffix).
  check(fc.property(originLike, (origin) => origin.includes('*') ? !accepts(origin) || isBrowserForm(origin) : accepts(origin) === isBrowserForm(origin)), 5000)
  t.pass(`5000 origins, seed ${SEED}`)
})

t.test('every origin in the form browsers send is accepted', async (t) => {
  check(fc.property(serializedOrigin, (origin) => accepts(origin)), 2000)
  t.pass(`2000 origins, seed ${SEED}`)
})

// Policies of random shape: the right fields with values of any type, typos, and stray keys.
const FIELDS = ['origins', 'credentials', 'methods', 'allowHeaders', 'exposeHeaders', 'maxAge', 'dangerouslyAllowInsecureOrigins']
const fieldValue = fc.oneof(
  fc.anything({ maxDepth: 2, maxKeys: 3, withBigInt: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withTypedArray: true, withSparseArray: true, withBoxedValues: true }),
  fc.constantFrom<unknown>('*', ['*'], [], true, false, 0, -1, 1.5, 86400, 86401, /^https:\/\/a\.com$/, /a\.com/, /^https:\/\/a\.com$/g,
    ['GET'], ['get'], ['CONNECT'], ['x-a;b'], ['authorization'], () => true),
  fc.array(fc.oneof(originLike, fc.constantFrom<unknown>('null', /^https:\/\/(a+)+\.com$/, /^https:\/\/app.example.com$/, 1, null)), { maxLength: 4 }))
const randomPolicy = fc.oneof(
  { weight: 4, arbitrary: fc.dictionary(fc.constantFrom(...FIELDS, 'credential', 'origin', 'allowedHeaders', 'toString', '__proto__', 'constructor'), fieldValue, { maxKeys: 5 }) },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 1 }) })

t.test('checkPolicy never throws: a random policy is accepted, or refused with its problems listed', async (t) => {
  check(fc.property(randomPolicy, (policy) => {
    const problems: CorsPolicyProblem[] = []
    const normalized = checkPolicy(policy, 'policy "random"', problems)
    return (normalized === null) === (problems.length > 0) && problems.every((p) => p.where === 'policy "random"' && p.message !== '')
  }), 3000)
  t.pass(`3000 policies, seed ${SEED}`)
})

t.test('registering the plugin with a random policy starts, or fails with a CorsPolicyError, never another error', async (t) => {
  await checkAsync(fc.asyncProperty(randomPolicy, fc.boolean(), async (policy, asDefault) => {
    const app = Fastify()
    try {
      if (asDefault) {
        await app.register(cors, { default: policy as never })
      } else {
        await app.register(cors, {})
        app.get('/', { config: { cors: policy as never } }, async () => 'ok')
      }
      await app.ready()
    } catch (err) {
      if (!(err instanceof CorsPolicyError) || err.code !== 'FST_CORS_POLICY_INVALID' || err.problems.length === 0) throw err
    } finally {
      await app.close()
    }
  }))
  t.pass(`1000 registrations, seed ${SEED}`)
})

// A sample of the Public Suffix List, ICANN and private sections, taken every few entries (rules
// `*.x` appear as `wild.x`, which they make a public suffix).
const ICANN_SUFFIXES = [
  'ac', 'consulting.aero', 'scientist.aero', 'co.ao', 'act.au', 'bb', '3.bg', 'org.bm', 'tksat.bo', 'edu.br',
  'se.gov.br', 'rec.br', 'bv', 'net.ci', 'ln.cn', 'org.do', 'net.eg', 'tm.fr', 'org.gi', 'org.gu', 'com.ht',
  'tozsde.hu', 'ai.in', 'mil.iq', 'friulivenezia-giulia.it', 'trentino-sued-tirol.it', 'agrigento.it',
  'xn--bozen-sdtirol-2ob.it', 'cz.it', 'lodi.it', 'palermo.it', 'sassari.it', 'venice.it', 'gifu.jp',
  'xn--mkru45i.jp', 'wild.yokohama.jp', 'toyoake.aichi.jp', 'noheji.aomori.jp', 'oamishirasato.chiba.jp',
  'fukui.fukui.jp', 'nishi.fukuoka.jp', 'iwaki.fukushima.jp', 'ikeda.gifu.jp', 'numata.gunma.jp',
  'akkeshi.hokkaido.jp', 'kayabe.hokkaido.jp', 'rankoshi.hokkaido.jp', 'aioi.hyogo.jp', 'ami.ibaraki.jp',
  'ushiku.ibaraki.jp', 'noda.iwate.jp', 'yusui.kagoshima.jp', 'nishitosa.kochi.jp', 'kita.kyoto.jp',
  'tamaki.mie.jp', 'kitagawa.miyazaki.jp', 'komoro.nagano.jp', 'yamanouchi.nagano.jp', 'ouda.nara.jp',
  'tsunan.niigata.jp', 'tamano.okayama.jp', 'abeno.osaka.jp', 'tondabayashi.osaka.jp', 'iruma.saitama.jp',
  'yashio.saitama.jp', 'shimane.shimane.jp', 'iwafune.tochigi.jp', 'akishima.tokyo.jp', 'shibuya.tokyo.jp',
  'arida.wakayama.jp', 'oguni.yamagata.jp', 'minami-alps.yamanashi.jp', 'tm.km', 'gyeongbuk.kr', 'net.lc',
  'mil.lv', 'mil', 'net.mu', 'mv', 'edu.mz', 'mobi.ng', 'oslo.no', 'honefoss.no', 'alvdal.no', 'baidar.no',
  'eid.no', 'forde.no', 'hattfjelldal.no', 'karlsoy.no', 'leirfjord.no', 'meldal.no', 'nordkapp.no',
  'radoy.no', 'sande.vestfold.no', 'stange.no', 'time.no', 'vardo.no', 'nu', 'mil.pe', 'mail.pl', 'so.gov.pl',
  'jelenia-gora.pl', 'pisz.pl', 'zagan.pl', 'pt', 'store.ro', 'tv.sd', 'org.sg', 'com.st', 'co.tj', 'tr',
  'mil.tw', 'dp.ua', 'volyn.ua', 'ga.us', 'k12.ar.us', 'k12.wi.us', 'cc.sd.us', 'lib.ny.us', 'gov.vc',
  'edu.vu', 'xn--45brj9c', 'xn--kpry57d', 'gov.zw', 'amsterdam', 'bauhaus', 'bridgestone', 'channel',
  'corsica', 'directory', 'fage', 'fresenius', 'goog', 'host', 'jewelry', 'lawyer', 'makeup', 'movie',
  'oldnavy', 'place', 'rentals', 'schaeffler', 'social', 'tattoo', 'tui', 'watches', 'xn--6qq986b3xl',
  'xn--mgbi4ecexp',
]
const PRIVATE_SUFFIXES = [
  'cc.ua', 'akamaihd.net', 'kasserver.com', 's3.dualstack.ap-south-1.amazonaws.com',
  's3.eu-west-2.amazonaws.com', 's3-eu-west-1.amazonaws.com', 's3-website-sa-east-1.amazonaws.com',
  'vfs.cloud9.ap-northeast-1.amazonaws.com', 'webview-assets.cloud9.ca-central-1.amazonaws.com',
  'vfs.cloud9.me-south-1.amazonaws.com', 'elasticbeanstalk.com', 'us-east-1.elasticbeanstalk.com',
  'siiites.com', 'cdn.prod.atlassian-dev.net', 'wild.beget.app', 'square7.de', 'carrd.co', 'jpn.com',
  'cloud66.ws', 'pages.dev', 'cloudns.biz', 'webhosting.be', 'dynamic-dns.info', 'cyon.site', 'firm.dk',
  'deno-staging.dev', 'shoparena.pl', 'dyndns-free.com', 'dyndns.tv', 'cechire.com', 'doomdns.com',
  'est-le-patron.com', 'from-ca.com', 'from-ky.com', 'from-nh.com', 'from-tx.com', 'gets-it.net',
  'homeftp.org', 'is-a-bulls-fan.com', 'is-a-financialadvisor.com', 'is-a-linux-user.org', 'is-a-soxfan.org',
  'is-found.org', 'is-very-evil.org', 'kicks-ass.org', 'on-the-web.tv', 'sells-for-u.com', 'stuff-4-sale.us',
  'dyndns1.de', 'gleeze.com', 'cz.eu.org', 'in.eu.org', 'my.eu.org', 'si.eu.org', 'twmail.cc', 'dagestan.ru',
  'vladimir.ru', 'east-kazakhstan.su', 'kurgan.su', 'pokrovsk.su', 'channelsdvr.net', 'wild.user.fm',
  'hosp.uk', 'wild.frusky.de', 'wild.ex.futurecms.at', 'royal-commission.uk', 'githubpreview.dev',
  'bambina.jp', 'chips.jp', 'fakefur.jp', 'hiho.jp', 'lolitapunk.jp', 'oops.jp', 'raindrop.jp', 'velvet.jp',
  'withgoogle.com', 'hashbang.sh', 'hoplix.shop', 'moonscale.net', 'in-brb.de', 'ap.leg.br', 'pi.leg.br',
  'iopsys.se', 'alp1.ae.flow.ch', 'uk.primetel.cloud', 'rag-cloud-ch.hosteur.com', 'jls-sto1.elastx.net',
  'wild.hosting.myjino.ru', 'kinghost.net', 'leadpages.co', 'linkyard-cloud.ch', 'barsycenter.com',
  'barsy.org', 'custom.metacentrum.cz', 'eastasia.azurestaticapps.net', 'customer.mythic-beasts.com',
  'cloud.nospamproxy.com', 'dnsking.ch', 'hicam.net', 'nerdpol.ovh', 'dynns.com', 'mydissent.net', 'noip.us',
  'stufftoread.com', 'no-ip.info', 'servemp3.com', 'omniwe.site', '123website.ch', 'authgear-staging.com',
  'gotpantheon.com', 'pdns.page', 'prvcy.page', 'devices.resinstaging.io', 'xn--c1avg.xn--p1acf',
  'nl-ams-1.baremetal.scw.cloud', 's3-website.nl-ams.scw.cloud', 'firewall-gateway.com', 'minisite.ms',
  '1kapp.com', 'streamlitapp.com', 'ric.jelastic.vps-host.net', 'myspreadshop.dk', 'utwente.io', 'dsmynas.com',
  'direct.quickconnect.to', 'edugit.io', 'reservd.disrec.thingdust.io', 'lima-city.at', 'lima-city.rocks',
  'ltd.hk', 'myforum.community',
]
const WELL_KNOWN_SUFFIXES = ['com', 'net', 'org', 'io', 'dev', 'app', 'co.uk', 'ac.uk', 'gov.uk', 'com.au', 'co.jp', 'github.io', 'gitlab.io',
  'vercel.app', 'netlify.app', 'pages.dev', 'workers.dev', 'herokuapp.com', 'appspot.com', 'blogspot.com', 'cloudfront.net',
  's3.amazonaws.com', 'azurewebsites.net', 'firebaseapp.com', 'web.app', 'onrender.com', 'fly.dev', 'ngrok.io', 'ngrok-free.app']

t.test('a wildcard under any public suffix is refused, ICANN and private sections alike', async (t) => {
  const suffix = fc.constantFrom(...ICANN_SUFFIXES, ...PRIVATE_SUFFIXES, ...WELL_KNOWN_SUFFIXES)
  const pattern = fc.tuple(fc.constantFrom('https', 'http'), suffix, fc.constantFrom('', ':8443'))
    .map(([s, suffix, port]) => `${s}://*.${suffix}${port}`)
  check(fc.property(pattern, (entry) => {
    const problems: CorsPolicyProblem[] = []
    return checkPolicy({ origins: [entry] }, 'policy "p"', problems) === null && problems.some((p) => p.path === '/origins/0' && p.message.includes('public suffix'))
  }), 2000)
  // Under a registrable domain the same wildcard is fine.
  for (const suffix of WELL_KNOWN_SUFFIXES) t.ok(accepts(`https://*.my-own-site.${suffix}`), suffix)
  t.ok(accepts('https://*.city.kawasaki.jp'), 'an exception rule makes city.kawasaki.jp registrable')
  t.equal(ICANN_SUFFIXES.length + PRIVATE_SUFFIXES.length > 250, true, 'the sample spans both sections')
})
