import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  decryptSecret,
  encryptSecret,
  fingerprint,
  generateSecretToken,
  needsRotation,
  parseKeyRing,
} from './keyring';
import { loadOrCreateLocalKeyRing } from './local-keyring';

const key = () => randomBytes(32).toString('base64');

describe('key ring', () => {
  it('round-trips, binds to its purpose, and detects tampering', () => {
    const ring = parseKeyRing(`k1:${key()}`);
    const blob = encryptSecret(ring, 'gateway-token-value', 'gateway-token:a');
    assert.ok(!blob.includes('gateway-token-value'));
    assert.equal(decryptSecret(ring, blob, 'gateway-token:a'), 'gateway-token-value');
    assert.throws(() => decryptSecret(ring, blob, 'gateway-token:b'), /does not decrypt/);
    const parts = blob.split('.');
    parts[4] = Buffer.from('tampered').toString('base64url');
    assert.throws(() => decryptSecret(ring, parts.join('.'), 'gateway-token:a'), /does not decrypt/);
  });

  it('rotates: old blobs still decrypt, new ones use the first key', () => {
    const k1 = key();
    const old = encryptSecret(parseKeyRing(`k1:${k1}`), 's', 'x');
    const ring = parseKeyRing(`k2:${key()},k1:${k1}`);
    assert.equal(decryptSecret(ring, old, 'x'), 's');
    assert.equal(needsRotation(ring, old), true);
    assert.equal(encryptSecret(ring, 's', 'x').split('.')[1], 'k2');
    assert.throws(
      () => decryptSecret(parseKeyRing(`k3:${key()}`), old, 'x'),
      /key k1, which is not in the key ring/,
    );
  });

  it('refuses bad specs clearly', () => {
    assert.throws(() => parseKeyRing(''), /empty/);
    assert.throws(() => parseKeyRing(`k1:${randomBytes(16).toString('base64')}`), /must be 32 bytes/);
    assert.throws(() => parseKeyRing('nokey'), /<id>:<base64 key>/);
    assert.throws(() => parseKeyRing(`k1:${key()},k1:${key()}`), /twice/);
  });

  it('fingerprints without revealing, and generates random tokens', () => {
    const t = generateSecretToken();
    assert.ok(t.length >= 43);
    assert.notEqual(generateSecretToken(), t);
    assert.equal(fingerprint(t), fingerprint(t));
    assert.match(fingerprint(t), /^fp_[0-9a-f]{16}$/);
    assert.ok(!fingerprint(t).includes(t.slice(0, 8)));
  });

  it('creates a local key once, private to its owner, and reuses it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'claws-keys-'));
    const a = loadOrCreateLocalKeyRing(dir);
    const b = loadOrCreateLocalKeyRing(dir);
    assert.equal(decryptSecret(b, encryptSecret(a, 'v', 'p'), 'p'), 'v');
    assert.equal(fs.statSync(path.join(dir, 'keys', 'secret-keyring')).mode & 0o777, 0o600);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
