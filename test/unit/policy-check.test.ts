import t from 'tap'
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { Value } from '@sinclair/typebox/value'
import { CorsPolicySchema as Definition } from '../../lib/policy/policy-schema.ts'
import { CorsPolicySchema, isPolicyShape } from '../../lib/policy/policy-check.ts'
import { generatedPolicyCheck, target } from '../../scripts/generate-policy-check.ts'
import { check } from '../property.ts'

// The plugin checks policies with lib/policy/policy-check.ts, generated from the TypeBox definition so that
// TypeBox is not loaded at run time. These tests keep the generated file in step with its source.

t.test('lib/policy/policy-check.ts is what the generator writes now (npm run generate after changing the schema)', async (t) => {
  t.equal(readFileSync(target, 'utf8'), generatedPolicyCheck())
})

t.test('the exported schema is TypeBox\'s, symbols included, so TypeBox can compose and check it', async (t) => {
  t.strictSame(CorsPolicySchema, Definition)
  t.equal(JSON.stringify(CorsPolicySchema), JSON.stringify(Definition))
  t.ok(Value.Check(CorsPolicySchema, { origins: ['https://app.example.com'], maxAge: 600 }))
})

t.test('the generated check agrees with TypeBox on any value', async (t) => {
  const strings = fc.oneof(fc.constant('*'), fc.string({ maxLength: 6 }))
  const fieldValue = fc.oneof(strings, fc.boolean(), fc.integer({ min: -2, max: 90000 }), fc.double(), fc.constant(null),
    fc.array(strings, { maxLength: 3 }), fc.array(fc.oneof(strings, fc.integer()), { maxLength: 3 }), fc.object({ maxDepth: 1 }))
  const fields = fc.constantFrom(...Object.keys(Definition.properties), 'credential', 'origin', 'toString', '__proto__')
  const nearlyValid = fc.record({
    origins: fc.oneof(fc.constant('*'), fc.array(strings, { maxLength: 3 }), fieldValue),
    credentials: fc.oneof(fc.boolean(), fieldValue),
    methods: fc.array(strings, { maxLength: 2 }),
    maxAge: fc.integer({ min: -1, max: 86401 }),
    originTimeout: fc.integer({ min: 0, max: 60001 }),
    headersFromSchema: fc.boolean(),
  }, { requiredKeys: ['origins'] })
  const value = fc.oneof(
    { weight: 4, arbitrary: nearlyValid },
    { weight: 4, arbitrary: fc.dictionary(fields, fieldValue, { maxKeys: 6 }) },
    { weight: 1, arbitrary: fc.anything() }
  )
  let accepted = 0
  check(fc.property(value, (candidate) => {
    const expected = Value.Check(Definition, candidate)
    if (expected) accepted++
    return isPolicyShape(candidate) === expected
  }), 3000)
  t.ok(accepted > 100, `valid shapes were drawn too (${accepted})`)
  t.ok(isPolicyShape({ origins: ['https://a.example'], credentials: true, methods: ['GET'], allowHeaders: ['x'], exposeHeaders: ['y'], maxAge: 0, headersFromSchema: false, dangerouslyAllowInsecureOrigins: false }))
})
