import { sql, type Kysely } from 'kysely';

/** When a claw's gateway last exited on its own (GatewayExited): the reconciler records each exit once. */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE claws ADD COLUMN last_exit_at timestamptz`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE claws DROP COLUMN last_exit_at`.execute(db);
}
