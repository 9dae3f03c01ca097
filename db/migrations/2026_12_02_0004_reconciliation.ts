import { sql, type Kysely } from 'kysely';

/**
 * What reconciliation needs in the read models: whether a claw's gateway may still run on its Mini
 * (from allocation until a stop was observed or given up), the ports of a Mini held by processes
 * Claws does not own, and since when a Mini has been offline (it is lost after a while).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE claws ADD COLUMN gateway_may_run boolean NOT NULL DEFAULT false`.execute(db);
  // Rows written before this column: a gateway may run where the claw holds a port and its start
  // was recorded (the rule this replaces); a rebuild computes it exactly from the log.
  await sql`UPDATE claws SET gateway_may_run = (mini_port IS NOT NULL AND agent_running)`.execute(db);
  await sql`ALTER TABLE mac_minis ADD COLUMN blocked_ports integer[] NOT NULL DEFAULT '{}'`.execute(db);
  await sql`ALTER TABLE mac_minis ADD COLUMN offline_since timestamptz`.execute(db);
  await sql`CREATE INDEX claws_mini ON claws (mini_id) WHERE mini_id IS NOT NULL`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX claws_mini`.execute(db);
  await sql`ALTER TABLE mac_minis DROP COLUMN offline_since`.execute(db);
  await sql`ALTER TABLE mac_minis DROP COLUMN blocked_ports`.execute(db);
  await sql`ALTER TABLE claws DROP COLUMN gateway_may_run`.execute(db);
}
