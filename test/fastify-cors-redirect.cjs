'use strict'
// Preloaded with `node --require` in the process that runs @fastify/cors's own tests: their
// `require('../')` (the package's own entry) loads fastify-cors-shim.cjs instead. Only requests from
// @fastify/cors's test folder are redirected; @fastify/cors's other modules and every other module
// resolve as usual.
const Module = require('node:module')
const path = require('node:path')

const peerEntry = require.resolve('@fastify/cors')
const peerTests = path.join(path.dirname(peerEntry), 'test') + path.sep
const shim = require.resolve('./fastify-cors-shim.cjs')

const resolveFilename = Module._resolveFilename
Module._resolveFilename = function redirectPeerEntry (request, parent, ...rest) {
  const resolved = resolveFilename.call(this, request, parent, ...rest)
  return resolved === peerEntry && parent?.filename?.startsWith(peerTests) ? shim : resolved
}
