import { VARY_ORIGIN, VARY_PREFLIGHT, VARY_PREFLIGHT_WITH_ORIGIN } from './headers.ts'

const MERGED_CACHE_SIZE = 256

/**
 * A fixed set of `Vary` tokens a response must carry (rules 4 and 5). Merged into the value the
 * application set (in a handler, a hook, a compression plugin), each token appears once compared
 * case-insensitively, and `Vary: *` stays `*`. Merges of values seen before come from a small
 * bounded cache, so the values a hostile client can make the application set cannot grow it.
 */
export class VaryTokens {
  /** The header value when the response has no `Vary` yet. */
  readonly value: string
  readonly #tokens: readonly string[]
  readonly #merged = new Map<string, string>()

  constructor (value: string) {
    this.value = value
    this.#tokens = value.split(', ')
  }

  /** The value of `Vary` once these tokens are merged into `existing`. */
  mergeInto (existing: string): string {
    let merged = this.#merged.get(existing)
    if (merged === undefined) {
      merged = mergeVary(existing, this.#tokens)
      if (this.#merged.size >= MERGED_CACHE_SIZE) this.#merged.clear()
      this.#merged.set(existing, merged)
    }
    return merged
  }
}

/** The three `Vary` values the plugin sends, shared by every policy. */
export const VARY_ACTUAL = new VaryTokens(VARY_ORIGIN)
/** A public policy's preflights: their answer does not depend on the origin. */
export const VARY_PUBLIC_PREFLIGHT = new VaryTokens(VARY_PREFLIGHT)
export const VARY_ORIGIN_PREFLIGHT = new VaryTokens(VARY_PREFLIGHT_WITH_ORIGIN)

function mergeVary (existing: string, add: readonly string[]): string {
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
