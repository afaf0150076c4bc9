import { readdirSync } from 'node:fs'

// The files of test/unit/ share this one test process, imported one after another; their tests run
// in that order. Under tap a test process costs about 1.8 s of CPU before its first test: 24 of
// them were a third of the suite's CPU on 2 cores. A file that measures the heap, starts browsers
// or child processes, or runs for seconds stays in test/ with a process of its own.
// One of them alone: npx tap test/unit/actual.test.ts
const files = readdirSync(new URL('./unit/', import.meta.url)).filter((file) => file.endsWith('.test.ts')).sort()
for (const file of files) await import(`./unit/${file}`)
