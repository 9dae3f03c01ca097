import { sql, type Kysely } from 'kysely';
import type { ClawRow, Database, MiniRow } from '../db/types';
import { isClawEvent, isMiniEvent, type ClawEvent, type MiniEvent } from '../events/catalog';
import { allocationDelta, evolveClaw, type ClawState, type Envelope } from './claws';
import { evolveMini, type MiniState } from './minis';
import { clawToRow, miniToRow } from './rows';

export interface Projected {
  claws: Map<string, ClawState>;
  minis: Map<string, MiniState>;
  events: number;
}

/**
 * Folds the whole log, in global order, with the same evolve functions the inline projection uses.
 * Reads in keyset pages so memory holds one page of events plus the final rows.
 */
export async function projectLog(db: Kysely<Database>, batchSize = 5000): Promise<Projected> {
  const claws = new Map<string, ClawState>();
  const minis = new Map<string, MiniState>();
  const pendingDeltas = new Map<string, number>();
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
      const e = {
        type: row.event_type,
        data: row.data,
        streamVersion: row.stream_version,
        createdAt: row.created_at,
      } as Envelope<ClawEvent | MiniEvent>;
      const id = row.stream_id.slice(row.stream_id.indexOf('-') + 1);
      if (isClawEvent(e)) {
        claws.set(id, evolveClaw(claws.get(id) ?? null, e));
        const d = allocationDelta(e);
        if (d) {
          const mini = minis.get(d.miniId);
          if (mini) mini.allocated += d.delta;
          else pendingDeltas.set(d.miniId, (pendingDeltas.get(d.miniId) ?? 0) + d.delta);
        }
      } else if (isMiniEvent(e)) {
        const next = evolveMini(minis.get(id) ?? null, e);
        next.allocated += pendingDeltas.get(id) ?? 0;
        pendingDeltas.delete(id);
        minis.set(id, next);
      }
    }
    count += rows.length;
    if (rows.length < batchSize) break;
    after = Number(rows[rows.length - 1]!.global_position);
  }
  return { claws, minis, events: count };
}

/**
 * Empties the read models and writes them again from the log, in one transaction that holds
 * appends off (SHARE lock on events) so the rebuilt tables cannot miss an event. Readers see the
 * old rows until it commits.
 */
export async function rebuildProjections(
  db: Kysely<Database>,
  options: { batchSize?: number } = {},
): Promise<{ events: number; claws: number; minis: number }> {
  return db.transaction().execute(async (trx) => {
    await sql`LOCK TABLE events IN SHARE MODE`.execute(trx);
    const projected = await projectLog(trx, options.batchSize);
    await sql`DELETE FROM claws`.execute(trx);
    await sql`DELETE FROM mac_minis`.execute(trx);
    await insertBatches(trx, 'mac_minis', [...projected.minis.values()].map(miniToRow));
    await insertBatches(trx, 'claws', [...projected.claws.values()].map(clawToRow));
    return { events: projected.events, claws: projected.claws.size, minis: projected.minis.size };
  });
}

async function insertBatches(db: Kysely<Database>, table: 'claws', rows: ClawRow[]): Promise<void>;
async function insertBatches(db: Kysely<Database>, table: 'mac_minis', rows: MiniRow[]): Promise<void>;
async function insertBatches(
  db: Kysely<Database>,
  table: 'claws' | 'mac_minis',
  rows: (ClawRow | MiniRow)[],
) {
  const size = 1000;
  for (let i = 0; i < rows.length; i += size) {
    const chunk = rows.slice(i, i + size);
    if (table === 'claws')
      await db
        .insertInto('claws')
        .values(chunk as ClawRow[])
        .execute();
    else
      await db
        .insertInto('mac_minis')
        .values(chunk as MiniRow[])
        .execute();
  }
}
