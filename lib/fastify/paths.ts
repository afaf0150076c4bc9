import { createRequire } from 'node:module'
import type FindMyWay from 'find-my-way'

type Router = FindMyWay.Instance<FindMyWay.HTTPVersion.V1>
type RouterOptions = FindMyWay.Config<FindMyWay.HTTPVersion.V1>

/**
 * find-my-way, the copy Fastify has already loaded with require(): taken from the same module cache,
 * it costs nothing, where an ESM import would read its source again for the names it exports.
 */
export const createRouter = createRequire(import.meta.url)('find-my-way') as typeof FindMyWay

// The router only stores records: find-my-way wants a handler, and none is ever called.
const NO_HANDLER = Function.prototype as () => void

// Static segments of characters find-my-way gives no meaning to, and parameters that fill a segment.
const PLAIN_URL = /^(?:\/(?:[\w.~!$&'+,;=@-]*|:\w+))+$/
const PARAMETER_NAMES = /\/:\w+/g
// find-my-way's own normalizations, applied when the options ask for them.
const DUPLICATE_SLASHES = /\/\/+/g

/**
 * One record per path, where find-my-way decides which declared URLs are one path: the same but for
 * parameter names, under the application's router options. Adding a route to a find-my-way router
 * compiles code for each new node of its tree, which made a router here a sizeable part of the
 * plugin's startup time and heap. For plain URLs (`/users/:id/orders`), a Map keyed by the URL without its parameter names
 * agrees with find-my-way at a fraction of that cost; the first other URL (an optional or a regular
 * expression parameter, a wildcard, an escaped colon…) moves the records into a find-my-way router,
 * which decides from then on.
 */
export class PathIndex<T> {
  readonly #options: RouterOptions
  readonly #create: (url: string) => T
  /** Every URL asked for so far, as written: the routes of one path usually repeat its URL. */
  readonly #byUrl = new Map<string, T>()
  /** By plain key, until the first URL that is not plain. */
  #byKey: Map<string, T> | null = new Map()
  #router: Router | null = null

  /** `options` are the application's router options; `create` makes the record of a new path. */
  constructor (options: RouterOptions, create: (url: string) => T) {
    this.#options = options
    this.#create = create
  }

  /** The record of the path `url` declares, made on the first URL of the path. */
  get (url: string): T {
    let record = this.#byUrl.get(url)
    if (record !== undefined) return record
    const byKey = this.#byKey
    const key = byKey === null ? null : this.#plainKey(url)
    if (byKey !== null && key !== null) {
      record = byKey.get(key)
      if (record === undefined) {
        record = this.#create(url)
        byKey.set(key, record)
      }
    } else {
      const router = this.#router ?? this.#toRouter()
      record = router.findRoute('GET', url)?.store as T | undefined
      if (record === undefined) {
        record = this.#create(url)
        router.on('GET', url, NO_HANDLER, record)
      }
    }
    this.#byUrl.set(url, record)
    return record
  }

  /** The URL normalized as find-my-way does, without parameter names; null when it is not plain. */
  #plainKey (url: string): string | null {
    let path = url
    const options = this.#options
    if (options.ignoreDuplicateSlashes === true) path = path.replace(DUPLICATE_SLASHES, '/')
    if (options.ignoreTrailingSlash === true && path.length > 1 && path.endsWith('/')) path = path.slice(0, -1)
    if (!PLAIN_URL.test(path)) return null
    const key = path.replace(PARAMETER_NAMES, '/:')
    return options.caseSensitive === false ? key.toLowerCase() : key
  }

  /** Puts every record so far in a router, each under one of its URLs, in the order they came. */
  #toRouter (): Router {
    const router = createRouter(this.#options)
    const added = new Set<T>()
    for (const [url, record] of this.#byUrl) {
      if (added.has(record)) continue
      added.add(record)
      router.on('GET', url, NO_HANDLER, record)
    }
    this.#byKey = null
    this.#router = router
    return router
  }
}
