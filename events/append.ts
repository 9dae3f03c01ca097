import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../db/types';
import { allocationDelta, evolveClaw, type ClawState, type Envelope } from '../projections/claws';
import { evolveMini, type MiniState } from '../projections/minis';
import { clawToRow, miniToRow, rowToClaw, rowToMini } from '../projections/rows';
import {
  isClawEvent,
  isMiniEvent,
  parseEvent,
  streamCategory,
  streamEntityId,
  type ClawEvent,
  type DomainEvent,
  type MiniEvent,
} from './catalog';
import { ConcurrencyError, classifyAppendError } from './errors';
import type { EventMetadata, ExpectedVersion, RecordedEvent } from './types';

export type ProjectedState = ClawState | MiniState;

export interface AppendResult<S extends ProjectedState = ProjectedState> {
  streamId: string;
  nextVersion: number;
  /** The stream's read-model state after the append (what the projection row now holds). */
  state: S;
  events: RecordedEvent[];
  lastPosition: number;
}

/** Reads the projected state of a stream: its `claws` or `mac_minis` row. */
export async function loadProjectedState(
  db: Kysely<Database>,
  streamId: string,
): Promise<ProjectedState | null> {
  const id = streamEntityId(streamId);
  if (streamCategory(streamId) === 'claw') {
    const row = await db.selectFrom('claws').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? rowToClaw(row) : null;
  }
  const row = await db.selectFrom('mac_minis').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? rowToMini(row) : null;
}

/**
 * Appends events to one stream and applies the inline projections, in ONE statement: the events
 * insert (its unique (stream, version) key refuses a version taken by a concurrent writer), the
 * write of the stream's projection row computed by the pure evolve function (guarded by the
 * version it was computed from, which also refuses an expected version ahead of the stream), and
 * the claw's effect on its Mini's allocated count. Either all of it commits or none of it does.
 *
 * `known` is the stream's state when the caller already has it (commands decide on it), which saves
 * the read; a stale `known` fails like any concurrent writer would.
 */
