// Cookie values never leave the model: what it reports of a Cookie or Set-Cookie header keeps the
// names and attributes and replaces each value with `…`.

/** `sid=abc; theme=dark` → `sid=…; theme=…`. */
export function redactCookieHeader (value: string): string {
  return value.split(';').map(redactPair).join('; ')
}

/** `sid=abc; Path=/; HttpOnly` → `sid=…; Path=/; HttpOnly` (a line without `=` in its pair is all value). */
export function redactSetCookie (line: string): string {
  const semicolon = line.indexOf(';')
  return redactPair(semicolon === -1 ? line : line.slice(0, semicolon)) + (semicolon === -1 ? '' : line.slice(semicolon))
}

/** `sid=abc` → `sid=…`; a pair without `=` is all value. */
function redactPair (pair: string): string {
  const equals = pair.indexOf('=')
  return equals === -1 ? '…' : `${pair.slice(0, equals).trim()}=…`
}
