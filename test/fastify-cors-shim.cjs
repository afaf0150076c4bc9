'use strict'
// Stands in for @fastify/cors when @fastify/cors's own tests run against this plugin (see
// fastify-cors-suite.test.ts): a Fastify plugin with @fastify/cors's name and registration forms
// (register(cors), register(cors, options), register(cors, () => options)), which registers this
// plugin with fromFastifyCors(options) in the same scope, as @fastify/cors applies to the scope that
// registers it. The plugin is loaded from lib/ (TypeScript, through tsx's loader or tap's).
const path = require('node:path')
const { pathToFileURL } = require('node:url')
const fp = require('fastify-plugin')

const entry = pathToFileURL(path.join(__dirname, '..', 'lib', 'index.ts')).href

async function fastifyCorsShim (app, options) {
  const { default: cors, fromFastifyCors } = await import(entry)
  // Fastify has already called an options function: options is then what it returned.
  await app.register(cors, fromFastifyCors(options))
}

const shim = fp(fastifyCorsShim, { fastify: '5.x', name: '@fastify/cors' })
module.exports = shim
module.exports.fastifyCors = shim
module.exports.default = shim
