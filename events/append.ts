import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { PREPARED } from '../db/client';
import type { Database } from '../db/types';
import { ConcurrencyError, classifyAppendError } from './errors';
import type { AnyEventProjection, InlineProjection, ProjectionWrite, StreamProjection } from './projection';
import type { Envelope, Event, EventMetadata, ExpectedVersion, RecordedEvent } from './types';

export interface AppendOptions<S> {
  /** The version the stream must be at (0: a new stream), or 'any'. */
  expected: ExpectedVersion;
  meta: EventMetadata;
  /**
   * The stream's state when the caller already has it (commands decide on it), which saves the
   * read; a stale one fails like any concurrent writer would.
   */
  known?: S | null;
}

export interface AppendResult<E extends Event, S> {
  streamId: string;
  nextVersion: number;
  /** The stream's state after the append: what its projection row now holds. */
  state: S;
  events: RecordedEvent<E>[];
  lastPosition: number;
}

/**
 * Appends events to one stream and applies the inline projections in ONE statement: the events
 * insert (its unique (stream, version) key refuses a version taken by a concurrent writer), the
 * target projection's row write (guarded by the version it was evolved from), and the write of
 * every event projection that handles one of the events. Either all of it commits or none of it.
 */
export async function appendToStream<E extends Event, S extends { version: number }>(
  db: Kysely<Database>,
  registry: readonly InlineProjection[],
  target: StreamProjection<E, S>,
  id: string,
  input: readonly E[],
  options: AppendOptions<S>,
): Promise<AppendResult<E, S>> {
  if (input.length === 0) throw new Error('append needs at least one event');
  const streamId = target.stream.streamId(id);
  const events = input.map((e) => target.stream.parse(e));
  const { expected, meta } = options;
  const prior = options.known !== undefined ? options.known : await target.load(db, id);
  const current = prior?.version ?? 0;
  if (expected !== 'any' && expected !== current) throw new ConcurrencyError(streamId, expected, current);

  const createdAt = new Date();
  const envelopes: Envelope<E>[] = events.map((e, i) => ({
    ...e,
    streamVersion: current + i + 1,
    createdAt,
  }));
  const eventIds = envelopes.map(() => randomUUID());
  let state = prior;
  for (const e of envelopes) state = target.evolve(state, e);
  const writes = [target.write(prior, state!), ...eventWrites(registry, envelopes, streamId)];

  const eventRows = envelopes.map(
    (e, i) =>
      sql`(${streamId}, ${e.streamVersion}::int, ${e.type}, ${eventIds[i]}::uuid, ${JSON.stringify(e.data)}::jsonb,
           ${meta.actor}, ${meta.correlationId}::uuid, ${meta.causationId ?? null}::uuid, ${createdAt}::timestamptz)`,
  );
  // The writes reference `ev` only through their row-count checks; PostgreSQL runs every
  // data-modifying CTE exactly once, in the same snapshot, whether or not it is read.
  const ctes = writes.map((w, i) => sql`, ${sql.ref(`p${i}`)} AS (${w.sql})`);
  const checks = writes.flatMap((w, i) =>
    w.rows === null
      ? []
      : [sql`claws_assert((SELECT count(*) FROM ${sql.ref(`p${i}`)}) = ${w.rows}, ${w.mismatch})`],
  );
  // Prepared: its text has a few shapes (events per append, columns changed, projections touched),
  // so each connection plans each shape once.
  const statement = sql<{ global_position: number; transaction_id: string }>`${sql.raw(PREPARED)}
    WITH ev AS (
      INSERT INTO events (stream_id, stream_version, event_type, event_id, data, actor, correlation_id, causation_id, created_at)
      VALUES ${sql.join(eventRows)}
      RETURNING global_position, transaction_id::text AS transaction_id, stream_version
    ) ${sql.join(ctes, sql``)}
    SELECT ev.global_position, ev.transaction_id FROM ev
    WHERE ${sql.join(checks, sql` AND `)}
    ORDER BY ev.stream_version`;

  let rows: { global_position: number; transaction_id: string }[];
  try {
    rows = (await statement.execute(db)).rows;
  } catch (err) {
    throw classifyAppendError(err, streamId, expected, registry);
  }
  if (rows.length !== events.length) throw new ConcurrencyError(streamId, expected, null);
  const recorded = envelopes.map((e, i): RecordedEvent<E> => ({
    ...e,
    globalPosition: Number(rows[i]!.global_position),
    transactionId: rows[i]!.transaction_id,
    eventId: eventIds[i]!,
    streamId,
    actor: meta.actor,
    correlationId: meta.correlationId,
    causationId: meta.causationId ?? null,
  }));
  return {
    streamId,
    nextVersion: current + events.length,
    state: state!,
    events: recorded,
    lastPosition: recorded[recorded.length - 1]!.globalPosition,
  };
}

function eventWrites(
  registry: readonly InlineProjection[],
  events: readonly Envelope[],
  streamId: string,
): ProjectionWrite[] {
  const writes: ProjectionWrite[] = [];
  for (const p of registry) {
    if (p.kind !== 'events') continue;
    const handled = events.filter((e) => handles(p, e));
    const w = handled.length ? p.write(handled, streamId) : null;
    if (w) writes.push(w);
  }
  return writes;
}

const handles = (p: AnyEventProjection, e: Event) => p.eventTypes.includes(e.type);
