import { sql, type Kysely } from 'kysely';

/**
 * Backups: when a claw's last backup was taken (the scheduler's queue, the page's "overdue"), the
 * restore a claw is going through, and the backups its bucket holds (claw_backups, kept by
 * ClawBackupTaken and ClawBackupPruned; a rebuild writes it from the log).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE claws ADD COLUMN last_backup_at timestamptz`.execute(db);
  await sql`ALTER TABLE claws ADD COLUMN restore_backup_id uuid`.execute(db);
  await sql`ALTER TABLE claws ADD COLUMN restore_resumes boolean NOT NULL DEFAULT false`.execute(db);
  await sql`
    CREATE TABLE claw_backups (
      backup_id uuid PRIMARY KEY,
      claw_id uuid NOT NULL,
      object_key text NOT NULL,
      bytes bigint NOT NULL CHECK (bytes >= 0),
      sha256 text NOT NULL,
      kind text NOT NULL,
      taken_at timestamptz NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX claw_backups_by_claw ON claw_backups (claw_id, taken_at DESC)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE claw_backups`.execute(db);
  await sql`ALTER TABLE claws DROP COLUMN restore_resumes`.execute(db);
  await sql`ALTER TABLE claws DROP COLUMN restore_backup_id`.execute(db);
  await sql`ALTER TABLE claws DROP COLUMN last_backup_at`.execute(db);
}
