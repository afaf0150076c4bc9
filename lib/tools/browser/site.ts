// Sites, as browsers compute them for cookies: the registrable domain of a host from the Public
// Suffix List, its private section included (alice.github.io and bob.github.io are two sites),
// with IP addresses, `localhost` and any host without a known suffix each a site of its own; and
// which URLs count as secure for Secure cookies. Grounding: RFC 6265bis "same-site", HTML "site",
// Secure Contexts "potentially trustworthy origin"; measured in Chromium and Firefox by
// test/browser/cookies.ts.
import { parse } from 'tldts'
import { isHttp } from './redirect.ts'

/** The registrable domain of a lower-case host name or IP address; the host itself when it has none. */
export function registrableDomain (host: string): string {
  const parsed = parse(host, { allowPrivateDomains: true })
  return parsed.isIp === true ? host : parsed.domain ?? host
}

/** Whether `domain` is a public suffix (`com`, `co.uk`, `github.io`, an unknown top-level label such as `test`). */
export function isPublicSuffix (domain: string): boolean {
  return parse(domain, { allowPrivateDomains: true }).publicSuffix === domain
}

export function isIpAddress (host: string): boolean {
  return parse(host).isIp === true
}

/**
 * Whether two URLs are same-site. `schemeful`: whether the scheme is part of the site (Chromium:
 * http://example.com and https://example.com are two sites; Firefox compares the domains only).
 */
export function isSameSite (a: URL, b: URL, schemeful: boolean): boolean {
  if (!isHttp(a) || !isHttp(b)) return false
  return registrableDomain(a.hostname) === registrableDomain(b.hostname) && (!schemeful || a.protocol === b.protocol)
}

/** A site for a sentence: `example.com`, or `https://example.com` when the scheme matters. */
export function siteName (url: URL, withScheme = false): string {
  return (withScheme ? `${url.protocol}//` : '') + registrableDomain(url.hostname)
}

/** Secure Contexts, "potentially trustworthy URL", for http(s): https, localhost and loopback addresses. */
export function isPotentiallyTrustworthy (url: URL): boolean {
  if (url.protocol === 'https:') return true
  if (url.protocol !== 'http:') return false
  const host = url.hostname
  return host === 'localhost' || host.endsWith('.localhost') || /^127(?:\.\d{1,3}){3}$/.test(host) || host === '[::1]'
}
