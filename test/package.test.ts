import t from 'tap'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { dirname, join, posix, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import ts from 'typescript'
import { linksOf } from './doc-links.ts'

// The package as users get it: packed once, installed by npm into a scratch app, imported by name,
// type-checked by a scratch TypeScript project per module resolution mode. No network: the
// dependencies are copied from this checkout's node_modules before npm installs the tarball.
// Then the checkout as a contributor uses it (`npm start`), and the README and docs/ against the code.

const root = fileURLToPath(new URL('..', import.meta.url))
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
const readme = readFileSync(join(root, 'README.md'), 'utf8')
const policies = readFileSync(join(root, 'docs', 'policies.md'), 'utf8')
/**
 * Child processes run without the npm_* variables of an enclosing `npm test`, and record no coverage:
 * tap follows child processes and would merge theirs, which the playground's (lib/ run through tsx)
 * would not match; lib/ is covered by tap's own processes.
 */
const env = {
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_'))),
  _TAPJS_PROCESSINFO_COVERAGE_: '0',
}
/** Scripts npm runs when it installs a package: a package that ships built files needs none. */
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'preprepare', 'prepare', 'postprepare']

if (!existsSync(join(root, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first (`npm test` does)')

const scratch = t.testdir({ app: { 'package.json': JSON.stringify({ name: 'scratch-app', version: '1.0.0', private: true }) } })
const app = join(scratch, 'app')
const modules = join(app, 'node_modules')

// --ignore-scripts: packs the build `npm test` made (prepack would rebuild dist/ under the feet of
// the tests running beside this one).
const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], { cwd: root, env, encoding: 'utf8' })
if (pack.status !== 0) throw new Error(`npm pack failed: ${pack.stderr}`)
const packed = (JSON.parse(pack.stdout) as Array<{ filename: string, files: Array<{ path: string }> }>)[0]!
const files = packed.files.map((f) => f.path)
const tarball = join(scratch, packed.filename)

// The dependencies' closure, copied where npm expects an installed tree, so that it needs to fetch nothing.
const copied = new Set<string>()
const copyDependency = (from: string, name: string): void => {
  let dir = from
  while (!existsSync(join(dir, 'node_modules', name, 'package.json'))) {
    if (dirname(dir) === dir) throw new Error(`${name} is not installed`)
    dir = dirname(dir)
  }
  const at = join(dir, 'node_modules', name)
  if (copied.has(at)) return
  copied.add(at)
  const copy = join(app, at.slice(root.length))
  cpSync(at, copy, { recursive: true, dereference: true })
  const { bin, dependencies } = JSON.parse(readFileSync(join(at, 'package.json'), 'utf8')) as { bin?: string | Record<string, string>, dependencies?: Record<string, string> }
  // With its bin links, npm takes the copy for installed as it is.
  const bins = join(copy.slice(0, -name.length), '.bin')
  mkdirSync(bins, { recursive: true })
  for (const [command, file] of Object.entries(typeof bin === 'string' ? { [name.replace(/^@[^/]+\//, '')]: bin } : bin ?? {})) {
    symlinkSync(relative(bins, join(copy, file)), join(bins, command))
  }
  for (const dependency of Object.keys(dependencies ?? {})) copyDependency(at, dependency)
}
for (const dependency of Object.keys(manifest.dependencies)) copyDependency(root, dependency)
// --ignore-scripts=false: npm reviews install scripts only when it would run them.
// --legacy-peer-deps: the peer fastify is linked from this checkout below.
const install = spawnSync('npm', [
  'install', tarball, '--offline', '--ignore-scripts=false', '--legacy-peer-deps', '--no-audit', '--no-fund',
  '--no-update-notifier', '--cache', join(scratch, 'npm-cache'),
], { cwd: app, env, encoding: 'utf8' })
for (const linked of ['fastify', '@types/node']) {
  mkdirSync(dirname(join(modules, linked)), { recursive: true })
  symlinkSync(join(root, 'node_modules', linked), join(modules, linked), 'dir')
}
const installed = join(modules, 'fastify-cors-policy')

t.test('the tarball ships the build, its declarations, the documents and what they link to, and no sources', async (t) => {
  t.ok(files.includes('dist/index.js') && files.includes('dist/index.d.ts') && files.includes('dist/testing.d.ts'), 'ships the build and its declarations')
  t.ok(files.includes('dist/postgres.js') && files.includes('dist/postgres.d.ts'), 'and the postgres entry')
  t.notOk(files.some((f) => f.startsWith('lib/') || f.startsWith('test/')), 'ships no sources or tests')
  // V8 keeps a script's source for as long as its functions live: one character beyond ASCII makes all
  // of it two bytes per character (~120 KB more heap for this bundle).
  t.ok(readFileSync(join(root, 'dist', 'index.js')).every((byte) => byte < 0x80), 'the bundle is ASCII')
  // Relative links are followed inside the package (node_modules, an unpacked tarball); the others
  // are absolute URLs into the repository. The README links to docs/, and docs/ to one another.
  const documents = files.filter((file) => file.endsWith('.md'))
  t.ok(documents.includes('README.md') && documents.includes('docs/policies.md'), 'ships the README and docs/')
  const targets = documents.flatMap((document) => linksOf(readFileSync(join(root, document), 'utf8')).map(({ target }) => ({ document, target })))
  t.ok(targets.some(({ document }) => document === 'README.md'), 'the README has links')
  const linked = targets.filter(({ target }) => !/^([a-z][a-z0-9+.-]*:|#|\/\/)/i.test(target))
    .map(({ document, target }) => `${document} → ${posix.join(posix.dirname(document), decodeURI(target.replace(/[#?].*$/, '')))}`)
  t.strictSame(linked.filter((link) => !files.includes(link.split(' → ')[1]!)), [], 'every relative link of a shipped document points to a file in the tarball')
})

t.test('installing the tarball runs no script of ours and prints no warning about it', async (t) => {
  t.equal(install.status, 0, install.stderr)
  const shipped = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }
  t.strictSame(INSTALL_SCRIPTS.filter((name) => shipped.scripts?.[name] !== undefined), [], 'the packed package.json has no install-time script')
  // npm 11 warns "install scripts not yet covered by allowScripts" for a package that has one.
  const warnings = `${install.stdout}\n${install.stderr}`.split('\n').filter((line) => /^npm warn/i.test(line))
  t.strictSame(warnings.filter((line) => /install-scripts|allowScripts|fastify-cors-policy/.test(line)), [], 'npm says nothing about this package')
})

t.test('the installed package works in a plain JavaScript app, by import and by require', async (t) => {
  const code = `
    const app = Fastify()
    await app.register(cors, { policies: { web: { origins: ['https://app.example.com'], allowHeaders: ['content-type'] } } })
    app.put('/me', { config: { cors: 'web' } }, async () => ({ ok: true }))
    const res = await app.inject({ method: 'OPTIONS', url: '/me', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' } })
    console.log(JSON.stringify({ status: res.statusCode, origin: res.headers['access-control-allow-origin'], error: typeof CorsPolicyError, check: typeof corsCheck }))
  `
  writeFileSync(join(app, 'esm.mjs'), `import Fastify from 'fastify'\nimport cors, { CorsPolicyError } from 'fastify-cors-policy'\nimport { corsCheck } from 'fastify-cors-policy/testing'\n${code}`)
  writeFileSync(join(app, 'cjs.cjs'), `const Fastify = require('fastify')\nconst { default: cors, CorsPolicyError } = require('fastify-cors-policy')\nconst { corsCheck } = require('fastify-cors-policy/testing')\n;(async () => {${code}})()`)
  const expected = { status: 204, origin: 'https://app.example.com', error: 'function', check: 'function' }
  for (const file of ['esm.mjs', 'cjs.cjs']) {
    const result = spawnSync(process.execPath, ['--no-warnings', file], { cwd: app, env, encoding: 'utf8' })
    t.equal(result.status, 0, result.stderr)
    t.same(JSON.parse(result.stdout), expected, `${file} answers a preflight through the installed plugin`)
  }
})

/** A module for --import whose resolve hook refuses these specifiers (and URLs ending so), as if they were not installed. */
function refusing (file: string, refused: readonly string[]): void {
  const hook = `const refused = ${JSON.stringify(refused)}\nexport async function resolve (specifier, context, next) { const resolved = await next(specifier, context); ` +
    "if (refused.some((r) => specifier === r || resolved.url.endsWith(r))) throw new Error('refused: ' + specifier); return resolved }"
  writeFileSync(join(app, file), `import { register } from 'node:module'\nregister(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)})\n`)
}

t.test('fastify-cors-policy/postgres: imported without pg, one CorsPolicyError class with the main entry, by import and by require', async (t) => {
  // As if pg were not installed (the scratch app sits inside this checkout, whose node_modules has it):
  // the entry loads, its SQL and row check work, and registering says what to install.
  refusing('no-pg.mjs', ['pg'])
  const code = `
    const sqlError = (() => { try { corsPoliciesSql('') } catch (err) { return err } })()
    const app = Fastify()
    await app.register(cors, { policies: { tenants: { origins: ['https://app.example.com'] } } })
    const registerError = await app.register(corsPostgres, {}).then(() => null, (err) => err)
    console.log(JSON.stringify({
      sql: CORS_POLICIES_SQL.includes('CREATE TABLE IF NOT EXISTS "cors_policies"'),
      problems: checkCorsPolicyRow({ name: 'tenants', policy: { origins: '*', credentials: true } }).map((p) => p.path),
      sqlError: sqlError instanceof CorsPolicyError,
      registerError: registerError instanceof CorsPolicyError,
      message: registerError?.message,
    }))
  `
  writeFileSync(join(app, 'pg-esm.mjs'), `import Fastify from 'fastify'\nimport cors, { CorsPolicyError } from 'fastify-cors-policy'\nimport corsPostgres, { CORS_POLICIES_SQL, corsPoliciesSql, checkCorsPolicyRow } from 'fastify-cors-policy/postgres'\n${code}`)
  writeFileSync(join(app, 'pg-cjs.cjs'), `const Fastify = require('fastify')\nconst { default: cors, CorsPolicyError } = require('fastify-cors-policy')\nconst { default: corsPostgres, CORS_POLICIES_SQL, corsPoliciesSql, checkCorsPolicyRow } = require('fastify-cors-policy/postgres')\n;(async () => {${code}})()`)
  const expected = {
    sql: true,
    problems: ['/credentials'],
    sqlError: true,
    registerError: true,
    message: 'fastify-cors-policy/postgres: needs the pg package, which is not installed: npm install pg',
  }
  for (const file of ['pg-esm.mjs', 'pg-cjs.cjs']) {
    const result = spawnSync(process.execPath, ['--no-warnings', '--import', './no-pg.mjs', file], { cwd: app, env, encoding: 'utf8' })
    t.equal(result.status, 0, result.stderr)
    t.same(JSON.parse(result.stdout), expected, file)
  }
})

t.test('importing and using the main entry loads neither the postgres entry nor pg', async (t) => {
  // A resolve hook that refuses both: the main entry works under it; the postgres entry, as a control, does not.
  refusing('guard.mjs', ['pg', '/postgres.js'])
  writeFileSync(join(app, 'main-only.mjs'), `import Fastify from 'fastify'\nimport cors from 'fastify-cors-policy'
const app = Fastify()
await app.register(cors, { policies: { tenants: { origins: ['https://app.example.com'] } }, default: 'tenants' })
app.get('/', async () => 'ok')
console.log((await app.inject({ url: '/', headers: { origin: 'https://app.example.com' } })).headers['access-control-allow-origin'])
`)
  writeFileSync(join(app, 'control.mjs'), "await import('fastify-cors-policy/postgres')\n")
  const main = spawnSync(process.execPath, ['--no-warnings', '--import', './guard.mjs', 'main-only.mjs'], { cwd: app, env, encoding: 'utf8' })
  t.equal(main.status, 0, main.stderr)
  t.equal(main.stdout.trim(), 'https://app.example.com', 'the main entry works without loading them')
  const control = spawnSync(process.execPath, ['--no-warnings', '--import', './guard.mjs', 'control.mjs'], { cwd: app, env, encoding: 'utf8' })
  t.not(control.status, 0)
  t.match(control.stderr, /refused: fastify-cors-policy\/postgres/, 'the hook does refuse the postgres entry')
})

t.test('the installed declarations type-check with tsc under every supported module resolution', async (t) => {
  // Real types, and a line that must fail: a module resolved to `any` would leave it unused (TS2578).
  writeFileSync(join(app, 'consumer.ts'), `
import Fastify from 'fastify'
import cors, { CORS_REFUSAL_REASONS, type CorsPolicy, type CorsRefusalReason } from 'fastify-cors-policy'
import { corsCheck, type CorsCheckResult } from 'fastify-cors-policy/testing'
import corsPostgres, { CORS_POLICIES_SQL, checkCorsPolicyRow, type CorsPostgresOptions } from 'fastify-cors-policy/postgres'

export const sql: string = CORS_POLICIES_SQL
export const store: CorsPostgresOptions = { connectionString: 'postgres://app@db/app', fields: ['origins', 'maxAge'], required: false }
// @ts-expect-error fields are policy fields
export const misspelt: CorsPostgresOptions = { fields: ['origin'] }
export const problems: string[] = checkCorsPolicyRow({ name: 'web', policy: { origins: ['https://app.example.com'] } }).map((p) => p.message)

const policy: CorsPolicy = { origins: ['https://app.example.com'], credentials: true, allowHeaders: ['content-type'] }
// @ts-expect-error a policy needs its origins
export const incomplete: CorsPolicy = { credentials: true }
export const reasons: readonly CorsRefusalReason[] = CORS_REFUSAL_REASONS

export async function check (): Promise<string | null> {
  const app = Fastify()
  await app.register(cors, { default: policy })
  await app.register(corsPostgres, store)
  app.put('/me', { config: { cors: policy } }, async () => 'ok')
  const result: CorsCheckResult = await corsCheck(app, { origin: 'https://app.example.com', method: 'PUT', url: '/me', credentials: true })
  const readable: string[] = result.exposedHeaders
  // @ts-expect-error ok is a boolean
  const ok: string = result.ok
  return readable.length > 0 ? ok : result.reason
}
`)
  const modes = [
    { moduleResolution: 'nodenext', module: 'nodenext' },
    { moduleResolution: 'bundler', module: 'esnext' },
    // Deprecated in TypeScript 6, still used by CommonJS projects: types through typesVersions.
    { moduleResolution: 'node10', module: 'commonjs', ignoreDeprecations: '6.0' },
  ]
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  await Promise.all(modes.map(async (options) => {
    const config = `tsconfig.${options.moduleResolution}.json`
    writeFileSync(join(app, config), JSON.stringify({
      compilerOptions: { ...options, target: 'es2022', strict: true, noEmit: true, types: ['node'], esModuleInterop: true, skipLibCheck: true },
      files: ['consumer.ts'],
    }))
    const { status, output } = await run(process.execPath, [tsc, '-p', config], { cwd: app })
    t.equal(status, 0, `moduleResolution ${options.moduleResolution}: ${output.trim() || 'no error'}`)
  }))
})

t.test('the sample of printCorsPolicies in docs/policies.md is what the README\'s Quick start app prints', async (t) => {
  const block = (document: string, section: string): string => {
    const text = document.slice(document.indexOf(`\n## ${section}\n`))
    const match = /^```\w*\n([^]*?)^```/m.exec(text)
    if (match === null) throw new Error(`no code block under "${section}"`)
    return match[1]!
  }
  // The Quick start as written, with a handler and the querystring schema it leaves to the reader.
  writeFileSync(join(app, 'quickstart.mts'), [
    'const handler = async () => \'ok\'',
    'const Q = { type: \'object\', properties: { from: { type: \'string\' } } }',
    block(readme, 'Quick start'),
    'await app.ready()',
    'app.printCorsPolicies()',
  ].join('\n'))
  const tsx = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href
  const printed = spawnSync(process.execPath, ['--import', tsx, 'quickstart.mts'], { cwd: app, env, encoding: 'utf8' })
  t.equal(printed.status, 0, printed.stderr)
  t.equal(block(policies, 'Every policy at a glance'), printed.stdout)
})

t.test('docs/policies.md lists every export of the package, of fastify-cors-policy/testing and of fastify-cors-policy/postgres', async (t) => {
  const section = policies.slice(policies.indexOf('\n## TypeScript\n'), policies.indexOf('\n## ', policies.indexOf('\n## TypeScript\n') + 1))
  const program = ts.createProgram([join(root, 'lib', 'index.ts'), join(root, 'lib', 'testing.ts'), join(root, 'lib', 'postgres.ts')], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    allowImportingTsExtensions: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
  })
  const checker = program.getTypeChecker()
  for (const [name, file] of [['fastify-cors-policy', 'index.ts'], ['fastify-cors-policy/testing', 'testing.ts'], ['fastify-cors-policy/postgres', 'postgres.ts']] as const) {
    const module = checker.getSymbolAtLocation(program.getSourceFile(join(root, 'lib', file))!)!
    const exports = checker.getExportsOfModule(module).filter((symbol) => symbol.name !== 'default')
    const isValue = (symbol: ts.Symbol): boolean =>
      ((symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol).flags & ts.SymbolFlags.Value) !== 0
    // One list item per module: "- `name`: … values `a`, `b` …; types `C`, `D`."
    const item = new RegExp(`^- \`${name}\`:([^]*?)(?=\\n- |\\n\\n)`, 'm').exec(section)
    t.ok(item, `the TypeScript section has an item for ${name}`)
    const [values = '', types = ''] = (item?.[1] ?? '').split(/\btypes\b/)
    const names = (text: string): string[] => [...text.matchAll(/`([A-Za-z_$][\w$]*)`/g)].map((match) => match[1]!).sort()
    t.strictSame(names(values), exports.filter(isValue).map((symbol) => symbol.name).sort(), `${name}: the values`)
    t.strictSame(names(types), exports.filter((symbol) => !isValue(symbol)).map((symbol) => symbol.name).sort(), `${name}: the types`)
  }
})

// `npm start` and `tsx playground/server.ts`, stopped with SIGTERM as a process manager, an IDE or
// `kill` does: the playground must let go of both ports, whichever process the signal reaches.
for (const [how, command, args] of [
  ['npm start', 'npm', ['start']],
  ['tsx playground/server.ts', process.execPath, [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'playground/server.ts']],
] as const) {
  t.test(`${how}, sent SIGTERM, frees both ports promptly`, async (t) => {
    const [page, api] = [await freePort(), await freePort()]
    // Its own process group, so that teardown can end whatever the test leaves behind.
    const child = spawn(command, args, { cwd: root, env: { ...env, PORT: String(page), API_PORT: String(api) }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    t.teardown(() => { if (groupAlive(child)) process.kill(-child.pid!, 'SIGKILL') })
    let output = ''
    child.stdout!.on('data', (chunk) => { output += chunk })
    child.stderr!.on('data', (chunk) => { output += chunk })
    if (!await until(() => output.includes('The API\'s routes'), 30_000)) t.fail(`it did not start: ${output}`)
    t.match(output, `page http://localhost:${page}, API http://localhost:${api}`, 'on the ports asked for')
    t.notOk(await portFree(page) || await portFree(api), 'both ports are in use')

    child.kill('SIGTERM')
    t.ok(await until(async () => await portFree(page) && await portFree(api), 5_000), 'both ports are free within 5 s')
    t.ok(await until(() => !groupAlive(child), 5_000), 'no process of it is left')
  })
}

/** Runs a command to its end, with its stdout and stderr together. */
function run (command: string, args: string[], options: { cwd: string }): Promise<{ status: number | null, output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk) => { output += chunk })
    child.stderr.on('data', (chunk) => { output += chunk })
    child.on('error', reject)
    child.on('close', (status) => { resolve({ status, output }) })
  })
}

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Whether nothing accepts connections on this port of the loopback addresses. */
async function portFree (port: number): Promise<boolean> {
  const accepts = (host: string): Promise<boolean> => new Promise((resolve) => {
    const socket = connect(port, host)
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => { resolve(false) })
  })
  return !(await accepts('127.0.0.1') || await accepts('::1'))
}

function groupAlive (child: ChildProcess): boolean {
  try {
    process.kill(-child.pid!, 0)
    return true
  } catch {
    return false
  }
}

async function until (condition: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms
  while (!(await condition())) {
    if (Date.now() > end) return false
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return true
}
