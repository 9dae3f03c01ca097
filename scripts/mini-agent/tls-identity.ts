import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { certFingerprint } from '../../server/fleet/agent-tls';
import { selfSignedCertificate } from './x509';

/**
 * The agent's TLS identity: an ECDSA P-256 key and a self-signed certificate, generated on first
 * start into <stateDir>/tls (0700; both files 0600) and then kept. The control plane pins the
 * certificate's fingerprint when the Mini is registered, so the pair must stay the same across
 * restarts and upgrades; re-keying is deliberate (delete both files, start, update the Mini's
 * fingerprint). The certificate's names and dates are informative only: the pin is the identity.
 */

export interface AgentTlsIdentity {
  keyPem: string;
  certPem: string;
  /** `sha256:<hex>`, as registration takes it. */
  fingerprint: string;
  /** Whether this call generated the pair (first start). */
  created: boolean;
}

export class TlsIdentityError extends Error {
  override name = 'TlsIdentityError';
}

export const tlsDir = (stateDir: string) => path.join(stateDir, 'tls');

/** Long-lived on purpose: an expiring pinned certificate would only force a re-key for nothing. */
const VALID_YEARS = 20;

export function loadOrCreateTlsIdentity(stateDir: string): AgentTlsIdentity {
  const dir = tlsDir(stateDir);
  const keyFile = path.join(dir, 'agent.key.pem');
  const certFile = path.join(dir, 'agent.cert.pem');
  const hasKey = fs.existsSync(keyFile);
  const hasCert = fs.existsSync(certFile);
  if (hasKey !== hasCert)
    // Never silently re-key: that would break the pin without anyone deciding to.
    throw new TlsIdentityError(
      `${hasKey ? certFile : keyFile} is missing but ${hasKey ? keyFile : certFile} exists; ` +
        `restore it, or delete both to generate a new key (then update the Mini's fingerprint)`,
    );
  if (!hasKey) return { ...create(dir, keyFile, certFile), created: true };

  for (const file of [keyFile, certFile]) {
    const mode = fs.statSync(file).mode & 0o777;
    if (mode & 0o077) fs.chmodSync(file, 0o600); // tighten what a copy or an editor loosened
  }
  const keyPem = fs.readFileSync(keyFile, 'utf8');
  const certPem = fs.readFileSync(certFile, 'utf8');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) throw new Error('the key does not match it');
  } catch (err) {
    throw new TlsIdentityError(
      `${certFile} is not a certificate for ${keyFile} (${err instanceof Error ? err.message : String(err)})`,
    );
  }
  return { keyPem, certPem, fingerprint: certFingerprint(cert.raw), created: false };
}

function create(dir: string, keyFile: string, certFile: string): Omit<AgentTlsIdentity, 'created'> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const host = os.hostname();
  const now = new Date();
  const certPem = selfSignedCertificate({
    privateKey,
    commonName: `Claws Mini agent ${host}`.slice(0, 64),
    altNames: [...new Set(['localhost', host, '127.0.0.1', '::1'])],
    notBefore: new Date(now.getTime() - 60_000), // a Mini whose clock is a little behind
    notAfter: new Date(now.getTime() + VALID_YEARS * 365 * 24 * 3600_000),
  });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  // The key first and the certificate last: a crash in between leaves a pair that refuses to load
  // (see above) rather than a certificate without its key.
  writePrivate(keyFile, keyPem);
  writePrivate(certFile, certPem);
  return { keyPem, certPem, fingerprint: certFingerprint(new X509Certificate(certPem).raw) };
}

function writePrivate(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.renameSync(tmp, file);
}
