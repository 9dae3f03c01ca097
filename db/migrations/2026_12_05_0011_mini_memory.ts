import { sql, type Kysely } from 'kysely';

/** A Mini's memory (its agent reports it) and what each claw is given there: placement weighs both. */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE mac_minis ADD COLUMN memory_mb integer, ADD COLUMN claw_memory_mb integer`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE mac_minis DROP COLUMN memory_mb, DROP COLUMN claw_memory_mb`.execute(db);
}
