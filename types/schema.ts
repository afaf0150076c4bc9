// CorsPolicy and Static<typeof CorsPolicySchema> agree on the JSON part of a policy.
import type { Static } from '@sinclair/typebox'
import { CorsPolicySchema, type CorsPolicy, type CorsPolicyJson } from 'fastify-cors-policy'

type Json = Static<typeof CorsPolicySchema>
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
type Expect<T extends true> = T
type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T]

// A CorsPolicy restricted to JSON origins, with its read-only arrays made writable (CorsPolicy takes
// read-only arrays, so that `as const` lists are accepted; Static gives plain arrays).
type Writable<V> = V extends ReadonlyArray<infer I> ? I[] : V
type JsonOrigins<O> = O extends '*' ? O : O extends ReadonlyArray<infer I> ? ReadonlyArray<Extract<I, string>> : never
type JsonPolicy = { [K in keyof CorsPolicy]: Writable<K extends 'origins' ? JsonOrigins<CorsPolicy[K]> : CorsPolicy[K]> }

export type Checks = [
  // The exported name for the JSON part is the schema's static type.
  Expect<Equal<CorsPolicyJson, Json>>,
  // Same fields, the same one required.
  Expect<Equal<keyof CorsPolicy, keyof Json>>,
  Expect<Equal<RequiredKeys<CorsPolicy>, 'origins'>>,
  Expect<Equal<RequiredKeys<Json>, 'origins'>>,
  // Field by field, the same types.
  Expect<Equal<JsonPolicy['origins'], Json['origins']>>,
  Expect<Equal<JsonPolicy['credentials'], Json['credentials']>>,
  Expect<Equal<JsonPolicy['methods'], Json['methods']>>,
  Expect<Equal<JsonPolicy['allowHeaders'], Json['allowHeaders']>>,
  Expect<Equal<JsonPolicy['exposeHeaders'], Json['exposeHeaders']>>,
  Expect<Equal<JsonPolicy['maxAge'], Json['maxAge']>>
]

// A JSON policy (from a configuration file, checked with the schema) is a CorsPolicy...
declare const json: Json
export const asPolicy: CorsPolicy = json

// ...and a CorsPolicy with JSON origins is a JSON policy.
declare const jsonPolicy: JsonPolicy
export const asJson: Json = jsonPolicy

// RegExp and function origins are beyond the schema, and only there.
// @ts-expect-error a RegExp origin is not JSON
export const notJson: Json = { origins: /^https:\/\/app\.example\.com$/ }
// @ts-expect-error nor is a function
export const notJsonEither: Json = { origins: () => true }
