// Migration, the test oracle, the policy report and live replacement, as users write them.
import Fastify from 'fastify'
import cors, { fromFastifyCors, fromFastifyCorsRoute, type CorsDecision, type CorsDeclaredPolicy, type CorsPolicy, type CorsPolicyReportRow, type CorsRouteOption } from 'fastify-cors-policy'
import { corsCheck, judgeSetCookie, type CookieEngine, type CookieVerdict, type CorsCheckRedirect, type CorsCheckResult, type SetCookieVerdict } from 'fastify-cors-policy/testing'

const app = Fastify()
await app.register(cors, fromFastifyCors({ origin: ['https://app.example.com', /^https:\/\/.+\.example\.com$/], credentials: true }))
await Fastify().register(cors, fromFastifyCors({ origin: true }, { dangerouslyAllowUnsafeOrigins: true }))
// @ts-expect-error credentials is a boolean in @fastify/cors too
fromFastifyCors({ credentials: 'yes' })
// A route's @fastify/cors options, converted where config.cors takes a policy.
app.get('/status', { config: { cors: fromFastifyCorsRoute({ origin: '*', methods: 'GET' }) } }, async () => 'ok')
export const routeOption: CorsRouteOption = fromFastifyCorsRoute({ origin: ['https://app.example.com'], credentials: true }, { dangerouslyAllowUnsafeOrigins: false })
// @ts-expect-error the options are required: a route converts the options it declared
fromFastifyCorsRoute()
// @ts-expect-error exposedHeaders is a string or a list of strings in @fastify/cors too
fromFastifyCorsRoute({ exposedHeaders: 5 })
// @ts-expect-error config.cors takes a policy, not @fastify/cors options: convert them
app.get('/raw', { config: { cors: { origin: '*' } } }, async () => 'ok')

const result: CorsCheckResult = await corsCheck(app, { origin: 'https://app.example.com', method: 'PUT', url: '/me', headers: { 'content-type': 'application/json' }, credentials: true })
export const ok: boolean = result.ok
export const status: number | null = result.preflight.status
export const exposed: string[] = result.exposedHeaders
// @ts-expect-error origin is required
await corsCheck(app, { url: '/me' })
export const redirects: CorsCheckRedirect[] = result.redirects
export const hop: { method: string, url: string, status: number, location: string } | undefined = result.redirects[0]
export const differences: string[] = result.browserDifferences
await corsCheck(app, { origin: 'https://app.example.com', url: '/me', apiOrigin: 'https://api.example.com' })
// @ts-expect-error apiOrigin is a serialized origin, a string
await corsCheck(app, { origin: 'https://app.example.com', url: '/me', apiOrigin: new URL('https://api.example.com') })
// The cookie half: each Set-Cookie on the way, per engine.
export const setCookies: SetCookieVerdict[] = result.setCookies
export const chromium: CookieVerdict | undefined = result.setCookies[0]?.engines.chromium
export const stored: boolean | undefined = result.setCookies[0]?.engines.firefox.stored
export const from: 'preflight' | 'redirect' | 'response' | undefined = result.setCookies[0]?.from
export const apiOriginNote: string | null = result.apiOriginNote
export const engine: CookieEngine = 'firefox'
// @ts-expect-error the engines are chromium and firefox
export const safari: CookieEngine = 'safari'
// @ts-expect-error a verdict has no value: cookie values never leave the model
export const value: string = result.setCookies[0]!.value
const url = new URL('https://api.example.com/session')
export const judged: SetCookieVerdict | null = judgeSetCookie('sid=1; Secure', { page: 'https://app.example.com', url, from: 'response', credentials: true, refused: false, later: url })
// @ts-expect-error the URL that answered is a URL, not a string
judgeSetCookie('sid=1', { page: 'https://app.example.com', url: 'https://api.example.com', from: 'response', credentials: true, refused: false, later: url })

app.corsPolicies.replace('tenants', { origins: ['https://tenant.example'], credentials: true })
// @ts-expect-error a policy, not a list of origins
app.corsPolicies.replace('tenants', ['https://tenant.example'])
export const names: string[] = app.corsPolicies.names()
export const declared: CorsDeclaredPolicy = app.corsPolicies.declared('tenants')
export const declaredPolicy: CorsPolicy = declared.policy
// @ts-expect-error a policy may have no declared candidate
export const declaredCandidate: CorsPolicy = declared.candidate
export const rows: CorsPolicyReportRow[] = app.corsPolicyReport()
export const table: string = app.printCorsPolicies()
export const maxAge: number | null = rows[0]!.maxAge

await Fastify().register(cors, { openapiExtension: true, policies: { p: { origins: ['https://a.example'], headersFromSchema: true } } })
// @ts-expect-error openapiExtension is a boolean
await Fastify().register(cors, { openapiExtension: 'yes' })

// The structured decision of a refusal log line.
export const decision: CorsDecision = {
  allowed: false,
  reason: 'header_not_allowed',
  detail: { message: 'the request header x-api-key is not allowed', origin: 'https://app.example.com', method: null, header: 'x-api-key', route: 'PUT /me', policy: 'policy "web"' },
}
