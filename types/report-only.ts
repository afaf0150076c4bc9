// Decisions as events, report-only candidates and the census, as a user writes them.
import { subscribe } from 'node:diagnostics_channel'
import Fastify from 'fastify'
import cors, {
  CORS_DECISION_CHANNEL,
  suggestCorsPolicy,
  type CorsCensus,
  type CorsCensusPolicy,
  type CorsDecisionEvent,
  type CorsRefusalReason,
  type SuggestedCorsPolicy,
} from 'fastify-cors-policy'

const channelName: 'fastify-cors-policy:decision' = CORS_DECISION_CHANNEL
subscribe(channelName, (message) => {
  const event = message as CorsDecisionEvent
  const reason: CorsRefusalReason | null = event.reason
  const labels: { route: string | null, allowed: boolean, preflight: boolean, reportOnly: boolean, policy: string | null } = event
  const origin: string = event.origin
  console.log(reason, labels, origin)
  // @ts-expect-error events are read-only
  event.allowed = true
})

const app = Fastify()
await app.register(cors, {
  policies: { web: { origins: '*' } },
  reportOnly: { web: { origins: ['https://app.example.com'] } },
  census: { size: 200 },
})
await app.register(cors, { census: true })
// @ts-expect-error a candidate is a policy
await app.register(cors, { reportOnly: { web: { origin: ['https://app.example.com'] } } })
// @ts-expect-error census is a boolean or { size }
await app.register(cors, { census: 'yes' })

app.corsPolicies.tryCandidate('web', { origins: ['https://app.example.com'] })
app.corsPolicies.clearCandidate('web')
app.corsPolicies.promote('web')
const names: string[] = app.corsPolicies.candidates()
const census: CorsCensus | null = app.corsPolicies.census()
// @ts-expect-error census() may be null (the option is off)
const sizeUnchecked: number = app.corsPolicies.census().size
const web: CorsCensusPolicy | undefined = census?.policies.find((p) => p.policy === 'web')
if (web !== undefined) {
  const top: { origin: string, requests: number, allowed: boolean, candidateAllows: boolean | null } | undefined = web.origins[0]
  const suggested: SuggestedCorsPolicy | null = suggestCorsPolicy(web, { minRequests: 10, credentials: true, minSubdomains: 2 })
  if (suggested !== null) app.corsPolicies.tryCandidate('web', suggested)
  // @ts-expect-error the options are named
  suggestCorsPolicy(web, { min: 10 })
  console.log(top)
}
console.log(names, sizeUnchecked)
