import type { FastifyInstance } from 'fastify'
import { CorsPolicyError, messages } from '../policy/errors.ts'
import type { CorsRegistry } from './registry.ts'

// Routes that were in the router before a registration loaded: `app.register(cors, …)` without
// `await`, then `app.get(…)`, declares the route first, and the plugin's onRoute hook never sees it.
// Fastify offers no list of routes but `printRoutes()`, the router's tree as text; it is read here,
// once per registration, to find them.

/** A route of the router, as `printRoutes()` shows it. */
export interface PrintedRoute {
  readonly methods: readonly string[]
  readonly url: string
}

/**
 * At the root, Fastify cannot have routes the plugin did not see once it is loaded, so earlier ones
 * are refused: they would be silently ungoverned (no CORS headers, preflights answered 404). In a child
 * scope, earlier routes of the scope cannot be told apart from its siblings': they are logged at warn.
 * Returns whether this registration sees every route declared from now on (it is at the root).
 */
export function checkEarlierRoutes (app: FastifyInstance, registry: CorsRegistry): boolean {
  const earlier = unseenRoutes(app, registry)
  // The root instance is the one object literal Fastify makes; every scope inherits from it.
  const atRoot = Object.getPrototypeOf(app) === Object.prototype
  if (atRoot) {
    if (earlier.length > 0) {
      throw new CorsPolicyError(earlier.map((route) => ({ where: `route ${route.methods.join(',')} ${route.url}`, path: '', message: messages.declaredBefore })))
    }
    return true
  }
  const prefix = app.prefix
  const underPrefix = earlier.filter((route) => route.url.startsWith(prefix))
  if (underPrefix.length > 0) {
    const list = underPrefix.map((route) => `${route.methods.join(',')} ${route.url}`)
    app.log.warn({ routes: list }, messages.declaredBeforeInScope(prefix, list))
  }
  return false
}

/** The routes of the router that no registration of the plugin governs, nor generated. */
function unseenRoutes (app: FastifyInstance, registry: CorsRegistry): PrintedRoute[] {
  const printed = parsePrintedRoutes(app.printRoutes())
  if (printed.length === 0) return printed
  const known = new Set<string>()
  for (const route of registry.routes) {
    for (const method of route.methods) known.add(routeKey(method, route.url))
  }
  for (const url of registry.generatedUrls) known.add(routeKey('OPTIONS', url))
  const unseen: PrintedRoute[] = []
  for (const route of printed) {
    const methods = route.methods.filter((method) => !known.has(routeKey(method, route.url)))
    if (methods.length > 0) unseen.push({ methods, url: route.url })
  }
  return unseen
}

// Where two routes differ only by parameter names, the tree shows them once (`:id|:userId`); a route
// declared as '/' under a prefix is also in the router with a trailing slash. Keys ignore both.
const PARAMETER_NAMES = /:[\w$]+(?:\|:[\w$]+)*/g

function routeKey (method: string, url: string): string {
  const path = url.replace(PARAMETER_NAMES, ':')
  return `${method} ${path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path}`
}

// A line of the tree: indentation in units of four characters, the branch, the node's own prefix of
// the URL, then its routes' methods (and constraints). A node with routes under several constraints
// has a line per constraint set, the later ones without a branch.
// Its box-drawing characters are escaped: the bundle stays ASCII, which V8 keeps as one byte per
// character (one character beyond ASCII anywhere makes the whole source two bytes per character).
const TREE_LINE = /^((?:\u2502 {3}| {4})*)(?:[\u251c\u2514]\u2500\u2500 )?(.*)$/
const ROUTES = / \(([A-Z][\w-]*(?:, [A-Z][\w-]*)*)\)(?: \{.*\})?$/
const EMPTY_ROOT = '(empty root node)'

/** The routes of a `printRoutes()` tree, each URL once with its methods, in the order printed. */
export function parsePrintedRoutes (tree: string): PrintedRoute[] {
  const byUrl = new Map<string, string[]>()
  const prefixes: string[] = []
  let url = ''
  for (const line of tree.split('\n')) {
    const parts = TREE_LINE.exec(line) as RegExpExecArray
    const depth = (parts[1] as string).length / 4
    const text = parts[2] as string
    const routes = ROUTES.exec(text)
    const key = routes === null ? text : text.slice(0, routes.index)
    if (line.includes('── ')) {
      prefixes.length = depth
      prefixes.push(key === EMPTY_ROOT ? '' : key)
      url = prefixes.join('')
    }
    if (routes === null) continue
    let methods = byUrl.get(url)
    if (methods === undefined) byUrl.set(url, methods = [])
    for (const method of (routes[1] as string).split(', ')) if (!methods.includes(method)) methods.push(method)
  }
  return [...byUrl].map(([url, methods]) => ({ methods, url }))
}
