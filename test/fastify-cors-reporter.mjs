// A node:test reporter for fastify-cors-suite.test.ts: one JSON line per top-level test, with how it
// failed (the error node:test wraps is in `cause`: an AssertionError, or what the test threw).
export default async function * reporter (source) {
  for await (const event of source) {
    if ((event.type !== 'test:pass' && event.type !== 'test:fail') || event.data.nesting !== 0) continue
    const { name, details } = event.data
    const failure = details.error
    const cause = failure?.cause ?? failure
    yield JSON.stringify(failure === undefined
      ? { name, ok: true }
      : { name, ok: false, failureType: failure.failureType, error: cause?.name, code: cause?.code, message: String(cause?.message ?? cause) }) + '\n'
  }
}
