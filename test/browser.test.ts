import t from 'tap'
import { cliAgreement } from './browser/cli.ts'
import { conformance } from './browser/conformance.ts'
import { cookies } from './browser/cookies.ts'
import { eachEngine } from './browser/harness.ts'
import { oracle } from './browser/oracle.ts'
import { playground } from './browser/playground.ts'

// The whole browser suite in one test process, so that each engine is launched once for all of it.
await eachEngine(t, {
  'conformance to the behaviour reference': conformance,
  'corsCheck against the browser': oracle,
  'the playground': playground,
  'the check command against the browser': cliAgreement,
  'cookies: the browser model against the browser': cookies,
})
