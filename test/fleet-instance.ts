import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import cors from 'fastify-cors-policy'
import corsPostgres from 'fastify-cors-policy/postgres'

// One instance of a fleet, as its own process (test/fleet-processes.test.ts, bench/fleet.ts): the
// CORS plugin with the named policy "tenants" declared in code, kept in step with the table by the
// store's plugin. Prints {"port"} once it listens; logs go to stderr as JSON lines. SIGTERM closes
// the app and nothing else: the process must then exit on its own.

for (const event of ['unhandledRejection', 'uncaughtException'] as const) {
  process.on(event, (err) => {
    process.stderr.write(`${event}: ${String(err)}\n`)
    process.exit(70)
  })
}

const app = Fastify({ logger: { level: process.env.LOG_LEVEL ?? 'info', stream: process.stderr } })
await app.register(cors, { policies: { tenants: { origins: ['https://code.example.com'], credentials: true } }, default: 'tenants' })
await app.register(corsPostgres, { connectionString: process.env.DATABASE_URL, table: process.env.CORS_TABLE ?? 'cors_policies' })
app.get('/', async () => 'ok')
app.get('/candidates', { config: { cors: false } }, async () => app.corsPolicies.candidates())
await app.listen({ port: 0, host: '127.0.0.1' })
process.stdout.write(`${JSON.stringify({ port: (app.server.address() as AddressInfo).port })}\n`)
process.once('SIGTERM', () => { app.close().catch((err: unknown) => { process.stderr.write(`close failed: ${String(err)}\n`) }) })
