import t from 'tap'
import { checkLayers, importsOf } from '../layers.ts'

// lib/ stands in layers (docs/architecture.md): policy, decision, observation, the Fastify side,
// tools, and the entry points on top. Each file imports only from its layer and those beneath it,
// and no import cycle exists anywhere, type-only imports included.

t.test('lib/ keeps to its layers, with no import cycle', async (t) => {
  t.strictSame(checkLayers('lib'), [])
})

t.test('the check fails on a climbing import and on cycles, and lets a lazy runtime import pass', async (t) => {
  t.strictSame(checkLayers('test/fixtures/layers').sort(), [
    'import cycle among test/fixtures/layers/decision/augmented.ts, test/fixtures/layers/decision/augmenting.ts',
    'import cycle among test/fixtures/layers/decision/first.ts, test/fixtures/layers/decision/second.ts',
    'import cycle among test/fixtures/layers/fastify/hook.ts, test/fixtures/layers/policy/rule.ts',
    'test/fixtures/layers/policy/rule.ts imports test/fixtures/layers/fastify/hook.ts: policy/ may import only from itself and the layers beneath it (none)',
  ])
})

t.test('every kind of import counts, but a runtime import() awaited where it is needed and comments', async (t) => {
  t.strictSame(importsOf([
    "import { a } from './a.ts'",
    "import type { B } from '../b.ts'",
    "export { c } from './c.ts'",
    "export type * from './d.ts'",
    'import {',
    '  e,',
    '  f,',
    "} from './ef.ts'",
    "import './side-effect.ts'",
    "declare module './g.ts' {}",
    "type H = import('./h.ts').H",
    "type I = typeof import('./i.ts')",
    "const lazy = (await import('./lazy.ts')).value",
    "// import { j } from './j.ts'",
    "/** import { k } from './k.ts' */",
    "import fastify from 'fastify'",
  ].join('\n')), ['./a.ts', '../b.ts', './c.ts', './d.ts', './ef.ts', './side-effect.ts', './g.ts', './h.ts', './i.ts'])
})

t.test('a folder outside the layers is a problem of its own', async (t) => {
  const problems = checkLayers('test/fixtures')
  t.ok(problems.some((p) => p.startsWith('test/fixtures/layers/policy/rule.ts is in layers/, which is in no layer')))
})
