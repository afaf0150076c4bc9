// The store of fastify-cors-policy/postgres, as a user writes it: the plugin, its SQL and the row check.
import Fastify from 'fastify'
import cors, { type CorsPolicyProblem } from 'fastify-cors-policy'
import corsPostgres, {
  CORS_POLICIES_SQL,
  checkCorsPolicyRow,
  corsPoliciesSql,
  fastifyCorsPostgres,
  type CheckCorsPolicyRowOptions,
  type CorsPolicyField,
  type CorsPolicyRow,
  type CorsPostgresOptions,
} from 'fastify-cors-policy/postgres'

const app = Fastify()
await app.register(cors, { policies: { tenants: { origins: ['https://app.example.com'], credentials: true } }, default: 'tenants' })
await app.register(corsPostgres, { connectionString: 'postgres://app@db/app', fields: ['origins', 'maxAge'], required: false, connectTimeout: 3000 })
await app.register(fastifyCorsPostgres, { table: 'tenant_cors', ssl: { rejectUnauthorized: true }, healthInterval: 5000, queryTimeout: 2000 })
// @ts-expect-error fields are policy fields
await app.register(corsPostgres, { fields: ['origin'] })
// @ts-expect-error required is a boolean
await app.register(corsPostgres, { required: 'yes' })
// @ts-expect-error connectionString is a string
export const url: CorsPostgresOptions = { connectionString: new URL('postgres://app@db/app') }

export const sql: string = CORS_POLICIES_SQL
export const other: string = corsPoliciesSql('tenant_cors')
const field: CorsPolicyField = 'exposeHeaders'
// @ts-expect-error not a policy field
export const notAField: CorsPolicyField = 'origin'
const row: CorsPolicyRow = { name: 'tenants', policy: JSON.parse('{"origins":["https://t.example"]}'), candidate: null }
const options: CheckCorsPolicyRowOptions = { declared: app.corsPolicies.declared('tenants').policy, fields: ['origins', field], table: 'tenant_cors' }
export const problems: CorsPolicyProblem[] = checkCorsPolicyRow(row, options)
// @ts-expect-error a row has a name
checkCorsPolicyRow({ policy: {} })
