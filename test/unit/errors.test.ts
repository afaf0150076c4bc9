import t from 'tap'
import { readFileSync } from 'node:fs'
import { CORS_POLICY_INVALID, CORS_REFUSAL_REASONS, CorsPolicyError } from '../../lib/index.ts'

// Codes, reasons and the README stay in step: what users match on is documented, and exists.
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')

t.test('CorsPolicyError carries the documented code, status and problems', async (t) => {
  const err = new CorsPolicyError([
    { where: 'route PUT /me', path: '/origins/0', message: '"x" has no scheme; fix it' },
    { where: 'plugin options', path: '', message: 'is wrong; fix it' },
  ])
  t.equal(CORS_POLICY_INVALID, 'FST_CORS_POLICY_INVALID')
  t.match(err, { name: 'CorsPolicyError', code: CORS_POLICY_INVALID, statusCode: 500 })
  t.equal(err.message, 'route PUT /me: /origins/0 "x" has no scheme; fix it\nplugin options: is wrong; fix it')
  t.ok(Object.isFrozen(err.problems))
  t.ok(readme.includes(CORS_POLICY_INVALID), 'the README names the code')
})

t.test('every refusal reason is documented in the README', async (t) => {
  for (const reason of CORS_REFUSAL_REASONS) t.ok(readme.includes(`\`${reason}\``), reason)
})
