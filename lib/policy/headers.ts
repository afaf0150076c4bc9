// Header names as Node delivers them (lower case) and as the plugin sends them.
export const ORIGIN = 'origin'
export const ACRM = 'access-control-request-method'
export const ACRH = 'access-control-request-headers'
export const ACAO = 'access-control-allow-origin'
export const ACAC = 'access-control-allow-credentials'
export const ACAM = 'access-control-allow-methods'
export const ACAH = 'access-control-allow-headers'
export const ACEH = 'access-control-expose-headers'
export const ACMA = 'access-control-max-age'
export const VARY = 'vary'
export const ALLOW = 'allow'

export const VARY_ORIGIN = 'Origin'
export const VARY_PREFLIGHT = 'Access-Control-Request-Method, Access-Control-Request-Headers'
export const VARY_PREFLIGHT_WITH_ORIGIN = 'Origin, ' + VARY_PREFLIGHT

// Fetch standard, "HTTP extensions": limits past which a value is malformed input, not a name to look up.
export const MAX_ORIGIN_LENGTH = 2048
export const MAX_ACRH_LENGTH = 8192
export const MAX_ACRH_NAMES = 100

/**
 * Whether value[from, to) is an HTTP token (RFC 9110), the grammar of method and header names:
 * one or more of ! # $ % & ' * + - . ^ _ ` | ~ DIGIT ALPHA.
 */
export function isToken (value: string, from: number, to: number): boolean {
  if (from >= to) return false
  for (let i = from; i < to; i++) {
    const c = value.charCodeAt(i)
    if (!((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 33 ||
      (c >= 35 && c <= 39) || c === 42 || c === 43 || c === 45 || c === 46 || c === 94 || c === 95 ||
      c === 96 || c === 124 || c === 126)) return false
  }
  return true
}
