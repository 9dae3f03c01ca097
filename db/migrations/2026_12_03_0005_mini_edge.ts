import { sql, type Kysely } from 'kysely';

/**
 * A Mini's edge and port blocks: where its host-routing edge listens (direct mode dials it; null
 * for a Mini without one), and how many consecutive ports each claw's gateway takes (the real
 * OpenClaw gateway derives its browser ports from its own, server/fleet/placement.ts).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE mac_minis ADD COLUMN edge_port integer`.execute(db);
  await sql`ALTER TABLE mac_minis ADD COLUMN port_stride integer NOT NULL DEFAULT 1`.execute(db);
  await sql`ALTER TABLE mac_minis ADD CONSTRAINT mac_minis_port_stride CHECK (port_stride >= 1)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE mac_minis DROP COLUMN port_stride`.execute(db);
  await sql`ALTER TABLE mac_minis DROP COLUMN edge_port`.execute(db);
}
