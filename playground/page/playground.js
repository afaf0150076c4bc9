/* global document, fetch, location, navigator, Headers */
// The playground page: runs each scenario's fetch calls for real, then asks the API what it saw.

const API = document.querySelector('meta[name="api"]').content
// The same API under another name: http://127.0.0.1 is another site than http://localhost.
const CROSS_SITE_API = document.querySelector('meta[name="cross-site-api"]').content
const PAGE = location.origin
// Which engine's cookie verdict is this browser's (the API judges each cookie for both).
const ENGINE = /Firefox\//.test(navigator.userAgent) ? 'firefox' : /Chrom(e|ium)\//.test(navigator.userAgent) ? 'chromium' : null
const ENGINE_TITLES = { chromium: 'Chromium', firefox: 'Firefox' }
const base = (step) => step.api === 'cross-site' ? CROSS_SITE_API : API

const json = (value) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) })

const scenarios = [
  {
    id: 'simple',
    title: 'Simple GET',
    blurb: 'A GET without custom headers is a simple request: no preflight. /hello uses the public policy.',
    steps: [{ path: '/hello' }],
  },
  {
    id: 'preflight',
    title: 'Preflighted JSON POST',
    blurb: 'content-type: application/json is not CORS-safelisted, so the browser asks first. /orders uses the app policy, which allows content-type.',
    steps: [{ path: '/orders', init: json({ item: 'tea', qty: 2 }) }],
  },
  {
    id: 'blocked',
    title: 'Blocked origin',
    blurb: 'The partners policy lists https://*.partner.example, not this page. The API still runs the handler; the browser hides the answer.',
    steps: [{ path: '/partners/catalog' }],
  },
  {
    id: 'header',
    title: 'Disallowed header',
    blurb: 'The public /hello with an x-debug header: a custom header needs a preflight, and the policy allows no request headers.',
    steps: [{ path: '/hello', init: { headers: { 'x-debug': '1' } } }],
  },
  {
    id: 'credentials',
    title: 'Login on the page\'s site: the cookie comes back',
    blurb: "POST /session sets a SameSite=Lax cookie; GET /me sends it back with credentials: 'include'. The app policy has credentials: true and lists this page. " +
      'The API is on localhost like the page: one site (ports do not make sites), so the cookie is first-party. This is the fix for the login below.',
    steps: [
      { path: '/session', init: { method: 'POST', credentials: 'include' } },
      { path: '/me', init: { credentials: 'include' } },
    ],
  },
  {
    id: 'cross-site-login',
    title: 'Login from another site: CORS allows it, the cookie never comes back',
    blurb: 'The same login, with the API called as 127.0.0.1, which is another site than localhost. CORS allows both calls (the app policy lists this page), ' +
      'but the browser does not store a SameSite=Lax cookie from a cross-site response, so GET /me carries no cookie: 401.',
    steps: [
      { api: 'cross-site', path: '/session', init: { method: 'POST', credentials: 'include' } },
      { api: 'cross-site', path: '/me', init: { credentials: 'include' } },
    ],
  },
  {
    id: 'wildcard',
    title: 'Credentials with a public policy',
    blurb: 'The same cookie sent to the public /hello: Access-Control-Allow-Origin: * never admits a credentialed request.',
    steps: [{ path: '/hello', init: { credentials: 'include' } }],
  },
  {
    id: 'expose',
    title: 'Exposed header',
    blurb: 'The API sends x-request-id and x-trace-id; the app policy exposes only x-request-id to scripts.',
    steps: [{ path: '/orders/42', read: ['x-request-id', 'x-trace-id'] }],
  },
  {
    id: 'per-route',
    title: 'Per-route policy',
    blurb: 'One path, a policy per method: GET is public, PUT uses the app policy, DELETE lists only https://admin.example. Each preflight is judged by its own route.',
    steps: [
      { path: '/items/7', init: { ...json({ name: 'kettle' }), method: 'PUT' } },
      { path: '/items/7', init: { method: 'DELETE' } },
    ],
  },
]

