// Where Chromium or Firefox currently decide otherwise than the Fetch standard: one sentence each,
// measured by test/browser/oracle.ts and cli.ts. The model follows the standard and adds
// these sentences to its result; docs/browser-differences.md is their table.
import { SAFELISTED_METHODS } from './request.ts'

export const STAR_COVERS_AUTHORIZATION = 'Chromium and Firefox let Access-Control-Allow-Headers: * cover Authorization, which the Fetch standard does not: ' +
  'both accept this preflight.'

export const FIREFOX_PREFLIGHTS_AFTER_303 = 'Firefox preflights the GET that follows a 303 answering a preflighted request, which the Fetch ' +
  'standard does not: the server must also answer that preflight (OPTIONS with Access-Control-Request-Method: GET).'

// Chromium (measured on 156) also safelists these client-hint request headers when their value
// has this form; the Fetch standard does not.
const CHROMIUM_CLIENT_HINTS: ReadonlyMap<string, RegExp> = new Map([
  ['device-memory', /^\d+(?:\.\d+)?$/],
  ['dpr', /^\d+(?:\.\d+)?$/],
  ['downlink', /^\d+(?:\.\d+)?$/],
  ['rtt', /^\d+$/],
  ['viewport-width', /^\d+$/],
  ['width', /^\d+$/],
  ['ect', /^(?:slow-2g|2g|3g|4g)$/],
  ['save-data', /^on$/i],
])

/** The sentence for the CORS-unsafe headers of a request that Chromium treats as safelisted, or null. */
export function chromiumSafelist (method: string, headers: Record<string, string>, unsafe: readonly string[]): string | null {
  const hints = unsafe.filter((name) => headers[name]!.length <= 128 && CHROMIUM_CLIENT_HINTS.get(name)?.test(headers[name]!) === true)
  if (hints.length === 0) return null
  const names = hints.length > 1 ? `request headers ${hints.join(', ')}` : `request header ${hints[0]}`
  const effect = SAFELISTED_METHODS.has(method) && hints.length === unsafe.length
    ? 'Chromium sends this request without a preflight'
    : `Chromium leaves ${hints.length > 1 ? 'them' : 'it'} out of the preflight's Access-Control-Request-Headers`
  return `Chromium treats the ${names} as CORS-safelisted, which the Fetch standard does not: ${effect}.`
}

/** Adds a sentence once. */
export function note (differences: string[], sentence: string | null): void {
  if (sentence !== null && !differences.includes(sentence)) differences.push(sentence)
}
