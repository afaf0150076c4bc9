// How tap runs the TypeScript tests (.taprc): esbuild strips the types of each .ts file as Node loads it.
// tap's own TypeScript plugin loads the TypeScript compiler into every test process (about 2 s of CPU each);
// this costs a few milliseconds. The output keeps the source's lines and carries an inline source map,
// so coverage is reported on lib/*.ts exactly as before.
import { register } from 'node:module'

register('./typescript-hooks.mjs', import.meta.url)