// ---- running a scenario

let cursor = 0
// One scenario at a time, so that each reads only its own requests from the API's log.
let queue = Promise.resolve()
const enqueue = (task) => (queue = queue.then(task, task))

async function readLog () {
  const response = await fetch(`${API}/__log?since=${cursor}`)
  const log = await response.json()
  cursor = log.next
  return log.entries
}

async function runStep (step) {
  const init = step.init ?? {}
  const result = { step, method: (init.method ?? 'GET').toUpperCase() }
  try {
    const response = await fetch(base(step) + step.path, init)
    result.ok = true
    result.status = response.status
    result.body = await response.text()
    result.read = (step.read ?? []).map((name) => [name, response.headers.get(name)])
  } catch (error) {
    result.ok = false
    result.error = `${error.name}: ${error.message}`
  }
  result.seen = await readLog()
  result.preflight = result.seen.find((entry) => entry.method === 'OPTIONS' && entry.requestMethod !== null) ?? null
  result.actual = result.seen.find((entry) => entry !== result.preflight) ?? null
  result.preflightState = result.preflight === null
    ? (whyPreflight(init) === null ? 'no' : 'cached')
    : (result.preflight.status < 300 ? 'yes' : 'refused')
  return result
}

async function runScenario (scenario) {
  const card = document.getElementById(scenario.id)
  const button = card.querySelector('button.run')
  button.disabled = true
  card.dataset.state = 'running'
  const results = []
  for (const step of scenario.steps) results.push(await runStep(step))
  const ok = results.filter((result) => result.ok).length
  card.dataset.outcome = ok === results.length ? 'readable' : ok === 0 ? 'blocked' : 'mixed'
  card.querySelector('.results').replaceChildren(...results.map(renderResult))
  const badge = card.querySelector('.badge')
  badge.textContent = card.dataset.outcome === 'mixed'
    ? results.map((r) => `${r.method} ${r.ok ? 'readable' : 'blocked'}`).join(' · ')
    : card.dataset.outcome
  card.dataset.state = 'done'
  button.disabled = false
  button.textContent = 'Run again'
}

// ---- explaining it

const SAFELISTED_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain']
const SAFELISTED_HEADERS = ['accept', 'accept-language', 'content-language', 'content-type', 'range']

/** Why the Fetch standard makes this request preflighted, or null for a simple request. */
function whyPreflight (init) {
  const method = (init.method ?? 'GET').toUpperCase()
  if (!['GET', 'HEAD', 'POST'].includes(method)) return `method ${init.method}`
  for (const [name, value] of new Headers(init.headers ?? {})) {
    if (!SAFELISTED_HEADERS.includes(name)) return `header ${name}`
    if (name === 'content-type' && !SAFELISTED_TYPES.includes(value.split(';')[0].trim())) return `content-type ${value}`
  }
  return null
}

