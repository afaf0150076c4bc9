import t from 'tap'
import { readFileSync } from 'node:fs'
import { CORS_POLICY_INVALID, CORS_REFUSAL_REASONS, CorsPolicyError } from '../../lib/index.ts'

// Codes, reasons and the docs stay in step: what users match on is documented, and exists.
// docs/policies.md has the startup errors, docs/observability.md the refusals.
const policies = readFileSync(new URL('../../docs/policies.md', import.meta.url), 'utf8')
const observability = readFileSync(new URL('../../docs/observability.md', import.meta.url), 'utf8')

t.test('CorsPolicyError carries the documented code, status and problems', async (t) => {
  const err = new CorsPolicyError([
    { where: 'route PUT /me', path: '/origins/0', message: '"x" has no scheme; fix it' },
    { where: 'plugin options', path: '', message: 'is wrong; fix it' },
  ])
  t.equal(CORS_POLICY_INVALID, 'FST_CORS_POLICY_INVALID')
  t.match(err, { name: 'CorsPolicyError', code: CORS_POLICY_INVALID, statusCode: 500 })
  t.equal(err.message, 'route PUT /me: /origins/0 "x" has no scheme; fix it\nplugin options: is wrong; fix it')
  t.ok(Object.isFrozen(err.problems))
  t.ok(policies.includes(CORS_POLICY_INVALID), 'docs/policies.md names the code')
})

t.test('every refusal reason is documented in docs/observability.md', async (t) => {
  for (const reason of CORS_REFUSAL_REASONS) t.ok(observability.includes(`\`${reason}\``), reason)
})
