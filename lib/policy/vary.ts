import type { FastifyReply } from 'fastify'
import { VARY } from './headers.ts'

const MERGED_CACHE_SIZE = 256

/**
 * A fixed set of `Vary` tokens to add to a response. The application's tokens are kept (set by a
 * handler, a hook, a compression plugin), each token appears once compared case-insensitively, and
 * `Vary: *` stays `*`. Merges of values seen before come from a small bounded cache.
 */
export class VaryTokens {
  readonly value: string
  readonly #tokens: readonly string[]
  readonly #merged = new Map<string, string>()

  constructor (value: string) {
    this.value = value
    this.#tokens = value.split(', ')
  }

  addTo (reply: FastifyReply): void {
    const current = reply.getHeader(VARY)
    if (current === undefined) {
      reply.header(VARY, this.value)
      return
    }
    const existing = Array.isArray(current) ? current.join(', ') : String(current)
    let merged = this.#merged.get(existing)
    if (merged === undefined) {
      merged = mergeVary(existing, this.#tokens)
      if (this.#merged.size >= MERGED_CACHE_SIZE) this.#merged.clear()
      this.#merged.set(existing, merged)
    }
    reply.header(VARY, merged)
  }
}

export function mergeVary (existing: string, add: readonly string[]): string {
  const tokens: string[] = []
  const seen = new Set<string>()
  for (const raw of existing.split(',')) {
    const token = raw.trim()
    if (token === '') continue
    if (token === '*') return '*'
    const key = token.toLowerCase()
    if (!seen.has(key)) {
      seen.add(key)
      tokens.push(token)
    }
  }
  for (const token of add) {
    if (!seen.has(token.toLowerCase())) tokens.push(token)
  }
  return tokens.join(', ')
}
