import { sql, type Kysely } from 'kysely';

/**
 * The pinned fingerprint of each Mini agent's TLS certificate (`sha256:<hex>`), which the control
 * plane compares on every connection to an https agent. Null for a plain-HTTP dev agent, and for
 * Minis registered before agents spoke TLS (they must be updated with one before an https URL).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE mac_minis ADD COLUMN agent_cert_fingerprint text`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE mac_minis DROP COLUMN agent_cert_fingerprint`.execute(db);
}
