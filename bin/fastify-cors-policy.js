#!/usr/bin/env node
// The package's command. Installed, it runs the build (dist/); in a checkout, where lib/ is, the
// sources (through tsx, a development dependency), so that it needs no build there.
import { existsSync } from 'node:fs'

const sources = new URL('../lib/cli.ts', import.meta.url)
let cli
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api')
  register()
  cli = await import(sources.href)
} else {
  cli = await import('../dist/cli.js')
}
process.exitCode = await cli.main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
})
