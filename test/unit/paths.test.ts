import fc from 'fast-check'
import FindMyWay from 'find-my-way'
import t from 'tap'
import { PathIndex } from '../../lib/fastify/paths.ts'
import { check } from '../property.ts'

// Which declared URLs are one path: find-my-way decides, and the index must agree with it, or the
// OPTIONS routes generated for two URLs it takes for one path would collide in the application's router.

type Options = FindMyWay.Config<FindMyWay.HTTPVersion.V1>

const OPTION_SETS: ReadonlyArray<[string, Options]> = [
  ['defaults', {}],
  ['ignoreTrailingSlash', { ignoreTrailingSlash: true }],
  ['ignoreDuplicateSlashes', { ignoreDuplicateSlashes: true }],
  ['caseSensitive: false', { caseSensitive: false }],
  ['all three', { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, caseSensitive: false }],
]

/** The record number of each URL, as the index groups them; 'throws' where it throws. */
function grouped (options: Options, urls: readonly string[]): Array<number | 'throws'> {
  let made = 0
  const index = new PathIndex({ ...options, allowUnsafeRegex: true }, () => made++)
  return urls.map((url) => {
    try {
      return index.get(url)
    } catch {
      return 'throws'
    }
  })
}

/** The same, by find-my-way itself: a URL joins the record of the route findRoute finds, or adds a route. */
function groupedByFindMyWay (options: Options, urls: readonly string[]): Array<number | 'throws'> {
  let made = 0
  const router = FindMyWay({ ...options, allowUnsafeRegex: true })
  return urls.map((url) => {
    try {
      const found = router.findRoute('GET', url)
      if (found !== null) return found.store as number
      const record = made++
      router.on('GET', url, () => {}, record)
      return record
    } catch {
      return 'throws'
    }
  })
}

/** Up to the first URL that throws (the application would not start), where both must throw. */
function untilThrow (groups: Array<number | 'throws'>): Array<number | 'throws'> {
  const at = groups.indexOf('throws')
  return at === -1 ? groups : groups.slice(0, at + 1)
}

t.test('plain URLs: one record per path, whatever the parameter names', async (t) => {
  t.strictSame(grouped({}, ['/users/:id', '/users/:userId', '/users', '/users/:id/orders', '/users/:x/orders', '/Users/:id', '/']),
    [0, 0, 1, 2, 2, 3, 4])
  t.strictSame(grouped({ ignoreTrailingSlash: true }, ['/a/', '/a', '/a/:id/', '/a/:x', '/']), [0, 0, 1, 1, 2])
  t.strictSame(grouped({ ignoreDuplicateSlashes: true }, ['//a//:id', '/a/:x', '/a//b']), [0, 0, 1])
  t.strictSame(grouped({ caseSensitive: false }, ['/Users/:Id', '/users/:id', '/USERS']), [0, 0, 1])
})

t.test('the first URL that is not plain moves the records into a router, which keeps them', async (t) => {
  // '/a/:id?', the first URL that is not plain, finds '/a/:x' in the router; '/e/:id?' declares '/e' too.
  t.strictSame(grouped({}, ['/a/:x', '/b', '/a/:y', '/a/:id?', '/b', '/c/:id(\\d+)', '/c/:n(\\d+)', '/c/:id', '/d/*', '/d/*', '/e/:id?', '/e', '/e/:x']),
    [0, 1, 0, 0, 1, 2, 2, 3, 4, 4, 5, 5, 5])
  t.strictSame(grouped({}, ['/x', '/x/:id?']), [0, 'throws'], 'as find-my-way, which has a route for /x already')
})

const PLAIN_SEGMENTS = ['users', 'Users', 'a', 'a-b', 'v1.json', '', ':id', ':userId', ':ID']
const OTHER_SEGMENTS = [':id?', 'a:id', 'a:name', ':id(\\d+)', ':n(\\d+)', ':id(\\w+)', ':from-:to', ':a-:b', ':file.:ext', '*', '::x', 'a::b', '%20', 'a%', 'a%25']
const urlOf = (segment: fc.Arbitrary<string>) => fc.tuple(fc.array(segment, { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([segments, slash]) => '/' + segments.join('/') + (slash ? '/' : ''))
// Plain URLs first, then any: the index starts with its Map, and most runs move to the router.
const urls = fc.tuple(
  fc.array(urlOf(fc.constantFrom(...PLAIN_SEGMENTS)), { maxLength: 10 }),
  fc.array(urlOf(fc.constantFrom(...PLAIN_SEGMENTS, ...OTHER_SEGMENTS)), { maxLength: 4 })
).map(([plain, any]) => [...plain, ...any])

for (const [name, options] of OPTION_SETS) {
  t.test(`random URLs, ${name}: the index groups them as find-my-way does`, async () => {
    check(fc.property(urls, (urls) => {
      const expected = untilThrow(groupedByFindMyWay(options, urls))
      const actual = grouped(options, urls).slice(0, expected.length)
      if (JSON.stringify(actual) !== JSON.stringify(expected)) {
        throw new Error(`${JSON.stringify(urls)}: the index groups them ${JSON.stringify(actual)}, find-my-way ${JSON.stringify(expected)}`)
      }
    }), 500)
  })
}