/** One sentence on why the page could, or could not, read the answer, from what the API reported. */
function explain (result) {
  const init = result.step.init ?? {}
  const credentials = init.credentials === 'include'
  const reason = whyPreflight(init)
  const pre = result.preflight
  const actual = result.actual
  const first = {
    no: 'A simple request, so no preflight',
    yes: `Not a simple request (${reason}): the API allowed the preflight (${pre?.status})`,
    cached: `Not a simple request (${reason}): the browser reused its cached preflight answer`,
    refused: `Not a simple request (${reason}): the ${pre?.requestMethod} route's policy refused the preflight (${pre?.status})`,
  }[result.preflightState]

  if (result.preflightState === 'refused') return `${first}, so the browser never sent the ${result.method}.`
  if (actual === null) return `${first}; the request never reached the API.`
  const allowOrigin = actual.sent['access-control-allow-origin']
  if (result.ok) {
    const credentialed = actual.sent['access-control-allow-credentials'] === 'true' ? ' with Allow-Credentials: true' : ''
    const cookie = actual.cookie ? ' The cookie went along.' : credentials ? ' No cookie went along: the browser holds none for this API.' : ''
    const exposed = result.read.length > 0
      ? ` Scripts see only the headers in Access-Control-Expose-Headers (${actual.sent['access-control-expose-headers'] ?? 'none'}).`
      : ''
    return `${first}; Access-Control-Allow-Origin: ${allowOrigin}${credentialed} lets the script read the answer.${cookie}${exposed}`
  }
  if (allowOrigin === undefined) {
    return `${first}; the API ran the handler (${actual.status}) but sent no Access-Control-Allow-Origin for ${PAGE}, so the browser hid the answer.`
  }
  if (credentials && allowOrigin === '*') {
    return `${first}; the API ran the handler (${actual.status}), but Access-Control-Allow-Origin: * never admits a request with credentials.`
  }
  if (credentials && actual.sent['access-control-allow-credentials'] !== 'true') {
    return `${first}; a request with credentials needs Access-Control-Allow-Credentials: true, which the answer lacked.`
  }
  return `${first}; the browser refused the answer (Access-Control-Allow-Origin: ${allowOrigin}).`
}

// ---- drawing it

function el (tag, attributes = {}, ...children) {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) {
    if (name === 'class') node.className = value
    else node.setAttribute(name, value)
  }
  node.append(...children.filter((child) => child !== null && child !== undefined))
  return node
}

/** The fetch call as code, to show on the card. */
function fetchCode (step) {
  const literal = (value) => typeof value === 'string'
    ? `'${value}'`
    : `{ ${Object.entries(value).map(([k, v]) => `${/^[a-z]+$/i.test(k) ? k : `'${k}'`}: ${literal(v)}`).join(', ')} }`
  return `fetch(${step.api === 'cross-site' ? 'CROSS_SITE_API' : 'API'} + '${step.path}'${step.init ? ', ' + literal(step.init) : ''})`
}

const PREFLIGHT_TEXT = {
  no: 'no preflight',
  yes: 'preflight allowed',
  refused: 'preflight refused',
  cached: 'preflight cached',
}

function renderResult (result) {
  const outcome = result.ok
    ? el('div', { class: 'outcome ok' }, el('b', {}, `readable · ${result.status}`), ' ', el('code', {}, clip(result.body)))
    : el('div', { class: 'outcome blocked' }, el('b', {}, 'blocked'), ' ', el('code', {}, result.error))
  const read = (result.read ?? []).map(([name, value]) => el('div', { class: 'read' },
    el('code', {}, `response.headers.get('${name}')`), ' → ', el('code', { class: value === null ? 'null' : 'value' }, value === null ? 'null' : `'${value}'`)))
  return el('div', { class: 'step', 'data-ok': String(result.ok), 'data-preflight': result.preflightState },
    el('div', { class: 'line' },
      el('span', { class: 'method' }, result.method), ' ', el('code', {}, result.step.api === 'cross-site' ? CROSS_SITE_API + result.step.path : result.step.path),
      el('span', { class: `chip ${result.preflightState}` }, PREFLIGHT_TEXT[result.preflightState])),
    el('table', { class: 'seen' },
      el('caption', {}, 'what the API received and answered'),
      el('tbody', {}, ...(result.seen.length === 0
        ? [el('tr', {}, el('td', { colspan: '2' }, 'nothing reached the API'))]
        : result.seen.map(renderEntry)))),
    outcome,
    ...read,
    ...result.seen.flatMap((entry) => entry.cookies.map(renderCookie)),
    el('p', { class: 'why' }, explain(result)))
}

