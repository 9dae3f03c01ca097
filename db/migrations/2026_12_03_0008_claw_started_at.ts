import { sql, type Kysely } from 'kysely';

/**
 * When a stopped claw was last asked to start again (ClawStartRequested): its warm-up is counted
 * from there, not from its creation. Null for a claw that was never stopped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE claws ADD COLUMN started_at timestamptz`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE claws DROP COLUMN started_at`.execute(db);
}
