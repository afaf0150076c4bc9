// A self-signed TLS certificate made on the spot with node:crypto, for the HTTPS origins of the
// tests: an ECDSA P-256 key, and an X.509 v3 certificate for the given host names and IP
// addresses, written in DER by hand (node:crypto signs and parses certificates but does not build
// them). Each browser is told to accept it through its automation options (Chromium by the hash
// of its public key, Firefox by accepting insecure certificates); Node's clients trust it through
// NODE_EXTRA_CA_CERTS, or the `ca` option.
import { createHash, generateKeyPairSync, sign, X509Certificate } from 'node:crypto'
import { isIP } from 'node:net'

export interface TestCertificate {
  /** The certificate, PEM. */
  cert: string
  /** Its private key, PEM (PKCS #8). */
  key: string
  /** base64 SHA-256 of its SubjectPublicKeyInfo: what Chromium's --ignore-certificate-errors-spki-list takes. */
  spki: string
  /** The names and addresses it is valid for. */
  hosts: readonly string[]
}

function length (n: number): Buffer {
  if (n < 0x80) return Buffer.from([n])
  const bytes: number[] = []
  for (let rest = n; rest > 0; rest >>= 8) bytes.unshift(rest & 0xff)
  return Buffer.from([0x80 | bytes.length, ...bytes])
}

const tlv = (tag: number, ...content: Buffer[]): Buffer => {
  const body = Buffer.concat(content)
  return Buffer.concat([Buffer.from([tag]), length(body.length), body])
}
const sequence = (...items: Buffer[]): Buffer => tlv(0x30, ...items)
const set = (...items: Buffer[]): Buffer => tlv(0x31, ...items)

function oid (dotted: string): Buffer {
  const [first, second, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]]
  const bytes = [first * 40 + second]
  for (const arc of rest) {
    const base128 = [arc & 0x7f]
    for (let value = arc >> 7; value > 0; value >>= 7) base128.unshift(0x80 | (value & 0x7f))
    bytes.push(...base128)
  }
  return tlv(0x06, Buffer.from(bytes))
}

function integer (bytes: Buffer): Buffer {
  // DER integers are signed: a leading bit set needs a zero byte in front.
  return tlv(0x02, bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes)
}

function time (date: Date): Buffer {
  const text = date.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z'
  return tlv(0x17, Buffer.from(text, 'ascii'))
}

function ipBytes (address: string): Buffer {
  if (isIP(address) === 4) return Buffer.from(address.split('.').map(Number))
  throw new TypeError(`test certificate: only IPv4 addresses are supported, not ${address}`)
}

const ECDSA_WITH_SHA256 = sequence(oid('1.2.840.10045.4.3.2'))

/** A certificate valid from an hour ago for a day, for these host names and IPv4 addresses. */
export function makeTestCertificate (hosts: readonly string[], commonName = 'fastify-cors-policy test'): TestCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const spkiDer = publicKey.export({ type: 'spki', format: 'der' })
  const name = sequence(set(sequence(oid('2.5.4.3'), tlv(0x0c, Buffer.from(commonName, 'utf8')))))
  const now = Date.now()
  const altNames = hosts.map((host) => isIP(host) === 0 ? tlv(0x82, Buffer.from(host, 'ascii')) : tlv(0x87, ipBytes(host)))
  const extension = (id: string, critical: boolean, value: Buffer): Buffer =>
    sequence(oid(id), ...(critical ? [tlv(0x01, Buffer.from([0xff]))] : []), tlv(0x04, value))
  const extensions = tlv(0xa3, sequence(
    // basicConstraints: not a CA.
    extension('2.5.29.19', true, sequence()),
    // keyUsage: digitalSignature.
    extension('2.5.29.15', true, tlv(0x03, Buffer.from([0x07, 0x80]))),
    // extKeyUsage: serverAuth.
    extension('2.5.29.37', false, sequence(oid('1.3.6.1.5.5.7.3.1'))),
    // subjectAltName.
    extension('2.5.29.17', false, sequence(...altNames))
  ))
  const serial = createHash('sha256').update(spkiDer).digest().subarray(0, 16)
  serial[0]! &= 0x7f
  const tbs = sequence(
    tlv(0xa0, integer(Buffer.from([2]))),
    integer(serial),
    ECDSA_WITH_SHA256,
    name,
    sequence(time(new Date(now - 3_600_000)), time(new Date(now + 86_400_000))),
    name,
    spkiDer,
    extensions
  )
  const signature = sign('sha256', tbs, privateKey)
  const der = sequence(tbs, ECDSA_WITH_SHA256, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])))
  const cert = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`
  // Parsing it back proves the DER is well formed and the signature verifies.
  const parsed = new X509Certificate(cert)
  if (!parsed.verify(publicKey)) throw new Error('test certificate: the signature does not verify')
  return {
    cert,
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    spki: createHash('sha256').update(spkiDer).digest('base64'),
    hosts,
  }
}
