import { sql, type Kysely, type Selectable } from 'kysely';
import type { ClawBackupsTable, Database } from '../db/types';
import type { ClawEvent, ClawEventOf } from '../events/claw';
import type { EventProjection } from '../events/projection';
import { streamEntityId } from '../events/stream';
import type { Envelope } from '../events/types';

/**
 * The `claw_backups` read model: the backups each claw's bucket holds, one row per backup, added by
 * ClawBackupTaken and removed by ClawBackupPruned in the same append; then every query of it.
 */

export interface ClawBackup {
  backupId: string;
  clawId: string;
  objectKey: string;
  bytes: number;
  sha256: string;
  kind: ClawBackupsTable['kind'];
  takenAt: Date;
}

type Taken = ClawEventOf<'ClawBackupTaken'>;
type Pruned = ClawEventOf<'ClawBackupPruned'>;
type BackupEvent = Taken | Pruned;

const rowOf = (clawId: string, d: Taken['data']): Selectable<ClawBackupsTable> => ({
  backup_id: d.backupId,
  claw_id: clawId,
  object_key: d.objectKey,
  bytes: d.bytes,
  sha256: d.sha256,
  kind: d.kind,
  taken_at: new Date(d.takenAt),
});

export const clawBackupsProjection: EventProjection<ClawEvent, Map<string, Selectable<ClawBackupsTable>>> = {
  kind: 'events',
  name: 'claw-backups',
  eventTypes: ['ClawBackupTaken', 'ClawBackupPruned'],
  write(events, streamId) {
    const handled = events as readonly Envelope<BackupEvent>[];
    const taken = handled.filter((e): e is Envelope<Taken> => e.type === 'ClawBackupTaken');
    const pruned = handled.filter((e): e is Envelope<Pruned> => e.type === 'ClawBackupPruned');
    if (taken.length && pruned.length) throw new Error('Backups are taken and pruned in separate appends');
    if (taken.length) {
      const clawId = streamEntityId(streamId);
      const rows = taken.map((e) => rowOf(clawId, e.data));
      return {
        sql: sql`INSERT INTO claw_backups (backup_id, claw_id, object_key, bytes, sha256, kind, taken_at)
                 VALUES ${sql.join(
                   rows.map(
                     (r) =>
                       sql`(${r.backup_id}::uuid, ${r.claw_id}::uuid, ${r.object_key}, ${r.bytes}::bigint, ${r.sha256}, ${r.kind}, ${r.taken_at}::timestamptz)`,
                   ),
                 )}
                 RETURNING 1`,
        rows: rows.length,
        mismatch: 'a backup was already recorded',
      };
    }
    if (!pruned.length) return null;
    return {
      // A backup pruned twice (a retried retention round) touches no row: the count is not checked.
      sql: sql`DELETE FROM claw_backups WHERE backup_id IN (${sql.join(pruned.map((e) => sql`${e.data.backupId}::uuid`))})
               RETURNING 1`,
      rows: null,
      mismatch: '',
    };
  },
  initial: () => new Map(),
  fold(acc, e, streamId) {
    if (e.type === 'ClawBackupTaken') acc.set(e.data.backupId, rowOf(streamEntityId(streamId), e.data));
    else if (e.type === 'ClawBackupPruned') acc.delete(e.data.backupId);
  },
  async flush(db, acc) {
    await sql`DELETE FROM claw_backups`.execute(db);
    const rows = [...acc.values()];
    for (let i = 0; i < rows.length; i += 1000)
      await db
        .insertInto('claw_backups')
        .values(rows.slice(i, i + 1000))
        .execute();
  },
};

// ─── Queries ───────────────────────────────────────────────────────────────────────────────────

const toBackup = (r: Selectable<ClawBackupsTable>): ClawBackup => ({
  backupId: r.backup_id,
  clawId: r.claw_id,
  objectKey: r.object_key,
  bytes: Number(r.bytes),
  sha256: r.sha256,
  kind: r.kind,
  takenAt: r.taken_at,
});

/** A claw's backups, newest first. */
export async function backupsOfClaw(db: Kysely<Database>, clawId: string): Promise<ClawBackup[]> {
  const rows = await db
    .selectFrom('claw_backups')
    .selectAll()
    .where('claw_id', '=', clawId)
    .orderBy('taken_at', 'desc')
    .execute();
  return rows.map(toBackup);
}

/** One backup by id (null: no such backup, or pruned). */
export async function backupById(db: Kysely<Database>, backupId: string): Promise<ClawBackup | null> {
  const row = await db
    .selectFrom('claw_backups')
    .selectAll()
    .where('backup_id', '=', backupId)
    .executeTakeFirst();
  return row ? toBackup(row) : null;
}
