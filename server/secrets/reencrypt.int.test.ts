import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, testDrivers, type TestDatabase } from '../../tests/fixtures/db';
import { parseKeyRing } from './keyring';
import { SecretStore } from './secret-store';

const key = () => randomBytes(32).toString('base64');

for (const driver of testDrivers()) {
  describe(`key rotation on ${driver}`, () => {
    let database: TestDatabase;
    before(async () => {
      database = await createTestDatabase(driver);
    });
    after(async () => {
      await database?.close();
    });

    it('re-encrypts every secret under the active key; the old key can then leave the ring', async () => {
      const k1 = key();
      const k2 = key();
      const old = new SecretStore(database.db, parseKeyRing(`k1:${k1}`));
      for (let i = 0; i < 5; i++) await old.put(`s:${i}`, `value-${i}`);
      const rotated = new SecretStore(database.db, parseKeyRing(`k2:${k2},k1:${k1}`));
      await rotated.put('s:new', 'fresh');
      assert.deepEqual(await rotated.keyUsage(), { k1: 5, k2: 1 });
      assert.deepEqual(await rotated.reencryptAll(2), { reencrypted: 5, remaining: 0 });
      assert.deepEqual(await rotated.reencryptAll(), { reencrypted: 0, remaining: 0 }, 'idempotent');
      const only2 = new SecretStore(database.db, parseKeyRing(`k2:${k2}`));
      for (let i = 0; i < 5; i++) assert.equal(await only2.get(`s:${i}`), `value-${i}`);
      assert.equal(await only2.get('s:new'), 'fresh');
    });
  });
}
