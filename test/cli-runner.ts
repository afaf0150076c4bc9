// Runs `fastify-cors-policy check` once for each argument list read from stdin (a JSON array), one
// after another in this one process, and writes their exit statuses and outputs to stdout as JSON.
// The browser suite starts it with NODE_EXTRA_CA_CERTS naming the suite's certificate: the command
// trusts its HTTPS servers the way a user's Node would.
import { main } from '../lib/cli.ts'

let input = ''
for await (const chunk of process.stdin) input += String(chunk)
const results: Array<{ status: number, stdout: string, stderr: string }> = []
for (const argv of JSON.parse(input) as string[][]) {
  let stdout = ''
  let stderr = ''
  const status = await main(argv, { stdout: (text) => { stdout += text }, stderr: (text) => { stderr += text } })
  results.push({ status, stdout, stderr })
}
process.stdout.write(JSON.stringify(results))
