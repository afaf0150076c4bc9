import { Type } from '@sinclair/typebox'

// The source of CorsPolicySchema, as TypeBox builds it. The plugin does not load this module (nor
// TypeBox) at run time: scripts/generate-policy-check.ts turns it into lib/policy/policy-check.ts, the same
// schema as plain data beside a compiled check of it, and a test keeps the two in step.

/** The JSON part of a policy. RegExp and function origins, which JSON Schema cannot describe, are checked beside it. */
export const CorsPolicySchema = Type.Object({
  origins: Type.Union([
    Type.Literal('*'),
    Type.Array(Type.String(), { description: 'exact origins (https://app.example.com), patterns (https://*.example.com, http://localhost:*) or "null"' }),
  ], { description: "who may read responses: '*' (anyone, without credentials) or a list" }),
  credentials: Type.Optional(Type.Boolean({ description: 'send Access-Control-Allow-Credentials: true (cookies, HTTP auth)', default: false })),
  methods: Type.Optional(Type.Array(Type.String(), { description: 'methods allowed; by default the methods the route is registered for' })),
  allowHeaders: Type.Optional(Type.Array(Type.String(), { description: "non-safelisted request headers allowed; '*' for any but authorization", default: [] })),
  exposeHeaders: Type.Optional(Type.Array(Type.String(), { description: 'response headers that scripts may read', default: [] })),
  maxAge: Type.Optional(Type.Integer({ minimum: 0, maximum: 86400, description: 'seconds a browser may cache a preflight; no header by default' })),
  headersFromSchema: Type.Optional(Type.Boolean({ description: "add the header names of the route's schema.headers to allowHeaders and of schema.response[status].headers to exposeHeaders" })),
  dangerouslyAllowInsecureOrigins: Type.Optional(Type.Boolean({ description: 'allow plain http origins (other than loopback) with credentials, although anyone on the network path can then read credentialed responses' })),
  originTimeout: Type.Optional(Type.Integer({ minimum: 1, maximum: 60000, description: 'milliseconds an origins function may take to answer; later means not allowed. 2000 by default; only with an origins function' })),
}, { additionalProperties: false, $id: 'CorsPolicy', title: 'CORS policy' })

export type CorsPolicySchemaType = typeof CorsPolicySchema
