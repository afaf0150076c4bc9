// `npm run screenshot`: starts the playground, runs every scenario in Chromium, saves docs/playground.png.
import { accessSync, constants, mkdirSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { startPlayground } from '../playground/server.ts'

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const output = fileURLToPath(new URL('../docs/playground.png', import.meta.url))
const WIDTH = 1360

try {
  accessSync(executablePath, constants.X_OK)
} catch {
  console.error(`no Chromium at ${executablePath}; install it with apt-get install chromium, or set CHROMIUM_PATH`)
  process.exit(1)
}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
})
const playground = await startPlayground()
try {
  const page = await browser.newPage({ viewport: { width: WIDTH, height: 900 }, deviceScaleFactor: 1 })
  await page.goto(playground.pageUrl)
  await page.waitForSelector('body[data-ready="true"]')
  await page.click('#run-all')
  await page.waitForFunction(() => document.querySelectorAll('.card[data-state="done"]').length === document.querySelectorAll('.card').length)
  // From the top down to the second row of scenarios: a README-sized image, under 300 KB.
  const bottom = await page.evaluate(() => {
    const cards = [...document.querySelectorAll('.card')].slice(0, 4)
    return Math.max(...cards.map((card) => card.getBoundingClientRect().bottom + window.scrollY)) + 12
  })
  mkdirSync(fileURLToPath(new URL('../docs/', import.meta.url)), { recursive: true })
  await page.screenshot({ path: output, fullPage: true, clip: { x: 0, y: 0, width: WIDTH, height: Math.ceil(bottom) } })
  console.log(`saved docs/playground.png (${Math.round(statSync(output).size / 1024)} KB)`)
} finally {
  await browser.close()
  await playground.close()
}
