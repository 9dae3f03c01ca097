import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/types';
import type { AnyEventProjection, AnyStreamProjection, InlineProjection } from './projection';
import { streamCategoryOf, streamEntityId } from './stream';
import type { Envelope } from './types';

/** What a fold of the whole log produced: every stream projection's states, every event projection's accumulator. */
export interface ProjectedLog {
  states: Map<string, Map<string, { version: number }>>;
  accumulators: Map<string, unknown>;
  events: number;
}

export interface RebuildResult {
  events: number;
  /** Rows written per stream projection. */
  rows: Record<string, number>;
}

/**
 * Folds the whole log, in global order, through the same projections the appends apply. Reads in
 * keyset pages so memory holds one page of events plus the final states.
 */
export async function projectLog(
  db: Kysely<Database>,
  projections: readonly InlineProjection[],
  batchSize = 5000,
): Promise<ProjectedLog> {
  // Looked up once per event, so keyed the way events arrive: by stream category, by event type.
  const byCategory = new Map<
    string,
    { target: AnyStreamProjection; folded: Map<string, { version: number }> }
  >();
  const states = new Map<string, Map<string, { version: number }>>();
  for (const p of projections)
    if (p.kind === 'stream') {
      const folded = new Map<string, { version: number }>();
      byCategory.set(p.stream.category, { target: p, folded });
      states.set(p.name, folded);
    }
  const eventProjections = projections.filter((p): p is AnyEventProjection => p.kind === 'events');
  const accumulators = new Map(eventProjections.map((p) => [p.name, p.initial()]));
  const byType = new Map<string, { p: AnyEventProjection; acc: unknown }[]>();
  for (const p of eventProjections)
    for (const t of p.eventTypes)
      byType.set(t, [...(byType.get(t) ?? []), { p, acc: accumulators.get(p.name) }]);
  let after = 0;
  let count = 0;
  for (;;) {
    // Only what evolve needs: fewer columns to parse is most of a replay's speed.
    const rows = await db
      .selectFrom('events')
      .select(['global_position', 'stream_id', 'stream_version', 'event_type', 'data', 'created_at'])
      .where('global_position', '>', after)
      .orderBy('global_position')
      .limit(batchSize)
      .execute();
    for (const row of rows) {
      const e: Envelope = {
        type: row.event_type,
        data: row.data,
        streamVersion: row.stream_version,
        createdAt: row.created_at,
      };
      const stream = byCategory.get(streamCategoryOf(row.stream_id));
      if (stream) {
        const id = streamEntityId(row.stream_id);
        stream.folded.set(id, stream.target.evolve(stream.folded.get(id) ?? null, e));
      }
      for (const { p, acc } of byType.get(e.type) ?? []) p.fold(acc, e, row.stream_id);
    }
    count += rows.length;
    if (rows.length < batchSize) break;
    after = Number(rows[rows.length - 1]!.global_position);
  }
  return { states, accumulators, events: count };
}

/**
 * Empties the read models and writes them again from the log, in one transaction that holds
 * appends off (SHARE lock on events) so the rebuilt tables cannot miss an event. Readers see the
 * old rows until it commits. Stream projections are written in registration order, then the
 * event projections, which update rows the stream projections own.
 */
export async function rebuildProjections(
  db: Kysely<Database>,
  projections: readonly InlineProjection[],
  options: { batchSize?: number } = {},
): Promise<RebuildResult> {
  return db.transaction().execute(async (trx) => {
    await sql`LOCK TABLE events IN SHARE MODE`.execute(trx);
    const log = await projectLog(trx, projections, options.batchSize);
    const streamProjections = projections.filter((p): p is AnyStreamProjection => p.kind === 'stream');
    // Reset in reverse order, so a read model others refer to is emptied last.
    for (const p of [...streamProjections].reverse()) await p.reset(trx);
    const rows: Record<string, number> = {};
    for (const p of streamProjections) {
      const states = [...log.states.get(p.name)!.values()];
      await p.insertAll(trx, states);
      rows[p.name] = states.length;
    }
    for (const p of projections) if (p.kind === 'events') await p.flush(trx, log.accumulators.get(p.name));
    return { events: log.events, rows };
  });
}
