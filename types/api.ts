// The API of the issue, as a user writes it: every declaration here must compile.
import Fastify, { type FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'
import cors, {
  fastifyCorsPolicy,
  type CorsOriginFunction,
  type CorsPluginOptions,
  type CorsPolicy,
  type CorsPolicyName,
  type CorsRefusalReason,
  type CorsRouteOption,
} from 'fastify-cors-policy'

const handler = async (): Promise<string> => 'ok'
const Q = Type.Object({ from: Type.Optional(Type.String()) })

const app = Fastify()
await app.register(cors, {
  default: { origins: ['https://app.example.com'], credentials: true },
  policies: {
    public: { origins: '*' },
    partners: {
      origins: ['https://*.partner.example', 'http://localhost:*'],
      allowHeaders: ['content-type', 'x-api-key'],
      exposeHeaders: ['x-request-id'],
      maxAge: 600,
    },
  },
})
app.get('/status', { config: { cors: 'public' } }, handler)
app.post('/orders', { config: { cors: 'partners' } }, handler)
app.put('/me', { config: { cors: { origins: ['https://app.example.com'], credentials: true, allowHeaders: ['content-type'] } } }, handler)
app.get('/admin', { config: { cors: false } }, handler)
app.get('/report', { schema: { cors: 'partners', querystring: Q } }, handler)
app.route({ method: ['GET', 'POST'], url: '/both', config: { cors: 'public' }, handler })
app.get('/default', handler)

// Origins: RegExp, a list mixing strings and RegExps, a function, an async function.
app.get('/regexp', { config: { cors: { origins: /^https:\/\/[a-z]+\.example\.com$/ } } }, handler)
app.get('/mixed', { config: { cors: { origins: ['https://app.example.com', /^https:\/\/[a-z]+\.example\.org$/] } } }, handler)
app.get('/fn', { config: { cors: { origins: (origin) => origin.endsWith('.example.com') } } }, handler)
app.get('/async', {
  config: {
    cors: {
      origins: async (origin: string, request: FastifyRequest) => origin === request.headers.host,
      credentials: true,
    },
  },
}, handler)

// Every field, read-only arrays (as const) included.
const full: CorsPolicy = {
  origins: ['https://app.example.com'] as const,
  credentials: true,
  methods: ['GET', 'PUT'] as const,
  allowHeaders: ['content-type'] as const,
  exposeHeaders: ['x-request-id'] as const,
  maxAge: 600,
}
app.get('/full', { config: { cors: full } }, handler)

// The exported types compose.
const isTenant: CorsOriginFunction = async (origin) => origin === 'https://tenant.example'
const options: CorsPluginOptions = { default: 'tenants', policies: { tenants: { origins: isTenant } } }
await app.register(async (child) => { await child.register(fastifyCorsPolicy, options) })
const name: CorsPolicyName = 'any string, until the app narrows CorsPolicyNames'
export const routeOptions: CorsRouteOption[] = [full, name, false]
// The reasons in the debug log, for apps that filter their logs on them.
export const reason: CorsRefusalReason = 'origin_not_allowed'

// An app registered without options, and with default: false.
await Fastify().register(cors)
await Fastify().register(cors, { default: false })
