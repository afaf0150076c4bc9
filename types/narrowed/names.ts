// Once an app declares its policy names, a misspelt name is a type error. A separate compilation
// unit: module augmentation is global, so the other type tests keep plain string names.
import Fastify from 'fastify'
import cors, { type CorsPolicyName, type CorsRouteOption } from 'fastify-cors-policy'

declare module 'fastify-cors-policy' {
  interface CorsPolicyNames {
    public: true
    partners: true
  }
}

const handler = async (): Promise<string> => 'ok'
const app = Fastify()
await app.register(cors, {
  default: 'public',
  policies: { public: { origins: '*' }, partners: { origins: ['https://*.partner.example'] } },
})

app.get('/status', { config: { cors: 'public' } }, handler)
app.get('/report', { schema: { cors: 'partners' } }, handler)
app.get('/inline', { config: { cors: { origins: '*' } } }, handler)
app.get('/off', { config: { cors: false } }, handler)

// @ts-expect-error "pubic" is not a declared name
app.get('/typo', { config: { cors: 'pubic' } }, handler)
// @ts-expect-error nor in schema.cors
app.get('/typo2', { schema: { cors: 'partner' } }, handler)
// @ts-expect-error nor as the default
await app.register(cors, { default: 'partner' })

export const names: CorsPolicyName[] = ['public', 'partners']
// @ts-expect-error the type of names is the declared ones
export const other: CorsPolicyName = 'admin'
export const options: CorsRouteOption[] = ['public', false]
