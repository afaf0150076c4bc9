import type { FastifyRequest } from 'fastify'
import type { CompiledPolicy } from '../policy/compile.ts'
import { logOriginFunctionFailure, logOriginFunctionTimeout, type ObservedRoute } from '../observation/log.ts'

// The one part of a decision that may come later: a policy's origins function, asked at the edge of
// the decision (style.md, 15). Only `true` allows; a throw, a rejection, any other answer, or no answer
// within the policy's originTimeout means "not allowed", and failures are logged at error.

/**
 * Asks the policy's origins function whether `origin` (already well-formed, never `null`) may read
 * the response to `request`. A promise only when the function answers with one.
 */
export function askOriginFunction (policy: CompiledPolicy, origin: string, request: FastifyRequest, route: ObservedRoute): boolean | Promise<boolean> {
  const ask = policy.originFunction as NonNullable<CompiledPolicy['originFunction']>
  let answer: unknown
  try {
    answer = ask(origin, request)
  } catch (err) {
    logOriginFunctionFailure(request, route, origin, err)
    return false
  }
  if (answer === true) return true
  // Only a promise (or any thenable) is waited for: no timer for a synchronous answer.
  if (answer === null || typeof answer !== 'object' || typeof (answer as { then?: unknown }).then !== 'function') return false
  return boundedAnswer(answer as PromiseLike<unknown>, policy.originTimeout, request, route, origin)
}

/**
 * The function's answer, or false once `timeout` ms have passed without one: whichever comes first
 * decides, and the other is ignored. The timer is cleared on an answer and never keeps the process alive.
 */
function boundedAnswer (answer: PromiseLike<unknown>, timeout: number, request: FastifyRequest, route: ObservedRoute, origin: string): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    let settled = false
    const timer = setTimeout(() => {
      settled = true
      logOriginFunctionTimeout(request, route, origin, timeout)
      resolve(false)
    }, timeout)
    timer.unref()
    // Promise.resolve turns a thenable whose then throws into a rejection.
    Promise.resolve(answer).then((value) => {
      clearTimeout(timer)
      resolve(value === true)
    }, (err: unknown) => {
      // A failure after the timeout was logged as the timeout: one line per request.
      if (settled) return
      clearTimeout(timer)
      logOriginFunctionFailure(request, route, origin, err)
      resolve(false)
    })
  })
}
