import type { Kysely } from 'kysely';
import type { Database } from '../../db/types';
import { decryptSecret, encryptSecret, fingerprint, needsRotation, type parseKeyRing } from './keyring';

export type KeyRing = ReturnType<typeof parseKeyRing>;

/**
 * Secrets at rest: AES-256-GCM under the key ring's active key, bound to their name (the name is the
 * associated data, so a ciphertext moved to another row does not decrypt). Only the fingerprint is
 * ever shown or put in events.
 */
export class SecretStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly ring: KeyRing,
  ) {}

  async put(
    name: string,
    plaintext: string,
    db: Kysely<Database> = this.db,
  ): Promise<{ fingerprint: string }> {
    const ciphertext = encryptSecret(this.ring, plaintext, name);
    const fp = fingerprint(plaintext);
    await db
      .insertInto('secrets')
      .values({ name, ciphertext, fingerprint: fp })
      .onConflict((oc) =>
        oc.column('name').doUpdateSet({ ciphertext, fingerprint: fp, updated_at: new Date() }),
      )
      .execute();
    return { fingerprint: fp };
  }

  /** Stores the secret unless one of that name exists; true when this call stored it. */
  async putIfAbsent(name: string, plaintext: string): Promise<boolean> {
    const ciphertext = encryptSecret(this.ring, plaintext, name);
    const inserted = await this.db
      .insertInto('secrets')
      .values({ name, ciphertext, fingerprint: fingerprint(plaintext) })
      .onConflict((oc) => oc.column('name').doNothing())
      .returning('name')
      .executeTakeFirst();
    return inserted !== undefined;
  }

  async get(name: string): Promise<string | null> {
    const row = await this.db
      .selectFrom('secrets')
      .select('ciphertext')
      .where('name', '=', name)
      .executeTakeFirst();
    return row ? decryptSecret(this.ring, row.ciphertext, name) : null;
  }

  async delete(name: string): Promise<void> {
    await this.db.deleteFrom('secrets').where('name', '=', name).execute();
  }

  /** How many secrets each key id encrypts (`claws keys status`). */
  async keyUsage(): Promise<Record<string, number>> {
    const rows = await this.db.selectFrom('secrets').select('ciphertext').execute();
    const usage: Record<string, number> = {};
    for (const r of rows) {
      const id = r.ciphertext.split('.')[1] ?? '?';
      usage[id] = (usage[id] ?? 0) + 1;
    }
    return usage;
  }

  /**
   * Key rotation's second half: every secret not yet under the active key is decrypted with the
   * key it names and encrypted again under the active one. Each row is replaced only if it is
   * still the ciphertext that was read (a concurrent `put` wins), so it is safe while servers run;
   * run it again until `remaining` is 0, then the old key can leave the ring.
   */
  async reencryptAll(batchSize = 200): Promise<{ reencrypted: number; remaining: number }> {
    let reencrypted = 0;
    let after = '';
    for (;;) {
      const rows = await this.db
        .selectFrom('secrets')
        .select(['name', 'ciphertext'])
        .where('name', '>', after)
        .orderBy('name')
        .limit(batchSize)
        .execute();
      if (rows.length === 0) break;
      after = rows[rows.length - 1]!.name;
      for (const row of rows) {
        if (!needsRotation(this.ring, row.ciphertext)) continue;
        const plaintext = decryptSecret(this.ring, row.ciphertext, row.name);
        const r = await this.db
          .updateTable('secrets')
          .set({ ciphertext: encryptSecret(this.ring, plaintext, row.name), updated_at: new Date() })
          .where('name', '=', row.name)
          .where('ciphertext', '=', row.ciphertext)
          .executeTakeFirst();
        reencrypted += Number(r.numUpdatedRows);
      }
    }
    const usage = await this.keyUsage();
    const remaining = Object.entries(usage)
      .filter(([id]) => id !== this.ring.activeId)
      .reduce((n, [, c]) => n + c, 0);
    return { reencrypted, remaining };
  }
}

export const gatewayTokenSecret = (clawId: string) => `gateway-token:${clawId}`;
export const agentTokenSecret = (miniId: string) => `agent-token:${miniId}`;
export const DEVICE_KEY_SECRET = 'control-plane-device:ed25519';
