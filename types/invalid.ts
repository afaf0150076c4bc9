// Declarations that must not compile: each line marked @ts-expect-error is an error.
import Fastify from 'fastify'
import cors, { type CorsPolicy } from 'fastify-cors-policy'

const handler = async (): Promise<string> => 'ok'
const app = Fastify()

// @ts-expect-error origin is not a field: it is origins
app.get('/a', { config: { cors: { origin: 'https://app.example.com' } } }, handler)
// @ts-expect-error credentials is a boolean
app.get('/b', { config: { cors: { origins: ['https://app.example.com'], credentials: 'yes' } } }, handler)
// @ts-expect-error a number is not a policy
app.get('/c', { config: { cors: 42 } }, handler)
// @ts-expect-error maxAge is a number of seconds
app.get('/d', { config: { cors: { origins: '*', maxAge: '600' } } }, handler)
// @ts-expect-error true is not a policy: CORS is on by default where a default is set, and a route names its policy
app.get('/e', { config: { cors: true } }, handler)
// @ts-expect-error the same rules hold in schema.cors
app.get('/f', { schema: { cors: { origins: '*', credentials: 'yes' } } }, handler)
// @ts-expect-error origins is required
app.get('/g', { config: { cors: { credentials: true } } }, handler)
// @ts-expect-error origins is '*', not any other single string
app.get('/h', { config: { cors: { origins: 'https://app.example.com' } } }, handler)
// @ts-expect-error methods is a list
app.get('/i', { config: { cors: { origins: '*', methods: 'GET' } } }, handler)
// @ts-expect-error an origin is a string or a RegExp
app.get('/j', { config: { cors: { origins: ['https://app.example.com', 42] } } }, handler)
// @ts-expect-error an origin function answers with a boolean
app.get('/k', { config: { cors: { origins: (origin: string) => origin } } }, handler)

// @ts-expect-error a plugin option that does not exist
await app.register(cors, { origin: '*' })
// @ts-expect-error policies hold policies, not names
await app.register(cors, { policies: { web: 'public' } })
// @ts-expect-error default is a policy, a name or false
await app.register(cors, { default: true })

// @ts-expect-error an unknown key in a policy object
export const typo: CorsPolicy = { origins: '*', credential: true }
