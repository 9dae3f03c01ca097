import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashPassword, needsRehash, SCRYPT_PARAMS, verifyPassword } from './passwords';

describe('password hashing (scrypt)', () => {
  it('stores scheme, parameters, salt and key in one string', async () => {
    const h = await hashPassword('correct horse battery staple');
    const [scheme, N, r, p, salt, key] = h.split('$');
    assert.equal(scheme, 'scrypt');
    assert.deepEqual([Number(N), Number(r), Number(p)], [SCRYPT_PARAMS.N, SCRYPT_PARAMS.r, SCRYPT_PARAMS.p]);
    assert.equal(Buffer.from(salt!, 'base64url').length, 16);
    assert.equal(Buffer.from(key!, 'base64url').length, 32);
    assert.doesNotMatch(h, /correct horse/);
  });

  it('verifies the right password and refuses a wrong one', async () => {
    const h = await hashPassword('s3cret-password');
    assert.equal(await verifyPassword('s3cret-password', h), true);
    assert.equal(await verifyPassword('s3cret-passwore', h), false);
    assert.equal(await verifyPassword('', h), false);
    assert.equal(await verifyPassword('S3CRET-PASSWORD', h), false);
  });

  it('salts per hash: the same password never hashes the same', async () => {
    const [a, b] = await Promise.all([hashPassword('same'), hashPassword('same')]);
    assert.notEqual(a, b);
    assert.equal(await verifyPassword('same', a), true);
    assert.equal(await verifyPassword('same', b), true);
  });

  it('handles unicode and long passwords', async () => {
    const pw = 'pässwörd-中文-🔑'.repeat(10);
    const h = await hashPassword(pw);
    assert.equal(await verifyPassword(pw, h), true);
    assert.equal(await verifyPassword(pw.normalize('NFD'), h), false, 'bytes, not looks, are compared');
  });

  it('reads the parameters from the stored hash (older, cheaper hashes still verify)', async () => {
    const { scryptSync, randomBytes } = await import('node:crypto');
    const salt = randomBytes(16);
    const key = scryptSync('legacy', salt, 32, { N: 1024, r: 8, p: 1 });
    const legacy = ['scrypt', 1024, 8, 1, salt.toString('base64url'), key.toString('base64url')].join('$');
    assert.equal(await verifyPassword('legacy', legacy), true);
    assert.equal(await verifyPassword('other', legacy), false);
    assert.equal(needsRehash(legacy), true);
    assert.equal(needsRehash(await hashPassword('x')), false);
  });

  it('never matches (and never throws on) a malformed or hostile hash', async () => {
    const good = await hashPassword('pw');
    const [, , , , salt, key] = good.split('$');
    for (const bad of [
      '',
      'plaintext',
      'scrypt$',
      `bcrypt$16384$8$1$${salt}$${key}`,
      `scrypt$abc$8$1$${salt}$${key}`,
      `scrypt$16383$8$1$${salt}$${key}`, // not a power of two
      `scrypt$1073741824$8$1$${salt}$${key}`, // would eat the CPU and memory
      `scrypt$16384$0$1$${salt}$${key}`,
      `scrypt$16384$8$99$${salt}$${key}`,
      `scrypt$16384$8$1$$${key}`,
      `scrypt$16384$8$1$${salt}$`,
      `scrypt$16384$8$1$${salt}$${key}$extra`,
    ])
      assert.equal(await verifyPassword('pw', bad), false, bad);
  });
});
