import { sql, type Kysely } from 'kysely';
import type { Database, EventRow } from '../db/types';
import type { Actor, RecordedEvent } from './types';

export function toRecorded(row: EventRow): RecordedEvent {
  return {
    type: row.event_type,
    data: row.data,
    globalPosition: Number(row.global_position),
    transactionId: String(row.transaction_id),
    streamId: row.stream_id,
    streamVersion: row.stream_version,
    eventId: row.event_id,
    actor: row.actor as Actor,
    correlationId: row.correlation_id,
    causationId: row.causation_id,
    createdAt: row.created_at,
  };
}

const eventColumns = [
  'global_position',
  'stream_id',
  'stream_version',
  'event_type',
  'event_id',
  'data',
  'schema_version',
  'actor',
  'correlation_id',
  'causation_id',
  'created_at',
] as const;

/** A stream's events in version order, optionally a version window (inclusive). */
export async function readStream(
  db: Kysely<Database>,
  streamId: string,
  range: { fromVersion?: number; toVersion?: number } = {},
): Promise<RecordedEvent[]> {
  let q = db
    .selectFrom('events')
    .select(eventColumns)
    .select(sql<string>`transaction_id::text`.as('transaction_id'))
    .where('stream_id', '=', streamId);
  if (range.fromVersion !== undefined) q = q.where('stream_version', '>=', range.fromVersion);
  if (range.toVersion !== undefined) q = q.where('stream_version', '<=', range.toVersion);
  const rows = await q.orderBy('stream_version').execute();
  return rows.map(toRecorded);
}

/** The id and correlation of a stream's newest event (what the next event it causes continues). */
export async function lastEventOf(
  db: Kysely<Database>,
  streamId: string,
): Promise<{ eventId: string; correlationId: string } | null> {
  const row = await db
    .selectFrom('events')
    .select(['event_id', 'correlation_id'])
    .where('stream_id', '=', streamId)
    .orderBy('stream_version', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? { eventId: row.event_id, correlationId: row.correlation_id } : null;
}

/**
 * A position in the global log that never moves backwards and never passes an event that could
 * still commit: `<transaction id>:<global position>` of the last event read.
 */
export type Checkpoint = string;
export const START: Checkpoint = '0:0';

export function parseCheckpoint(checkpoint: Checkpoint | null | undefined): { tx: string; pos: number } {
  const m = /^(\d{1,20}):(\d{1,18})$/.exec(checkpoint ?? START);
  if (!m) throw new Error(`Invalid checkpoint: ${checkpoint}`);
  return { tx: m[1]!, pos: Number(m[2]) };
}
export const checkpointOf = (e: Pick<RecordedEvent, 'transactionId' | 'globalPosition'>): Checkpoint =>
  `${e.transactionId}:${e.globalPosition}`;

/**
 * Events after `after`, in commit-safe global order. Only transactions older than the oldest one
 * still in flight are visible, so an event whose transaction commits late is never skipped: it is
 * simply not returned until everything before it has settled (Emmett's and Marten's technique).
 * Must run outside a write transaction.
 */
export async function readAll(
  db: Kysely<Database>,
  after: Checkpoint | null,
  limit: number,
): Promise<{ events: RecordedEvent[]; checkpoint: Checkpoint }> {
  const { tx, pos } = parseCheckpoint(after);
  const rows = await db
    .selectFrom('events')
    .select(eventColumns)
    .select(sql<string>`transaction_id::text`.as('transaction_id'))
    .where(sql<boolean>`(transaction_id, global_position) > (${tx}::xid8, ${pos}::bigint)`)
    .where(sql<boolean>`transaction_id < pg_snapshot_xmin(pg_current_snapshot())`)
    .orderBy(sql`transaction_id`)
    .orderBy('global_position')
    .limit(limit)
    .execute();
  const events = rows.map(toRecorded);
  const last = events[events.length - 1];
  return { events, checkpoint: last ? checkpointOf(last) : (after ?? START) };
}

/** The checkpoint of the newest settled event: where a live reader that wants only news starts. */
export async function headCheckpoint(db: Kysely<Database>): Promise<Checkpoint> {
  const row = await db
    .selectFrom('events')
    .select(['global_position'])
    .select(sql<string>`transaction_id::text`.as('transaction_id'))
    .where(sql<boolean>`transaction_id < pg_snapshot_xmin(pg_current_snapshot())`)
    .orderBy(sql`transaction_id`, 'desc')
    .orderBy('global_position', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? `${row.transaction_id}:${row.global_position}` : START;
}
