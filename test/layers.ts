import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'

// The layers of lib/, from the bottom (docs/architecture.md draws them). A file imports only from its
// own layer and the layers beneath it; folders that share a rank stay out of each other; and no file
// reaches itself through its imports. Every import counts, type-only ones, `declare module`
// augmentations and type positions (`import('./x.ts').T`) included: only a runtime `await import()`,
// which loads an optional part when it is needed, is exempt.
export const LAYERS: ReadonlyArray<readonly string[]> = [
  ['policy'],
  ['decision'],
  ['observation'],
  ['fastify'],
  ['tools', 'fleet'],
  // The package's entry points, at the root of lib/.
  ['.'],
]

const STATIC = /(?:^|\n)[ \t]*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s*)?['"](\.{1,2}\/[^'"]+)['"]/g
const AUGMENTATION = /declare\s+module\s+['"](\.{1,2}\/[^'"]+)['"]/g
const DYNAMIC = /import\s*\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g
const LAZY = /await\s*\(?\s*$/

/** The relative imports of a source file that tie it to another, with comments left out. */
export function importsOf (source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^[ \t]*\/\/.*$/gm, '')
  const found = [...code.matchAll(STATIC), ...code.matchAll(AUGMENTATION)].map((m) => m[1] as string)
  for (const m of code.matchAll(DYNAMIC)) {
    if (!LAZY.test(code.slice(Math.max(0, m.index - 16), m.index))) found.push(m[1] as string)
  }
  return found
}

function sources (dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && statSync(join(dir, file)).isFile())
    .map((file) => resolve(dir, file))
}

/** Every problem of the tree under `dir`, one sentence each; none when its imports keep to the layers. */
export function checkLayers (dir: string): string[] {
  const root = resolve(dir)
  const name = (file: string): string => relative(process.cwd(), file).split(sep).join('/')
  const folderOf = (file: string): string => {
    const parts = relative(root, file).split(sep)
    return parts.length === 1 ? '.' : parts[0] as string
  }
  const rankOf = (folder: string): number => LAYERS.findIndex((layer) => layer.includes(folder))
  const files = sources(root)
  const problems: string[] = []
  const edges = new Map<string, string[]>()
  for (const file of files) {
    const from = folderOf(file)
    const targets: string[] = []
    if (rankOf(from) === -1) problems.push(`${name(file)} is in ${from}/, which is in no layer: add the folder to LAYERS in test/layers.ts`)
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), spec)
      if (!files.includes(target)) continue
      targets.push(target)
      const to = folderOf(target)
      if (to !== from && !(rankOf(to) < rankOf(from))) {
        problems.push(`${name(file)} imports ${name(target)}: ${from}/ may import only from itself and the layers beneath it (${LAYERS.slice(0, Math.max(rankOf(from), 0)).flat().join(', ') || 'none'})`)
      }
    }
    edges.set(file, targets)
  }
  for (const cycle of cycles(files, edges)) problems.push(`import cycle among ${cycle.map(name).sort().join(', ')}`)
  return problems
}

/** Strongly connected components of more than one file, or of a file that imports itself (Tarjan). */
function cycles (files: readonly string[], edges: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const visit = (file: string): void => {
    index.set(file, next)
    low.set(file, next++)
    stack.push(file)
    onStack.add(file)
    for (const target of edges.get(file) ?? []) {
      if (!index.has(target)) {
        visit(target)
        low.set(file, Math.min(low.get(file) as number, low.get(target) as number))
      } else if (onStack.has(target)) {
        low.set(file, Math.min(low.get(file) as number, index.get(target) as number))
      }
    }
    if (low.get(file) !== index.get(file)) return
    const component: string[] = []
    let member: string
    do {
      member = stack.pop() as string
      onStack.delete(member)
      component.push(member)
    } while (member !== file)
    if (component.length > 1 || (edges.get(file) ?? []).includes(file)) found.push(component)
  }
  for (const file of files) if (!index.has(file)) visit(file)
  return found
}
