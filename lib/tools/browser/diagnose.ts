// A refused preflight carries no reason on the wire. Find it the way a person would: re-send the
// preflight asking for each header alone, for no header, and for a safelisted method, and see
// which part the server refuses. A server running fastify-cors-policy is recognized by its refusal
// (403, empty body, Vary on the preflight's request headers, no Access-Control-Allow-*), and the
// policy field that would allow the request is named.
import { headerValue, preflightCheck, type WireResponse } from './check.ts'
import type { Blocked, Step, Transport } from './fetch.ts'
import { recordStep } from './fetch.ts'
import { credentialsMeaning, ifAllowed } from './messages.ts'

export interface Diagnosis {
  /** Which part of the request the server refuses. */
  refused: 'header' | 'method-case' | 'method' | 'origin'
  /** The refused request headers, for `header`. */
  headers: string[]
  /** Whether the answer is this plugin's refusal. */
  plugin: boolean
  /** The policy field that would allow it, on a server running this plugin. */
  field: 'allowHeaders' | 'methods' | 'origins' | null
  /** What was found, in a sentence. */
  finding: string
  /** What to change, in a sentence. */
  fix: string
  /** The preflights sent to find out, in order. */
  probes: Step[]
}

/** Whether this answer is a preflight refusal of fastify-cors-policy. */
export function isPluginRefusal (answer: WireResponse): boolean {
  const vary = (headerValue(answer, 'vary') ?? '').toLowerCase().split(',').map((token) => token.trim())
  const length = headerValue(answer, 'content-length')
  return answer.status === 403 && vary.includes('access-control-request-method') && vary.includes('access-control-request-headers') &&
    (length === undefined || length === '0') && !Object.keys(answer.headers).some((name) => name.startsWith('access-control-allow-'))
}

/** Diagnoses a refused first preflight (a non-ok status, or no Access-Control-Allow-Origin); null for any other refusal. */
export async function diagnose<R> (transport: Transport<R>, blocked: Blocked, answer: WireResponse): Promise<Diagnosis | null> {
  const kind = blocked.failure.kind
  if (!blocked.preflight || blocked.hops > 0 || (kind !== 'preflight-status' && kind !== 'allow-origin-missing')) return null
  const url = new URL(blocked.url)
  const probes: Step[] = []
  const passes = async (method: string, headers: readonly string[]): Promise<boolean> => {
    const sent: Record<string, string> = { origin: blocked.requestOrigin, 'access-control-request-method': method }
    if (headers.length > 0) sent['access-control-request-headers'] = headers.join(',')
    const probe = { method: 'OPTIONS', url, headers: sent, body: undefined }
    const { response } = await transport.send(probe)
    probes.push(recordStep('preflight', probe, response))
    return preflightCheck(response, blocked.requestOrigin, blocked.credentials, method, headers, []) === null
  }
  const plugin = isPluginRefusal(answer)
  const { method, requestHeaders: asked } = blocked
  const result = (refused: Diagnosis['refused'], headers: string[], finding: string, fix: string, field: Diagnosis['field']): Diagnosis =>
    ({ refused, headers, plugin, field: plugin ? field : null, finding, fix, probes })
  const upper = method.toUpperCase()
  if (upper !== method && await passes(upper, asked)) {
    return result('method-case', [], `refused because of the method's case: a preflight for ${upper} is allowed, one for ${method} is not`,
      `write method: '${upper}' in the page's fetch(): browsers send "${method}" as written and methods compare case-sensitively.`, null)
  }
  if (asked.length > 0 && await passes(method, [])) {
    const refused: string[] = []
    for (const name of asked) if (!await passes(method, [name])) refused.push(name)
    const names = refused.join(', ')
    const finding = refused.length === 0
      ? `refused because of the request headers together (${asked.join(', ')}): without them, the preflight is allowed`
      : `refused because of the header${refused.length > 1 ? 's' : ''} ${names}: without ${refused.length > 1 ? 'them' : 'it'}, the preflight is allowed`
    const shown = refused.length === 0 ? asked.join(', ') : names
    return result('header', refused, finding, plugin
      ? `add ${refused.length > 1 || refused.length === 0 ? 'them' : `'${names}'`} to the route policy's allowHeaders (fastify-cors-policy), e.g. allowHeaders: [${asked.map((name) => `'${name}'`).join(', ')}].`
      : `answer the preflight with Access-Control-Allow-Headers: ${asked.join(', ')} (it refuses ${shown}).`, 'allowHeaders')
  }
  if (method !== 'GET' && await passes('GET', [])) {
    return result('method', [], `refused because of the method ${method}: a preflight for GET is allowed`, plugin
      ? `the plugin judges a preflight by the route of its method: declare a ${method} route on this path, with a CORS policy that allows ${blocked.requestOrigin}, or add '${method}' to its policy's methods.`
      : `answer the preflight for ${method} with a 2xx and Access-Control-Allow-Methods: ${method}.`, 'methods')
  }
  const lead = ifAllowed(blocked.requestOrigin, blocked.credentials).replace(/^If/, 'if')
  const meaning = blocked.credentials ? credentialsMeaning(blocked.requestOrigin) : ''
  return result('origin', [], `refused for the origin ${blocked.requestOrigin}: even a preflight for GET with no header is refused`, plugin
    ? `${lead}, add '${blocked.requestOrigin}' to the route policy's origins (fastify-cors-policy), and check that the route is CORS-enabled (not cors: false).${meaning}`
    : `${lead}, answer preflights from ${blocked.requestOrigin} with 204, Access-Control-Allow-Origin: ${blocked.requestOrigin} and the Access-Control-Allow-* headers.${meaning}`, 'origins')
}
