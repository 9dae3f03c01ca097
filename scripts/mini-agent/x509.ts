import { createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import net from 'node:net';

/**
 * A self-signed X.509 v3 certificate for an ECDSA P-256 key, DER-encoded by hand.
 *
 * Why not a library: the one shape the agent needs (self-signed, one CN, subjectAltNames, a
 * serverAuth leaf) is a hundred lines of DER over node:crypto, which signs and parses; the
 * maintained pure-JS generators pull in ~20 packages and a global Reflect polyfill, and the agent
 * must run on a bare Mac with nothing but Node and its own few dependencies. Node's own
 * X509Certificate reads the result back in the tests, and the TLS tests handshake with it.
 */

// ─── DER ────────────────────────────────────────────────────────────────────────────────────────

function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let length: Buffer;
  if (n < 0x80) length = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    length = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), length, content]);
}

const seq = (...parts: Buffer[]) => tlv(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]) => tlv(0x31, Buffer.concat(parts));
const explicit = (n: number, inner: Buffer) => tlv(0xa0 + n, inner);
const octets = (b: Buffer) => tlv(0x04, b);
const bits = (b: Buffer, unused = 0) => tlv(0x03, Buffer.concat([Buffer.from([unused]), b]));
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const TRUE = tlv(0x01, Buffer.from([0xff]));

/** A non-negative INTEGER from big-endian bytes (a leading 0x00 keeps the sign bit clear). */
function integer(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0 && b[i + 1]! < 0x80) i++;
  const v = b.subarray(i);
  return tlv(0x02, v[0]! >= 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [a! * 40 + b!];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** UTCTime until 2049, GeneralizedTime after (RFC 5280 §4.1.2.5). */
function time(d: Date): Buffer {
  const iso = d
    .toISOString()
    .replace(/\.\d{3}/, '')
    .replace(/[-:T]/g, ''); // YYYYMMDDHHMMSSZ
  return d.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(iso.slice(2), 'ascii'))
    : tlv(0x18, Buffer.from(iso, 'ascii'));
}

// ─── The certificate ────────────────────────────────────────────────────────────────────────────

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  serverAuth: '1.3.6.1.5.5.7.3.1',
};

const extension = (id: string, critical: boolean, value: Buffer) =>
  seq(oid(id), ...(critical ? [TRUE] : []), octets(value));

function altName(name: string): Buffer {
  const bare = name.replace(/^\[|\]$/g, '');
  if (net.isIPv4(bare)) return tlv(0x87, Buffer.from(bare.split('.').map(Number)));
  if (net.isIPv6(bare)) return tlv(0x87, ipv6Bytes(bare));
  return tlv(0x82, Buffer.from(name, 'ascii')); // dNSName
}

function ipv6Bytes(addr: string): Buffer {
  const [head, tail] = addr.includes('::') ? addr.split('::') : [addr, undefined];
  const parts = (s: string | undefined) => (s ? s.split(':') : []);
  const h = parts(head);
  const t = parts(tail);
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return Buffer.from(groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]));
}

export interface SelfSignedOptions {
  /** An ECDSA P-256 private key. */
  privateKey: KeyObject;
  commonName: string;
  /** DNS names and IP addresses the certificate names (informative: the control plane pins it). */
  altNames: string[];
  notBefore: Date;
  notAfter: Date;
}

/** The PEM text of a self-signed serverAuth certificate for `privateKey`. */
export function selfSignedCertificate(o: SelfSignedOptions): string {
  const spki = createPublicKey(o.privateKey).export({ type: 'spki', format: 'der' });
  const algorithm = seq(oid(OID.ecdsaWithSha256));
  const name = seq(set(seq(oid(OID.commonName), utf8(o.commonName))));
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const extensions = seq(
    extension(OID.basicConstraints, true, seq()),
    // digitalSignature only: an ECDHE-ECDSA server signs the handshake and does nothing else.
    extension(OID.keyUsage, true, bits(Buffer.from([0x80]), 7)),
    extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth))),
    ...(o.altNames.length ? [extension(OID.subjectAltName, false, seq(...o.altNames.map(altName)))] : []),
  );
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))), // v3
    integer(serial),
    algorithm,
    name,
    seq(time(o.notBefore), time(o.notAfter)),
    name,
    spki,
    explicit(3, extensions),
  );
  const signature = sign('sha256', tbs, o.privateKey); // DER-encoded ECDSA-Sig-Value
  const der = seq(tbs, algorithm, bits(signature));
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN CERTIFICATE-----\n${b64.replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}
