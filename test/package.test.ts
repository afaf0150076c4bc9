import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

// The package as users get it: packed, unpacked into a scratch app's node_modules, imported by name.
// Its dependencies are linked from this checkout's node_modules, so no network is needed.

const root = new URL('..', import.meta.url).pathname
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>
  peerDependencies: Record<string, string>
}

t.test('the packed package works in a plain JavaScript app, by import and by require', async (t) => {
  const scratch = t.testdir({})
  const packed = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], { cwd: root, encoding: 'utf8' })) as Array<{ filename: string, files: Array<{ path: string }> }>
  const files = packed[0]!.files.map((f) => f.path)
  t.ok(files.includes('dist/index.js') && files.includes('dist/index.d.ts'), 'ships the build and its declarations')
  t.notOk(files.some((f) => f.startsWith('lib/') || f.startsWith('test/')), 'ships no sources or tests')

  const modules = join(scratch, 'node_modules')
  const target = join(modules, 'fastify-cors-policy')
  mkdirSync(target, { recursive: true })
  execFileSync('tar', ['xzf', join(scratch, packed[0]!.filename), '-C', target, '--strip-components=1'])
  for (const dep of [...Object.keys(manifest.dependencies), ...Object.keys(manifest.peerDependencies)]) {
    mkdirSync(join(modules, dep, '..'), { recursive: true })
    symlinkSync(join(root, 'node_modules', dep), join(modules, dep), 'dir')
  }

  const app = `
    const app = Fastify()
    await app.register(cors, { policies: { web: { origins: ['https://app.example.com'], allowHeaders: ['content-type'] } } })
    app.put('/me', { config: { cors: 'web' } }, async () => ({ ok: true }))
    const res = await app.inject({ method: 'OPTIONS', url: '/me', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' } })
    console.log(JSON.stringify({ status: res.statusCode, origin: res.headers['access-control-allow-origin'], error: typeof CorsPolicyError }))
  `
  writeFileSync(join(scratch, 'esm.mjs'), `import Fastify from 'fastify'\nimport cors, { CorsPolicyError } from 'fastify-cors-policy'\n${app}`)
  writeFileSync(join(scratch, 'cjs.cjs'), `const Fastify = require('fastify')\nconst { default: cors, CorsPolicyError } = require('fastify-cors-policy')\n;(async () => {${app}})()`)
  const expected = { status: 204, origin: 'https://app.example.com', error: 'function' }
  for (const file of ['esm.mjs', 'cjs.cjs']) {
    const out = execFileSync(process.execPath, ['--no-warnings', file], { cwd: scratch, encoding: 'utf8' })
    t.same(JSON.parse(out), expected, `${file} answers a preflight through the packed plugin`)
  }
})
