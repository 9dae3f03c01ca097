import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LocalUrlSigner, type SignedScope } from './local-signing';

const scope: SignedScope = {
  method: 'PUT',
  bucket: 'claws-abc',
  key: 'backups/a.tar',
  expires: 1_900_000_000,
};

describe('local URL signatures', () => {
  it('verifies its own signature, hex, for exactly the scope it signed', () => {
    const signer = new LocalUrlSigner();
    const sig = signer.sign(scope);
    assert.match(sig, /^[0-9a-f]{64}$/);
    assert.equal(signer.verify(scope, sig), true);
    assert.equal(signer.verify({ ...scope, method: 'GET' }, sig), false);
    assert.equal(signer.verify({ ...scope, bucket: 'claws-abd' }, sig), false);
    assert.equal(signer.verify({ ...scope, key: 'backups/b.tar' }, sig), false);
    assert.equal(signer.verify({ ...scope, expires: scope.expires + 1 }, sig), false);
  });

  it('refuses a tampered, truncated or malformed signature without throwing', () => {
    const signer = new LocalUrlSigner();
    const sig = signer.sign(scope);
    const flipped = sig.slice(0, -1) + (sig.endsWith('0') ? '1' : '0');
    for (const bad of [flipped, sig.slice(0, 62), `${sig}00`, sig.toUpperCase(), '', 'zz'.repeat(32)])
      assert.equal(signer.verify(scope, bad), false, bad);
  });

  it('keys each instance randomly: one store cannot vouch for another', () => {
    assert.notEqual(new LocalUrlSigner().sign(scope), new LocalUrlSigner().sign(scope));
    assert.equal(new LocalUrlSigner().verify(scope, new LocalUrlSigner().sign(scope)), false);
  });
});
