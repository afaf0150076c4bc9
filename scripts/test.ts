// `npm test`: the build, then tap beside the static checks (lint, typecheck, type tests).
// tap's files spend much of their run waiting on browsers, child processes and sockets; the checks
// are pure CPU and fill those idle cores (on 2 cores: about 25 s less than running them one after
// the other). tap's output streams as it comes; a check's own output is printed after tap's, when
// the check failed. The exit code is non-zero when any step failed.
import { spawn } from 'node:child_process'

const CHECKS = ['lint', 'typecheck', 'test:types']

interface Outcome { script: string, code: number, seconds: number, output: string }

function run (script: string, stream: boolean): Promise<Outcome> {
  const started = performance.now()
  const child = spawn('npm', ['run', '--silent', script], { stdio: stream ? 'inherit' : ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      resolve({ script, code: code ?? (signal === null ? 1 : 128), seconds: (performance.now() - started) / 1000, output })
    })
  })
}

function summary ({ script, code, seconds }: Outcome): string {
  return `# npm run ${script}: ${code === 0 ? 'ok' : `FAILED, exit code ${code}`} (${seconds.toFixed(1)} s)`
}

const build = await run('build', true)
if (build.code !== 0) {
  console.log(summary(build))
  process.exit(1)
}
// A check that ends during tap's run says so in one line; what a failed one printed comes after tap's.
const checks = CHECKS.map(async (script) => {
  const outcome = await run(script, false)
  console.log(summary(outcome))
  return outcome
})
const tap = await run('test:unit', true)
const outcomes = [...await Promise.all(checks), tap]
const failed = outcomes.filter((outcome) => outcome.code !== 0)
for (const outcome of failed) {
  if (outcome !== tap) console.log(`${summary(outcome)}\n${outcome.output.trimEnd()}`)
}
if (failed.length > 0) {
  console.log(`# failed: ${failed.map((outcome) => `npm run ${outcome.script}`).join(', ')}`)
  process.exit(1)
}
