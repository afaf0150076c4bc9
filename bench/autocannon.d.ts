// The part of autocannon's API the benchmark uses (the package ships no types).
declare module 'autocannon' {
  namespace autocannon {
    interface Options {
      url: string
      method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS'
      headers?: Record<string, string>
      /** Seconds. */
      duration?: number
      connections?: number
      pipelining?: number
      /** Milliseconds between samples; the end of a run is noticed at a sample. */
      sampleInt?: number
      /** Seconds before a request counts as timed out. */
      timeout?: number
      /** Stop after this many requests, instead of after `duration`. */
      amount?: number
      /** Requests sent in turn; `setupRequest` may change each one before it is sent. */
      requests?: Array<{ setupRequest?: (request: { headers?: Record<string, string> } & Record<string, unknown>) => Record<string, unknown> }>
    }
    interface Request {
      method: NonNullable<Options['method']>
    }
    interface Histogram {
      average: number
      mean: number
      stddev: number
      min: number
      max: number
      total: number
      p50: number
      p90: number
      p99: number
    }
    interface Result {
      /** Seconds. */
      duration: number
      errors: number
      timeouts: number
      non2xx: number
      /** Milliseconds. */
      latency: Histogram
      /** Per sample; `total` is every completed response. */
      requests: Histogram & { sent: number }
      statusCodeStats: Record<string, { count: number }>
    }
  }
  function autocannon (options: autocannon.Options): Promise<autocannon.Result>
  export default autocannon
}
