import type { Kysely } from 'kysely';
import type { Database } from '../../db/types';
import { decryptSecret, encryptSecret, fingerprint, type parseKeyRing } from './keyring';

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
}

export const gatewayTokenSecret = (clawId: string) => `gateway-token:${clawId}`;
export const agentTokenSecret = (miniId: string) => `agent-token:${miniId}`;
export const DEVICE_KEY_SECRET = 'control-plane-device:ed25519';
