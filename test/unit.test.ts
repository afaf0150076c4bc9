import { readdirSync } from 'node:fs'
import t from 'tap'

// The files of test/unit/ share this one test process, imported one after another; their tests run
// in that order. Under tap a test process costs about 1.8 s of CPU before its first test: 24 of
// them were a third of the suite's CPU on 2 cores. A file that measures the heap, starts browsers
// or child processes, or runs for seconds stays in test/ with a process of its own.
// One of them alone: npx tap test/unit/actual.test.ts
const files = readdirSync(new URL('./unit/', import.meta.url)).filter((file) => file.endsWith('.test.ts')).sort()

// The imports happen inside a test, so that the root test is never idle while a file loads: once a
// file has given the root a teardown, tap ends the root after a few idle timer ticks, and the files
// still loading would be left out without a word. Their tests, queued on the root, run after this one.
t.test(`the ${files.length} files of test/unit/ load`, async (t) => {
  for (const file of files) {
    await import(`./unit/${file}`)
    t.pass(file)
  }
})
