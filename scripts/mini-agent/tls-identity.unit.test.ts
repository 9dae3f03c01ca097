import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { certFingerprint } from '../../server/fleet/agent-tls';
import { loadOrCreateTlsIdentity, TlsIdentityError, tlsDir } from './tls-identity';

const dirs: string[] = [];
const stateDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'claws-tls-'));
  dirs.push(d);
  return d;
};
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

describe("the agent's TLS identity", () => {
  it('is generated once (0700 dir, 0600 files) and then loaded as it is', () => {
    const dir = stateDir();
    const first = loadOrCreateTlsIdentity(dir);
    assert.equal(first.created, true);
    assert.equal(fs.statSync(tlsDir(dir)).mode & 0o777, 0o700);
    for (const f of fs.readdirSync(tlsDir(dir)))
      assert.equal(fs.statSync(path.join(tlsDir(dir), f)).mode & 0o777, 0o600, f);
    const again = loadOrCreateTlsIdentity(dir);
    assert.equal(again.created, false);
    assert.equal(again.fingerprint, first.fingerprint);
    assert.equal(again.certPem, first.certPem);
  });

  it('is a certificate Node and OpenSSL read: ECDSA P-256, self-signed, serverAuth, the key it holds', () => {
    const id = loadOrCreateTlsIdentity(stateDir());
    const cert = new X509Certificate(id.certPem);
    assert.equal(certFingerprint(cert.raw), id.fingerprint);
    assert.equal(cert.fingerprint256.replaceAll(':', '').toLowerCase(), id.fingerprint.slice(7));
    assert.ok(cert.verify(cert.publicKey), 'self-signed');
    assert.ok(cert.checkPrivateKey(createPrivateKey(id.keyPem)));
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.equal(cert.ca, false);
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']);
    assert.match(cert.subjectAltName ?? '', /DNS:localhost.*IP Address:127\.0\.0\.1/);
    assert.ok(new Date(cert.validTo).getTime() > Date.now() + 10 * 365 * 24 * 3600_000);
    assert.ok(cert.checkIP('127.0.0.1'));
  });

  it('tightens loosened permissions, and never re-keys by itself', () => {
    const dir = stateDir();
    const { fingerprint } = loadOrCreateTlsIdentity(dir);
    const key = path.join(tlsDir(dir), 'agent.key.pem');
    fs.chmodSync(key, 0o644);
    assert.equal(loadOrCreateTlsIdentity(dir).fingerprint, fingerprint);
    assert.equal(fs.statSync(key).mode & 0o777, 0o600);

    // Another pair's certificate beside this key: refused, not replaced.
    const other = loadOrCreateTlsIdentity(stateDir());
    fs.writeFileSync(path.join(tlsDir(dir), 'agent.cert.pem'), other.certPem);
    assert.throws(() => loadOrCreateTlsIdentity(dir), TlsIdentityError);
    fs.rmSync(path.join(tlsDir(dir), 'agent.cert.pem'));
    assert.throws(
      () => loadOrCreateTlsIdentity(dir),
      /agent\.cert\.pem is missing but .*agent\.key\.pem exists/,
    );
    assert.ok(fs.existsSync(key), 'the key is left alone');
  });
});
