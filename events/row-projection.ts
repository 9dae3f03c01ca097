import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/types';
import type { Conflicts, StreamProjection } from './projection';
import type { StreamType } from './stream';
import type { Envelope, Event } from './types';

type Row = Record<string, unknown>;

export interface RowProjectionOptions<
  E extends Event,
  S extends { id: string; version: number },
  C extends string,
> {
  name: string;
  stream: StreamType<E>;
  /** The read model's table; its primary key is `id` and it has a `version` column. */
  table: keyof Database;
  evolve(state: S | null, event: Envelope<E>): S;
  /** The columns this projection owns (columns another projection writes are left out). */
  toRow(state: S): Row;
  /** The row of `id` as a state (null: no such stream). */
  load(db: Kysely<Database>, id: string): Promise<S | null>;
  conflicts?: Conflicts<C>;
}

const INSERT_BATCH = 1000;

/**
 * A stream projection kept as one table row per stream. A new stream INSERTs its row; a later
 * append UPDATEs only the columns its events changed, guarded by the version the new row was
 * evolved from, so it applies on top of exactly that row (a concurrent writer makes it touch no
 * row, and the append fails as a concurrency error).
 */
export function rowProjection<E extends Event, S extends { id: string; version: number }, C extends string>(
  o: RowProjectionOptions<E, S, C>,
): StreamProjection<E, S, C> {
  const table = sql.table(o.table);
  return {
    kind: 'stream',
    name: o.name,
    stream: o.stream,
    evolve: o.evolve,
    conflicts: o.conflicts,
    load: o.load,
    write(before, after) {
      const next = o.toRow(after);
      const mismatch = `${o.name} row of ${after.id} is not at version ${before?.version ?? 0}`;
      if (!before) {
        const columns = Object.keys(next);
        return {
          sql: sql`INSERT INTO ${table} (${sql.join(columns.map((c) => sql.ref(c)))})
                   VALUES (${sql.join(columns.map((c) => sql`${next[c]}`))}) RETURNING 1`,
          rows: 1,
          mismatch,
        };
      }
      const prior = o.toRow(before);
      const changed = Object.keys(next).filter((c) => !sameValue(prior[c], next[c]));
      return {
        sql: sql`UPDATE ${table} SET ${sql.join(changed.map((c) => sql`${sql.ref(c)} = ${next[c]}`))}
                 WHERE id = ${after.id} AND version = ${before.version} RETURNING 1`,
        rows: 1,
        mismatch,
      };
    },
    async reset(db) {
      await sql`DELETE FROM ${table}`.execute(db);
    },
    async insertAll(db: Kysely<Database>, states) {
      // One parameter per batch: the rows as a JSON array, turned into the table's own row type by
      // the server. Far cheaper to build and send than a parameter per column of every row.
      for (let i = 0; i < states.length; i += INSERT_BATCH) {
        const rows = states.slice(i, i + INSERT_BATCH).map(o.toRow);
        const columns = sql.join(Object.keys(rows[0]!).map((c) => sql.ref(c)));
        await sql`INSERT INTO ${table} (${columns})
                  SELECT ${columns} FROM jsonb_populate_recordset(NULL::${table}, ${JSON.stringify(rows)}::jsonb)`.execute(
          db,
        );
      }
    },
  };
}

const sameValue = (a: unknown, b: unknown) =>
  a instanceof Date && b instanceof Date ? a.getTime() === b.getTime() : a === b;