export async function appendToStream(
  db: Kysely<Database>,
  streamId: string,
  expected: ExpectedVersion,
  input: readonly DomainEvent[],
  meta: EventMetadata,
  known?: ProjectedState | null,
): Promise<AppendResult> {
  if (input.length === 0) throw new Error('append needs at least one event');
  const events = input.map(parseEvent);
  const category = streamCategory(streamId);
  for (const e of events) {
    const fits = category === 'claw' ? isClawEvent(e) : isMiniEvent(e);
    if (!fits) throw new Error(`${e.type} does not belong on stream ${streamId}`);
  }
  const prior = known !== undefined ? known : await loadProjectedState(db, streamId);
  const current = prior?.version ?? 0;
  if (expected !== 'any' && expected !== current) throw new ConcurrencyError(streamId, expected, current);

  const createdAt = new Date();
  const envelopes = events.map((e, i) => ({ ...e, streamVersion: current + i + 1, createdAt }));
  const eventIds = events.map(() => randomUUID());

  let projection: RawBuilder<unknown>;
  let state: ProjectedState;
  const allocation: { miniId: string; delta: number }[] = [];
  if (category === 'claw') {
    let s = prior as ClawState | null;
    for (const e of envelopes as Envelope<ClawEvent>[]) {
      s = evolveClaw(s, e);
      const d = allocationDelta(e);
      if (d) allocation.push(d);
    }
    state = s as ClawState;
    projection = writeRow('claws', prior ? clawToRow(prior as ClawState) : null, clawToRow(state), current);
  } else {
    let s = prior as MiniState | null;
    for (const e of envelopes as Envelope<MiniEvent>[]) s = evolveMini(s, e);
    state = s as MiniState;
    // `allocated` is moved by claw events (relative updates), never by the Mini's own stream.
    const { allocated: _a, ...before } = prior ? miniToRow(prior as MiniState) : { allocated: 0 };
    const { allocated: _b, ...after } = miniToRow(state);
    projection = writeRow('mac_minis', prior ? before : null, after, current);
  }

  const eventRows = envelopes.map(
    (e, i) =>
      sql`(${streamId}, ${e.streamVersion}::int, ${e.type}, ${eventIds[i]}::uuid, ${JSON.stringify(e.data)}::jsonb,
           ${meta.actor}, ${meta.correlationId}::uuid, ${meta.causationId ?? null}::uuid, ${createdAt}::timestamptz)`,
  );
  const net = netAllocation(allocation);
  const allocationCte = net.length
    ? sql`, alloc AS (
        UPDATE mac_minis m SET allocated = m.allocated + d.delta
        FROM (VALUES ${sql.join(net.map((a) => sql`(${a.miniId}::uuid, ${a.delta}::int)`))}) AS d(id, delta)
        WHERE m.id = d.id AND EXISTS (SELECT 1 FROM ev)
        RETURNING 1)`
    : sql``;
  const allocationCheck = net.length
    ? sql`AND claws_assert((SELECT count(*) FROM alloc) = ${net.length}, ${`unknown Mini in allocation on ${streamId}`})`
    : sql``;

  const statement = sql<{ global_position: number; transaction_id: string; stream_version: number }>`
    WITH ev AS (
      INSERT INTO events (stream_id, stream_version, event_type, event_id, data, actor, correlation_id, causation_id, created_at)
      VALUES ${sql.join(eventRows)}
      RETURNING global_position, transaction_id::text AS transaction_id, stream_version
    ), proj AS (${projection})
    ${allocationCte}
    SELECT ev.global_position, ev.transaction_id, ev.stream_version
    FROM ev
    WHERE claws_assert((SELECT count(*) FROM proj) = 1, ${`projection of ${streamId} is not at version ${current}`})
    ${allocationCheck}
    ORDER BY ev.stream_version`;

  let rows: { global_position: number; transaction_id: string; stream_version: number }[];
  try {
    rows = (await statement.execute(db)).rows;
  } catch (err) {
    throw classifyAppendError(err, streamId, expected);
  }
  if (rows.length !== events.length) throw new ConcurrencyError(streamId, expected, null);

  const recorded = envelopes.map((e, i): RecordedEvent => {
    const row = rows[i]!;
    return {
      ...e,
      globalPosition: Number(row.global_position),
      transactionId: row.transaction_id,
      eventId: eventIds[i]!,
      streamId,
      actor: meta.actor,
      correlationId: meta.correlationId,
      causationId: meta.causationId ?? null,
    } as RecordedEvent;
  });
  return {
    streamId,
    nextVersion: current + events.length,
    state,
    events: recorded,
    lastPosition: recorded[recorded.length - 1]!.globalPosition,
  };
}

function netAllocation(deltas: { miniId: string; delta: number }[]) {
  const byMini = new Map<string, number>();
  for (const d of deltas) byMini.set(d.miniId, (byMini.get(d.miniId) ?? 0) + d.delta);
  return [...byMini].filter(([, delta]) => delta !== 0).map(([miniId, delta]) => ({ miniId, delta }));
}

/**
 * The projection write: an INSERT for a new stream, else an UPDATE of only the columns the events
 * changed, guarded by the version the new row was computed from (so it can only apply on top of it).
 */
function writeRow(
  table: 'claws' | 'mac_minis',
  before: Record<string, unknown> | null,
  after: Record<string, unknown>,
  fromVersion: number,
): RawBuilder<unknown> {
  if (!before) {
    const columns = Object.keys(after);
    return sql`
      INSERT INTO ${sql.table(table)} (${sql.join(columns.map((c) => sql.ref(c)))})
      VALUES (${sql.join(columns.map((c) => sql`${after[c]}`))})
      RETURNING 1`;
  }
  const changed = Object.keys(after).filter((c) => !sameValue(before[c], after[c]));
  return sql`
    UPDATE ${sql.table(table)} SET ${sql.join(changed.map((c) => sql`${sql.ref(c)} = ${after[c]}`))}
    WHERE id = ${after.id} AND version = ${fromVersion}
    RETURNING 1`;
}

const sameValue = (a: unknown, b: unknown) =>
  a instanceof Date && b instanceof Date ? a.getTime() === b.getTime() : a === b;
