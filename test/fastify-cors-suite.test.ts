// @fastify/cors's own tests, as installed (node_modules/@fastify/cors/test, the version our lockfile
// pins), run against this plugin through fromFastifyCors: one `node` process runs them with
// fastify-cors-redirect.cjs preloaded, which makes their `require('../')` load fastify-cors-shim.cjs.
// Every failure must be listed in fastify-cors-suite.expected.ts and fail exactly as listed; a
// listed test that passes or fails otherwise is a failure here too. The tables of docs/migration.md
// are generated from that list and compared with it.
import t from 'tap'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import Fastify from 'fastify'
import { expectedFailures, suiteSection, type ExpectedFailure, type FailsWith } from './fastify-cors-suite.expected.ts'

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.join(here, '..')
const require = createRequire(import.meta.url)
const peerRoot = path.dirname(require.resolve('@fastify/cors'))
const peerVersion: string = JSON.parse(readFileSync(path.join(peerRoot, 'package.json'), 'utf8')).version
// vary.test.js tests @fastify/cors's internal vary module (require('../vary')), not the plugin.
const SUITE = ['cors.test.js', 'hooks.test.js', 'preflight.test.js'].map((file) => path.join(peerRoot, 'test', file))

interface Result {
  name: string
  ok: boolean
  failureType?: string
  error?: string
  code?: string
  message?: string
}

/** The suite's top-level test names, in the order they run: as declared, file after file. */
function declaredTests (): string[] {
  return SUITE.flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/^test\('((?:[^'\\]|\\.)*)'/gm)]
    .map((match) => (match[1] as string).replace(/\\(.)/g, '$1')))
}

async function runSuite (): Promise<{ results: Result[], stderr: string }> {
  // tap follows child processes and merges their coverage, which would not match here (tsx transforms
  // the sources otherwise than tap): the child records none, lib/ is covered by tap's own processes.
  const env = { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0' }
  const args = [
    '--require', path.join(here, 'fastify-cors-redirect.cjs'),
    // The shim loads the plugin's TypeScript sources.
    '--import', 'tsx/esm',
    `--test-reporter=${pathToFileURL(path.join(here, 'fastify-cors-reporter.mjs')).href}`,
    '--test-timeout=20000',
    '-e', 'for (const file of process.argv.slice(1)) require(file)',
    ...SUITE,
  ]
  const child = spawn(process.execPath, args, { cwd: root, env, timeout: 110_000 })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  await new Promise((resolve) => child.on('close', resolve))
  return { results: stdout.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Result), stderr }
}

function failsAsListed (failsWith: FailsWith, result: Result): boolean {
  return (failsWith.error === undefined || result.error === failsWith.error) &&
    (failsWith.code === undefined || result.code === failsWith.code) &&
    failsWith.message.test(result.message ?? '')
}

const START = '<!-- fastify-cors-suite: generated from test/fastify-cors-suite.expected.ts, checked by test/fastify-cors-suite.test.ts -->'
const END = '<!-- /fastify-cors-suite -->'

t.test("@fastify/cors's own suite fails only where listed, and as listed", async (t) => {
  const declared = declaredTests()
  const { results, stderr } = await runSuite()
  t.same(results.map((result) => result.name), declared, 'every test of the suite ran and reported, in order', { stderr })

  const listed = new Map<string, ExpectedFailure>()
  for (const entry of expectedFailures) {
    for (const name of entry.tests) {
      t.notOk(listed.has(name), `${name}: listed once`)
      listed.set(name, entry)
      t.ok(declared.includes(name), `${name}: is a test of the suite`)
    }
  }
  for (const result of results) {
    const entry = listed.get(result.name)
    const found = { error: result.error, code: result.code, message: result.message, failureType: result.failureType }
    if (result.ok) {
      t.equal(entry, undefined, `${result.name}: passes${entry === undefined ? '' : ': remove it from the expected failures'}`)
    } else if (entry === undefined) {
      t.fail(`${result.name}: fails and is not listed (fix it, or list it as a difference or a refused option)`, { found })
    } else {
      t.ok(failsAsListed(entry.failsWith, result), `${result.name}: fails as listed (${entry.kind})`, { found, wanted: entry.failsWith })
    }
  }
  const passed = results.filter((result) => result.ok).length
  t.comment(`@fastify/cors ${peerVersion}: ${passed} of ${results.length} pass, ${results.length - passed} fail as listed`)
})

t.test("the tables of docs/migration.md are the list's", async (t) => {
  const migration = readFileSync(path.join(root, 'docs', 'migration.md'), 'utf8')
  const start = migration.indexOf(START)
  const end = migration.indexOf(END)
  t.ok(start !== -1 && end > start, 'docs/migration.md marks the generated part')
  t.equal(migration.slice(start + START.length, end).trim(), suiteSection(declaredTests(), peerVersion),
    'docs/migration.md between the markers is what suiteSection() generates: paste it there')
})

t.test('the shim takes @fastify/cors registration forms and applies to the scope that registers it', async (t) => {
  const shim = require('./fastify-cors-shim.cjs')
  t.equal(shim.default, shim)
  t.equal(shim.fastifyCors, shim)
  t.match(shim[Symbol.for('plugin-meta')], { name: '@fastify/cors', fastify: '5.x' })
  t.equal(shim[Symbol.for('skip-override')], true)

  const app = Fastify()
  await app.register(async (scope) => {
    await scope.register(shim, { origin: ['https://app.example.com'], credentials: true })
    scope.get('/scoped', async () => 'ok')
  })
  app.get('/outside', async () => 'ok')
  t.teardown(() => app.close())
  const scoped = await app.inject({ url: '/scoped', headers: { origin: 'https://app.example.com' } })
  t.same([scoped.headers['access-control-allow-origin'], scoped.headers['access-control-allow-credentials']], ['https://app.example.com', 'true'],
    'register(cors, options): the scope that registered it is governed')
  const outside = await app.inject({ url: '/outside', headers: { origin: 'https://app.example.com' } })
  t.equal(outside.headers['access-control-allow-origin'], undefined, 'its parent is not')

  const bare = Fastify()
  await bare.register(shim)
  bare.get('/', async () => 'ok')
  t.teardown(() => bare.close())
  t.equal((await bare.inject({ url: '/', headers: { origin: 'https://any.example' } })).headers['access-control-allow-origin'], '*',
    "register(cors): @fastify/cors's defaults")

  const delegated = Fastify()
  t.teardown(() => delegated.close())
  await t.rejects(async () => { await delegated.register(shim, () => async () => ({ origin: '*' })) }, { code: 'FST_CORS_POLICY_INVALID', message: /^fromFastifyCors: are a function/ },
    'register(cors, () => delegator): the options function is refused')
})
