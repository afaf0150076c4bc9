import type { FastifyInstance } from 'fastify'
import { ACRM, ORIGIN } from '../policy/headers.ts'

/** Route constraint that lets the generated OPTIONS route live beside an application's own OPTIONS route. */
export const PREFLIGHT_CONSTRAINT = 'fastifyCorsPolicyPreflight'

/** Adds the constraint strategy to the scope, once: OPTIONS requests are `preflight` or `plain`. */
export function addPreflightStrategy (scope: FastifyInstance): void {
  if (scope.hasConstraintStrategy(PREFLIGHT_CONSTRAINT)) return
  scope.addConstraintStrategy({
    name: PREFLIGHT_CONSTRAINT,
    mustMatchWhenDerived: false,
    storage () {
      const stores = new Map<unknown, unknown>()
      return {
        get: (value: unknown) => stores.get(value) ?? null,
        set: (value: unknown, store: unknown) => { stores.set(value, store) },
      }
    },
    deriveConstraint (req: { method?: string, headers: Record<string, unknown> }) {
      if (req.method !== 'OPTIONS') return undefined
      return req.headers[ORIGIN] !== undefined && req.headers[ACRM] !== undefined ? 'preflight' : 'plain'
    },
  } as unknown as Parameters<FastifyInstance['addConstraintStrategy']>[0])
}
