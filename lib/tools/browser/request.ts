// The browser side of the Fetch standard: which requests a page can make, and which of them are
// preflighted. Grounding: Fetch standard, "CORS-safelisted method", "CORS-safelisted
// request-header", "CORS-unsafe request-header names", "forbidden request-header".

const NORMALIZED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'])
export const SAFELISTED_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST'])
const SAFELISTED_CONTENT_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'])
const FORBIDDEN_REQUEST_HEADERS = new Set([
  'accept-charset', 'accept-encoding', 'access-control-request-headers', 'access-control-request-method', 'connection',
  'content-length', 'cookie', 'cookie2', 'date', 'dnt', 'expect', 'host', 'keep-alive', 'origin', 'referer',
  'set-cookie', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'via',
])

/** "normalize" a method: browsers upper-case only DELETE GET HEAD OPTIONS POST PUT; `patch` is sent as written. */
export function normalizeMethod (method: string): string {
  const upper = method.toUpperCase()
  return NORMALIZED_METHODS.has(upper) ? upper : method
}

/** Lower-case names; values stripped of leading and trailing HTTP whitespace, as fetch's Headers does. */
export function normalizeHeaders (headers: Record<string, string>): Record<string, string> {
  const normalized: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) normalized[name.toLowerCase()] = value.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '')
  return normalized
}

/** "forbidden request-header", for a lower-case name: a page script cannot set it. */
export function isForbiddenRequestHeader (name: string): boolean {
  return FORBIDDEN_REQUEST_HEADERS.has(name) || name.startsWith('proxy-') || name.startsWith('sec-')
}

/**
 * Fetch standard, "CORS-unsafe request-header names", for lower-case names: sorted. (Its 1024-byte
 * cap on safelisted values cannot be reached with one value per name of at most 128 bytes each.)
 */
export function unsafeHeaderNames (headers: Record<string, string>): string[] {
  return Object.entries(headers).filter(([name, value]) => !isSafelistedRequestHeader(name, value)).map(([name]) => name).sort()
}

/** Fetch standard, "HTTP fetch": a preflight when the method or a header is not safelisted. */
export function needsPreflight (method: string, unsafe: readonly string[]): boolean {
  return !SAFELISTED_METHODS.has(method) || unsafe.length > 0
}

/** Fetch standard, "CORS-safelisted request-header". */
function isSafelistedRequestHeader (name: string, value: string): boolean {
  if (value.length > 128) return false
  switch (name) {
    case 'accept':
      return !hasUnsafeByte(value)
    case 'accept-language':
    case 'content-language':
      return /^[0-9A-Za-z *,\-.;=]*$/.test(value)
    case 'content-type': {
      if (hasUnsafeByte(value)) return false
      const essence = value.split(';')[0]!.trim().toLowerCase()
      return SAFELISTED_CONTENT_TYPES.has(essence)
    }
    case 'range':
      return /^bytes=\d+-\d*$/.test(value)
    default:
      return false
  }
}

function hasUnsafeByte (value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || '"():<>?@[\\]{}'.includes(value[i]!)) return true
  }
  return false
}
