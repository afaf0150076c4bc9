import { createRequire } from 'node:module'
import type { FastifyPluginAsync } from 'fastify'
import type fastifyPlugin from 'fastify-plugin'
import { CorsPolicyError, type CorsPolicies } from 'fastify-cors-policy'
import { loadDriver, StoreListener } from './listener.ts'
import { readPostgresOptions, type CorsPostgresOptions } from './options.ts'
import { PolicySync } from './sync.ts'

// The plugin: reads its options, binds to the registration of its scope (app.corsPolicies), connects
// before the boot goes on, and ends everything on app.close().

/** Registrations already kept by a store: two listeners on one registration would fight over it. */
const bound = new WeakSet<CorsPolicies>()

const plugin: FastifyPluginAsync<CorsPostgresOptions> = async function fastifyCorsPostgres (app, options) {
  const settings = readPostgresOptions(options, app.initialConfig.pluginTimeout as number)
  const policies = app.corsPolicies
  if (bound.has(policies)) {
    throw new CorsPolicyError([{
      where: 'fastify-cors-policy/postgres',
      path: '',
      message: 'is registered twice for the same registration of fastify-cors-policy; register it once per registration (a child scope with its own registration may have its own)',
    }])
  }
  const Client = await loadDriver()
  bound.add(policies)
  const log = app.log.child({ corsStore: settings.table })
  const listener = new StoreListener(Client, settings, new PolicySync(policies, settings.table, settings.fields, log), log)
  app.addHook('onClose', async () => {
    bound.delete(policies)
    await listener.close()
  })
  try {
    await listener.start()
  } catch (err) {
    bound.delete(policies)
    throw err
  }
}

// fastify-plugin is CommonJS: require() takes it as it is.
const fp = createRequire(import.meta.url)('fastify-plugin') as typeof fastifyPlugin
/**
 * Keeps the named policies of the scope's fastify-cors-policy registration in step with a PostgreSQL
 * table: register it after the CORS plugin, `await app.register(corsPostgres, { connectionString })`.
 */
export const fastifyCorsPostgres = fp(plugin, { fastify: '5.x', name: 'fastify-cors-policy/postgres', dependencies: ['fastify-cors-policy'] })
