// `npx tsx scripts/cookie-table.ts`: writes the "Where browsers differ" table of docs/cookies.md
// from the cookie cases (test/cookie-cases.ts) and the model's verdicts, which the browser suite
// holds to Chromium and Firefox. test/unit/cookie-docs.test.ts fails while the table is out of date.
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { differencesTable } from '../test/cookie-cases.ts'

export const DOC = new URL('../docs/cookies.md', import.meta.url)
export const START = '<!-- cookie-differences:start -->'
export const END = '<!-- cookie-differences:end -->'

/** The document with its table rendered anew. */
export function rendered (document: string): string {
  const start = document.indexOf(START)
  const end = document.indexOf(END)
  if (start === -1 || end < start) throw new Error(`docs/cookies.md needs the markers ${START} and ${END}`)
  return `${document.slice(0, start + START.length)}\n${differencesTable()}\n${document.slice(end)}`
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(DOC, rendered(readFileSync(DOC, 'utf8')))
}
