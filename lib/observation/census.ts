// The origin census: loaded only when a registration turns it on (`census: true`), so that an
// application without it loads none of this.
//
// Per registration, one Count-Min Sketch (conservative update) estimates how often each (policy,
// origin) was seen, in a fixed typed array; per policy, a table of at most `size` origins keeps the
// heaviest. An origin enters the table only when its estimate beats the lightest one there: a flood
// of distinct origins, each seen once or twice, raises no estimate above that of a real caller, and
// neither the sketch nor the table grows.

/** One origin a policy has seen. */
export interface CorsCensusOrigin {
  readonly origin: string
  /** Requests (preflights included) seen from it: an estimate, never below the true count, above it by at most the sketch's noise. */
  readonly requests: number
  /** Whether the enforced policy allowed its latest request. */
  readonly allowed: boolean
  /** Whether the report-only candidate would have allowed its latest request; null when none was attached then. */
  readonly candidateAllows: boolean | null
}

/** What the census saw for one policy. */
export interface CorsCensusPolicy {
  /** The policy's name; null for an inline policy (the default's included). */
  readonly policy: string | null
  /** How logs name it: `policy "web"`, `default policy`, `inline policy of route GET /x`. */
  readonly label: string
  /** Every CORS request (preflights included) the policy decided, counted exactly. */
  readonly requests: number
  /** The heaviest origins, most requests first; at most the census's `size`. */
  readonly origins: readonly CorsCensusOrigin[]
}

export interface CorsCensus {
  /** Origins kept per policy. */
  readonly size: number
  readonly policies: readonly CorsCensusPolicy[]
}

const DEPTH = 4

interface Tracked {
  requests: number
  allowed: boolean
  candidateAllows: boolean | null
}

/** A registration's census: the sketch its policies share, and a table per policy. */
export class Census {
  readonly size: number
  readonly #mask: number
  readonly #width: number
  readonly #cells: Uint32Array
  // Random per process, so that nobody can compute origins that collide.
  readonly #seeds = new Uint32Array([Math.random() * 2 ** 32, Math.random() * 2 ** 32])
  readonly #policies = new Map<string, PolicyCensus>()
  /** The cells of the origin being counted, one per row. */
  readonly #at = new Uint32Array(DEPTH)

  constructor (size: number) {
    this.size = size
    // About 128 counters per kept origin in each row (256 KiB for the default 100 origins): an
    // estimate exceeds the truth by at most e/width of the requests seen, with high probability, so a
    // flood of 100,000 one-off origins lifts no estimate by more than about 20.
    this.#width = 2 ** Math.min(18, Math.max(10, Math.ceil(Math.log2(size * 128))))
    this.#mask = this.#width - 1
    this.#cells = new Uint32Array(this.#width * DEPTH)
  }

  /** The census of one policy, by name (named policies) or label (inline ones); the same one every time. */
  policy (name: string | null, label: string): PolicyCensus {
    const key = name === null ? `\0${label}` : name
    let census = this.#policies.get(key)
    if (census === undefined) {
      census = new PolicyCensus(this, this.#policies.size + 1, name, label)
      this.#policies.set(key, census)
    }
    return census
  }

  report (): CorsCensus {
    return { size: this.size, policies: [...this.#policies.values()].map((policy) => policy.report()) }
  }

  /** Counts one more request of `origin` under policy number `salt`, and returns its estimate. */
  count (origin: string, salt: number): number {
    // Two 32-bit FNV-1a style hashes in one pass; the rows take h1 + i·h2 (Kirsch–Mitzenmacher).
    let h1 = this.#seeds[0] as number ^ salt
    let h2 = this.#seeds[1] as number ^ Math.imul(salt, 0x9e3779b1)
    for (let i = 0; i < origin.length; i++) {
      const c = origin.charCodeAt(i)
      h1 = Math.imul(h1 ^ c, 0x01000193)
      h2 = Math.imul(h2 ^ c, 0x5bd1e995)
    }
    h1 = mix(h1)
    h2 = mix(h2)
    // Each row's cell is the mix of h1 + row·h2, not (h1 + row·h2) masked: with the mask alone, an
    // origin whose h1 and h2 agree with a real caller's in their low bits (1 in width² pairs: a few
    // percent of a 100,000-origin flood) collides with it in every row at once and takes its count.
    const cells = this.#cells
    const width = this.#width
    const mask = this.#mask
    const at = this.#at
    let estimate = 0xffffffff
    for (let row = 0; row < DEPTH; row++) {
      at[row] = row * width + (mix((h1 + Math.imul(row, h2)) | 0) & mask)
      const value = cells[at[row] as number] as number
      if (value < estimate) estimate = value
    }
    // Conservative update: only the counters at the minimum grow, which keeps the noise low. They
    // stop at the largest value a counter holds.
    estimate = Math.min(estimate + 1, 0xffffffff)
    for (let row = 0; row < DEPTH; row++) {
      const cell = at[row] as number
      if ((cells[cell] as number) < estimate) cells[cell] = estimate
    }
    return estimate
  }
}

function mix (h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/** One policy's requests and heaviest origins. */
export class PolicyCensus {
  readonly #census: Census
  readonly #salt: number
  readonly #name: string | null
  readonly #label: string
  readonly #tracked = new Map<string, Tracked>()
  /** A lower bound of the lightest tracked origin's requests: an estimate at or below it cannot get in. */
  #floor = 0
  #requests = 0

  constructor (census: Census, salt: number, name: string | null, label: string) {
    this.#census = census
    this.#salt = salt
    this.#name = name
    this.#label = label
  }

  record (origin: string, allowed: boolean, candidateAllows: boolean | null): void {
    this.#requests++
    const estimate = this.#census.count(origin, this.#salt)
    const tracked = this.#tracked.get(origin)
    if (tracked !== undefined) {
      tracked.requests = estimate
      tracked.allowed = allowed
      tracked.candidateAllows = candidateAllows
      return
    }
    if (this.#tracked.size >= this.#census.size) {
      if (estimate <= this.#floor) return
      const lightest = this.#lightest()
      if (estimate <= this.#floor) return
      this.#tracked.delete(lightest)
    }
    this.#tracked.set(origin, { requests: estimate, allowed, candidateAllows })
    if (this.#tracked.size >= this.#census.size) this.#lightest()
  }

  /** Sets the floor to the lightest tracked origin's requests, and returns that origin. */
  #lightest (): string {
    let lightest = ''
    let least = Infinity
    for (const [origin, { requests }] of this.#tracked) {
      if (requests < least) {
        least = requests
        lightest = origin
      }
    }
    this.#floor = least
    return lightest
  }

  report (): CorsCensusPolicy {
    const origins = [...this.#tracked].map(([origin, t]): CorsCensusOrigin => ({ origin, ...t }))
    origins.sort((a, b) => b.requests - a.requests || a.origin.localeCompare(b.origin))
    return { policy: this.#name, label: this.#label, requests: this.#requests, origins }
  }
}