/** A Set-Cookie the API answered, as each engine treats it: the API judged it with fastify-cors-policy/testing. */
function renderCookie (cookie) {
  const engines = Object.keys(ENGINE_TITLES).sort((a, b) => (b === ENGINE) - (a === ENGINE))
  return el('div', { class: 'cookie', 'data-name': cookie.name },
    el('code', {}, `Set-Cookie: ${cookie.name}=…${cookie.attributes === '' ? '' : '; ' + cookie.attributes}`),
    ...engines.map((engine) => el('div', { class: `verdict ${cookie.engines[engine].sentBack ? 'ok' : 'bad'}${engine === ENGINE ? ' this' : ''}`, 'data-engine': engine },
      el('b', {}, `${ENGINE_TITLES[engine]}${engine === ENGINE ? ' (this browser)' : ''}: `), cookie.engines[engine].reason + '.')),
    cookie.fix === null ? null : el('div', { class: 'fix' }, el('b', {}, 'Safe fix: '), cookie.fix))
}

function renderEntry (entry) {
  const request = [`${entry.method} ${entry.url}`]
  if (entry.requestMethod !== null) request.push(`Access-Control-Request-Method: ${entry.requestMethod}`)
  if (entry.requestHeaders !== null) request.push(`Access-Control-Request-Headers: ${entry.requestHeaders}`)
  if (entry.cookie) request.push('Cookie: …')
  const sent = Object.entries(entry.sent)
  return el('tr', {},
    el('td', { class: 'request' }, ...request.map((line) => el('div', {}, line))),
    el('td', { class: 'response' },
      el('div', { class: `status s${String(entry.status)[0]}` }, String(entry.status)),
      ...(sent.length === 0
        ? [el('div', { class: 'none' }, 'no Access-Control-* headers')]
        : sent.map(([name, value]) => el('div', {}, `${name}: ${value}`)))))
}

function clip (text) {
  return text.length > 80 ? text.slice(0, 77) + '…' : text || '(empty body)'
}

/** The same call checked from a terminal: `npx fastify-cors-policy check`, the command to copy. */
function checkCommand (step) {
  const init = step.init ?? {}
  const args = ['npx fastify-cors-policy check', base(step) + step.path, '--origin', PAGE]
  if (init.method !== undefined && init.method !== 'GET') args.push('--method', init.method)
  for (const [name, value] of Object.entries(init.headers ?? {})) args.push('--header', `'${name}:${value}'`)
  if (init.credentials === 'include') args.push('--credentials')
  return args.join(' ')
}

function renderCard (scenario) {
  return el('section', { class: 'card', id: scenario.id, 'data-scenario': scenario.id, 'data-state': 'idle' },
    el('div', { class: 'card-head' },
      el('h2', {}, scenario.title),
      el('span', { class: 'badge' }),
      el('button', { type: 'button', class: 'run' }, 'Run')),
    el('p', { class: 'blurb' }, scenario.blurb),
    el('pre', { class: 'code' }, scenario.steps.map(fetchCode).join('\n')),
    el('div', { class: 'terminal' },
      el('span', { class: 'hint' }, 'check it from a terminal'),
      el('pre', { class: 'command' }, scenario.steps.map(checkCommand).join('\n'))),
    el('div', { class: 'results' }))
}

async function start () {
  for (const node of document.querySelectorAll('[data-page-origin]')) node.textContent = PAGE
  const main = document.getElementById('scenarios')
  for (const scenario of scenarios) {
    const card = renderCard(scenario)
    card.querySelector('button.run').addEventListener('click', () => enqueue(() => runScenario(scenario)))
    main.append(card)
  }
  const runAll = document.getElementById('run-all')
  runAll.addEventListener('click', async () => {
    runAll.disabled = true
    for (const scenario of scenarios) await enqueue(() => runScenario(scenario))
    runAll.disabled = false
  })
  // Start reading the API's log from where it stands now.
  cursor = (await (await fetch(`${API}/__log`)).json()).next
  document.body.dataset.ready = 'true'
}

start()
