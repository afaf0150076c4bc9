// docs/cookies.md stays what the suite measures: its "Where browsers differ" table is the one the
// cookie cases and the model render (the browser suite holds each verdict to its engine), and the
// number of cookies it names is the number of cases.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { COOKIE_BATCHES, caseCounts } from '../cookie-cases.ts'
import { DOC, END, START, rendered } from '../../scripts/cookie-table.ts'

t.test('docs/cookies.md: the table of the cases where Chromium and Firefox differ is the one the model renders', async (t) => {
  const document = readFileSync(DOC, 'utf8')
  t.equal(document, rendered(document), 'up to date (npx tsx scripts/cookie-table.ts writes it)')
  const { cases, differ } = caseCounts()
  t.equal(document.slice(document.indexOf(START), document.indexOf(END)).split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| case ')).length, differ)
  t.ok(differ > 0 && differ < cases)
  t.match(document, `for each of the ${cases} cookies and each engine`)
  const command = COOKIE_BATCHES.filter((b) => b.cli)
  t.match(document, `(${command.reduce((sum, b) => sum + b.cases.length, 0)} cookies in ${command.length} calls on \`localhost\` and \`127.0.0.1\`)`)
  t.throws(() => rendered('no markers'), /needs the markers/)
})
