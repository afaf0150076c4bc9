// CorsPolicyError and its problems, as an app catches them.
import Fastify from 'fastify'
import cors, { CORS_POLICY_INVALID, CorsPolicyError, type CorsPolicyProblem } from 'fastify-cors-policy'

try {
  await Fastify().register(cors, { default: { origins: [] } })
} catch (err) {
  if (err instanceof CorsPolicyError) {
    const code: 'FST_CORS_POLICY_INVALID' = err.code
    const same: typeof CORS_POLICY_INVALID = code
    const problems: readonly CorsPolicyProblem[] = err.problems
    const lines: string[] = problems.map((p) => `${p.where}: ${p.path} ${p.message}`)
    const message: string = err.message
    console.error(same, lines.join('\n') === message)
    // @ts-expect-error the problems are read-only
    err.problems.push({ where: '', path: '', message: '' })
  }
}
