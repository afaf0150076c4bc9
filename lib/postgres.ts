// fastify-cors-policy/postgres: named policies kept in a PostgreSQL table and pushed to every instance.
// Only this entry loads it (and pg): the main entry stays as it is.
import { fastifyCorsPostgres } from './fleet/plugin.ts'

export { CORS_POLICIES_SQL, corsPoliciesSql } from './fleet/sql.ts'
export { checkCorsPolicyRow, type CheckCorsPolicyRowOptions, type CorsPolicyField, type CorsPolicyRow } from './fleet/row.ts'
export type { CorsPostgresOptions } from './fleet/options.ts'
export default fastifyCorsPostgres
export { fastifyCorsPostgres }
