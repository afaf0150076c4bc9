import { existsSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'

// The links of the project's Markdown documents, read as GitHub renders them: links in code blocks
// and code spans are text, not links; a heading's anchor is GitHub's (github-slugger's rules).

/** Where the repository's files are published: an absolute link there names a file of the checkout. */
const REPOSITORY = /^https:\/\/(?:github\.com\/fastify-cors-policy\/fastify-cors-policy\/(?:blob|tree|raw)\/main|raw\.githubusercontent\.com\/fastify-cors-policy\/fastify-cors-policy\/main)\/([^#?]*)/
/** A code span names a file of the checkout when it is a path under one of these folders. */
const SOURCE_PATH = /^(?:lib|test|bench|scripts|playground|bin|types|docs)\/[\w./-]*$/

export interface Link {
  line: number
  target: string
}

const CODE_SPAN = /(`+)(?!`)(.*?)(?<!`)\1(?!`)/g

/** The lines of a document, each with whether it belongs to a fenced code block (its fences included). */
function lines (markdown: string): Array<{ text: string, code: boolean }> {
  let fence: string | null = null
  return markdown.split('\n').map((text) => {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(text)?.[1]
    if (fence === null) {
      if (marker === undefined) return { text, code: false }
      fence = marker
    } else if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length && text.trim() === marker) {
      fence = null
    }
    return { text, code: true }
  })
}

/** The text as prose: code blocks emptied (their lines kept, so that line numbers hold), code spans blanked. */
function prose (markdown: string): string[] {
  return lines(markdown).map(({ text, code }) => code ? '' : text.replace(CODE_SPAN, (span) => ' '.repeat(span.length)))
}

/** The code spans of the text outside code blocks, with their lines. */
function codeSpans (markdown: string): Link[] {
  return lines(markdown).flatMap(({ text, code }, index) =>
    code ? [] : [...text.matchAll(CODE_SPAN)].map((match) => ({ line: index + 1, target: match[2]!.trim() })))
}

/** Every link of the text outside code: inline `[text](target)`, reference definitions and `src`/`href` attributes. */
export function linksOf (markdown: string): Link[] {
  const links: Link[] = []
  prose(markdown).forEach((line, index) => {
    const pattern = /\]\(\s*(?:<([^>]+)>|([^)\s]+))(?:\s+"[^"]*")?\s*\)|^ {0,3}\[[^\]]+\]:\s*(\S+)|(?:src|href)="([^"]+)"/g
    for (const match of line.matchAll(pattern)) links.push({ line: index + 1, target: (match[1] ?? match[2] ?? match[3] ?? match[4])! })
  })
  return links
}

/** A heading's anchor as GitHub makes it: inline markup dropped, lower case, punctuation removed, spaces to hyphens. */
export function slug (heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .replace(/`/g, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-')
}

/** The anchors a document offers: its headings' (a repeated one gets -1, -2, …) and explicit `id`/`name` attributes. */
export function anchorsOf (markdown: string): Set<string> {
  const anchors = new Set<string>()
  const seen = new Map<string, number>()
  for (const { text: line } of lines(markdown).filter(({ code }) => !code)) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line)?.[1]
    if (heading !== undefined) {
      const base = slug(heading)
      const count = seen.get(base) ?? 0
      seen.set(base, count + 1)
      anchors.add(count === 0 ? base : `${base}-${count}`)
    }
    for (const match of line.matchAll(/<a\s[^>]*(?:id|name)="([^"]+)"/g)) anchors.add(match[1]!)
  }
  return anchors
}

/**
 * Every link of these documents (paths relative to `root`) that leads nowhere, one sentence each: a
 * relative link to a file that does not exist, or to an anchor its target lacks; an absolute link
 * into the repository naming a file the checkout lacks; a code span naming a file of the checkout
 * that does not exist (a source moved, its mention left behind).
 */
export function deadLinks (root: string, documents: readonly string[]): string[] {
  const base = resolve(root)
  const name = (file: string): string => relative(base, file).split(sep).join('/')
  const texts = new Map<string, string>()
  const read = (file: string): string => {
    if (!texts.has(file)) texts.set(file, readFileSync(file, 'utf8'))
    return texts.get(file)!
  }
  const problems: string[] = []
  for (const document of documents) {
    const file = resolve(base, document)
    const markdown = read(file)
    const where = (line: number): string => `${name(file)}:${line}`
    for (const { line, target } of linksOf(markdown)) {
      const repository = REPOSITORY.exec(target)
      if (repository !== null) {
        if (!existsSync(join(base, decodeURI(repository[1]!)))) problems.push(`${where(line)}: ${target} names ${decodeURI(repository[1]!)}, which does not exist`)
        continue
      }
      if (/^(?:[a-z][a-z0-9+.-]*:|\/\/)/i.test(target)) continue
      const [path = '', anchor] = target.replace(/\?[^#]*/, '').split('#') as [string, string | undefined]
      const linked = path === '' ? file : resolve(dirname(file), decodeURI(path))
      if (!existsSync(linked)) {
        problems.push(`${where(line)}: ${target} leads to ${name(linked)}, which does not exist`)
        continue
      }
      if (anchor === undefined) continue
      if (!linked.endsWith('.md') || !statSync(linked).isFile()) {
        problems.push(`${where(line)}: ${target} has an anchor, but ${name(linked)} is not a Markdown document`)
      } else if (!anchorsOf(read(linked)).has(decodeURIComponent(anchor))) {
        problems.push(`${where(line)}: ${target} leads to no heading of ${name(linked)} (#${anchor})`)
      }
    }
    for (const { line, target } of codeSpans(markdown)) {
      if (SOURCE_PATH.test(target) && !existsSync(join(base, target))) problems.push(`${where(line)}: \`${target}\` names a file that does not exist`)
    }
  }
  return problems
}
