import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { transform } from 'esbuild'

// The project's imports name their .ts files; `verbatimModuleSyntax` (as in tsconfig.json) keeps every import
// that is not written `import type`, as Node would see it after tsc.
const options = {
  loader: 'ts',
  format: 'esm',
  target: 'node20',
  sourcemap: 'inline',
  sourcesContent: false,
  tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true } }
}

export async function load (url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return nextLoad(url, context)
  const file = fileURLToPath(url)
  const { code } = await transform(await readFile(file, 'utf8'), { ...options, sourcefile: file })
  return { format: 'module', source: code, shortCircuit: true }
}

// The package's own name, as the subpath entries import the main one (and as tsconfig.json's paths say):
// from the sources here, it means lib/, so that the tests and lib/ share one module of each.
const root = new URL('../', import.meta.url).href
const entries = { 'fastify-cors-policy': 'lib/index.ts', 'fastify-cors-policy/testing': 'lib/testing.ts', 'fastify-cors-policy/postgres': 'lib/postgres.ts' }

export async function resolve (specifier, context, nextResolve) {
  const entry = entries[specifier]
  const parent = context.parentURL ?? ''
  if (entry !== undefined && parent.startsWith(root) && !parent.includes('/node_modules/') && !parent.startsWith(`${root}dist/`)) {
    return { url: new URL(entry, root).href, shortCircuit: true }
  }
  return nextResolve(specifier, context)
}
