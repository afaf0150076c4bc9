// One fresh process of the cold-start benchmark (bench/coldstart.ts); prints one line of JSON.
// Plain JavaScript run by plain Node: a TypeScript loader would add its own start-up to what is timed.
//   node --expose-gc coldstart-child.mjs import <module>        time to import a CORS module, Fastify already loaded
//   node --expose-gc coldstart-child.mjs app <floor|plugin> <N> <plugin module>
//     N routes on N paths: time from the first route to ready(), and heapUsed after ready() and a GC
//     (modules included). The floor declares one OPTIONS route per path by hand and no CORS logic:
//     the least a design with one generated OPTIONS route per path can cost.
//   node --expose-gc coldstart-child.mjs pattern <floor|plugin> <N> <plugin module>
//     N paths × 2 routes (GET, POST), the plugin's default policy an exact origin and a subdomain
//     pattern with credentials: heapUsed after ready() minus heapUsed once Fastify is loaded, both
//     after a GC, so that the plugin's modules (and the Public Suffix List a pattern needs) count.
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'

const [mode, what, count, module] = process.argv.slice(2)
const { default: Fastify } = await import('fastify')
const load = (specifier) => import(specifier.startsWith('/') ? pathToFileURL(specifier).href : specifier)

if (mode === 'pattern') {
  const paths = Number(count)
  globalThis.gc()
  globalThis.gc()
  const fastifyLoaded = process.memoryUsage().heapUsed
  const cors = what === 'plugin' ? (await load(module)).default : null
  const handler = async () => 'ok'
  const options = async (_request, reply) => reply.code(204).header('allow', 'GET, HEAD, OPTIONS, POST').send()
  const app = Fastify()
  if (cors !== null) {
    await app.register(cors, { default: { origins: ['https://app.example.com', 'https://*.partner.example'], credentials: true } })
  }
  for (let i = 0; i < paths; i++) {
    app.get(`/r${i}/items/:id`, handler)
    app.post(`/r${i}/items/:id`, handler)
    if (cors === null) app.options(`/r${i}/items/:id`, options)
  }
  await app.ready()
  globalThis.gc()
  globalThis.gc()
  process.stdout.write(JSON.stringify({ heapApp: process.memoryUsage().heapUsed - fastifyLoaded }) + '\n')
} else if (mode === 'import') {
  const start = performance.now()
  await load(what)
  process.stdout.write(JSON.stringify({ importMs: performance.now() - start }) + '\n')
} else {
  const routes = Number(count)
  const cors = what === 'plugin' ? (await load(module)).default : null
  const handler = async () => 'ok'
  const options = async (_request, reply) => reply.code(204).header('allow', 'GET, HEAD, OPTIONS').send()
  globalThis.gc()
  const start = performance.now()
  const app = Fastify()
  if (cors !== null) await app.register(cors, { default: { origins: ['https://app.example.com'], credentials: true } })
  for (let i = 0; i < routes; i++) {
    app.get(`/r${i}/items/:id`, handler)
    if (cors === null) app.options(`/r${i}/items/:id`, options)
  }
  await app.ready()
  const readyMs = performance.now() - start
  globalThis.gc()
  globalThis.gc()
  process.stdout.write(JSON.stringify({ readyMs, heapUsed: process.memoryUsage().heapUsed }) + '\n')
}
