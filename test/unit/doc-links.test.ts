import t from 'tap'
import { readdirSync } from 'node:fs'
import { anchorsOf, deadLinks, linksOf, slug } from '../doc-links.ts'

// The README and docs/ link to one another and to sections of one another: text that moves must
// not leave a dead link behind. Every relative link (file and #anchor) of the shipped documents
// resolves, and so does every path of the repository they name.

const documents = ['README.md', 'SECURITY.md', ...readdirSync('docs').filter((file) => file.endsWith('.md')).map((file) => `docs/${file}`)]

t.test('every link of the README, SECURITY.md and docs/ leads to a file and a heading that exist', async (t) => {
  t.ok(documents.length > 3, `${documents.length} documents`)
  t.strictSame(deadLinks('.', documents), [])
})

t.test('the check finds dead files, dead anchors and stale source paths, and reads code as text', async (t) => {
  t.strictSame(deadLinks('test/fixtures/doc-links', ['README.md', 'docs/guide.md']), [
    'README.md:6: docs/moved.md leads to docs/moved.md, which does not exist',
    'README.md:6: docs/guide.md#install leads to no heading of docs/guide.md (#install)',
    'README.md:7: #costs leads to no heading of README.md (#costs)',
    'README.md:7: lib/a.ts#L1 has an anchor, but lib/a.ts is not a Markdown document',
    'README.md:8: https://raw.githubusercontent.com/fastify-cors-policy/fastify-cors-policy/main/docs/screen.png names docs/screen.png, which does not exist',
    'README.md:22: docs/guide.md#not-there leads to no heading of docs/guide.md (#not-there)',
    'README.md:10: `lib/gone.ts` names a file that does not exist',
    'docs/guide.md:5: ../SECURITY.md leads to SECURITY.md, which does not exist',
  ])
})

t.test('anchors are GitHub\'s: markup dropped, punctuation removed, repeated headings numbered', async (t) => {
  t.equal(slug('Testing your CORS setup: `corsCheck`'), 'testing-your-cors-setup-corscheck')
  t.equal(slug('@fastify/cors\'s own tests'), 'fastifycorss-own-tests')
  t.equal(slug('Why did the browser say no?'), 'why-did-the-browser-say-no')
  t.equal(slug('Headers declared once, in the route schema'), 'headers-declared-once-in-the-route-schema')
  t.equal(slug('See [the guide](docs/guide.md) — `a_b`'), 'see-the-guide--a_b')
  t.strictSame([...anchorsOf('# A\n\n## Setup\n\n```\n# not a heading\n```\n\n## Setup\n<a id="x"></a>\n')], ['a', 'setup', 'setup-1', 'x'])
})

t.test('links are found inline, as references and as attributes, never inside code', async (t) => {
  t.strictSame(linksOf([
    'A [link](a.md) and [another](<b c.md> "title"), `[code](no.md)`.',
    '<img src="d.png"> <a href="e.md#f">e</a>',
    '```',
    '[block](no.md)',
    '```',
    '[ref]: g.md',
  ].join('\n')), [
    { line: 1, target: 'a.md' },
    { line: 1, target: 'b c.md' },
    { line: 2, target: 'd.png' },
    { line: 2, target: 'e.md#f' },
    { line: 6, target: 'g.md' },
  ])
})
