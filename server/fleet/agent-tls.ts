import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * How the control plane knows it talks to the right Mini agent: each agent serves HTTPS with a
 * certificate it generated itself (scripts/mini-agent/tls-identity.ts), and registering the Mini
 * pins that certificate's SHA-256 fingerprint. The agent prints it; the control plane compares it
 * on every connection (agent-client.ts). Both sides use this module, so it imports nothing but
 * node:crypto and zod (the agent runs without the control plane).
 *
 * The canonical form is `sha256:<64 lowercase hex digits>`; operators may paste it as printed by
 * `openssl x509 -noout -fingerprint -sha256` (`AB:CD:…`, with or without `SHA256 Fingerprint=`).
 */

export const FINGERPRINT_PREFIX = 'sha256:';

/** Any of the accepted spellings → the canonical `sha256:<hex>`; undefined if it is none of them. */
export function normalizeFingerprint(value: string): string | undefined {
  const v = value
    .trim()
    .replace(/^sha-?256(\s+fingerprint)?\s*[:=]\s*/i, '')
    .toLowerCase();
  const hex = /^[0-9a-f]{2}(:[0-9a-f]{2}){31}$/.test(v) ? v.replaceAll(':', '') : v;
  return /^[0-9a-f]{64}$/.test(hex) ? `${FINGERPRINT_PREFIX}${hex}` : undefined;
}

/** A certificate fingerprint as input (any accepted spelling), parsed to its canonical form. */
export const CertFingerprint = z.string().transform((v, ctx) => {
  const fp = normalizeFingerprint(v);
  if (fp) return fp;
  ctx.addIssue({
    code: 'custom',
    message: 'must be a SHA-256 certificate fingerprint: sha256:<64 hex digits> or AB:CD:… (32 pairs)',
  });
  return z.NEVER;
});

/** The canonical fingerprint of a DER-encoded certificate. */
export function certFingerprint(der: Uint8Array): string {
  return `${FINGERPRINT_PREFIX}${createHash('sha256').update(der).digest('hex')}`;
}

/** The DER bytes of the first certificate in a PEM text. */
export function pemToDer(pem: string): Buffer {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem);
  if (!m) throw new Error('no PEM certificate found');
  return Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
}
