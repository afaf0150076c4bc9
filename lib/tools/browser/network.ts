// The network transport: each request sent once with node:http(s), redirects never followed by it
// (the model follows them), every header of the answer kept as received.
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { WireResponse } from './check.ts'
import type { Transport } from './fetch.ts'

/** Sends over the network; `timeout` in milliseconds for each request's answer. */
export function networkTransport (timeout: number): Transport<null> {
  return {
    send: ({ method, url, headers, body }) => new Promise((resolve, reject) => {
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest
      // What fetch adds: Accept */*; and a name, as every browser sends one.
      const sent = { accept: '*/*', 'user-agent': 'fastify-cors-policy-check', ...headers }
      const request = send(url, { method, headers: sent, agent: false, timeout }, (response) => {
        const received: WireResponse['headers'] = {}
        const raw = response.rawHeaders
        for (let i = 0; i < raw.length; i += 2) {
          const name = raw[i]!.toLowerCase()
          const value = raw[i + 1]!
          const seen = received[name]
          received[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value]
        }
        response.resume()
        response.on('end', () => resolve({ response: { status: response.statusCode!, headers: received }, raw: null }))
      })
      request.on('timeout', () => request.destroy(new Error(`no answer within ${timeout} ms`)))
      request.on('error', reject)
      request.end(body)
    }),
    reaches: () => null,
  }
}
