import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/types';

/**
 * Who holds the commit-safe horizon back. readAll returns only events of transactions older than
 * the oldest one still running (read.ts), and transaction ids are cluster-wide: one open write
 * transaction anywhere in the cluster, in any database, pauses every live feed until it ends
 * (EVENT-STORE.md §1.3). Read-only transactions have no transaction id and do not count.
 * PostgreSQL only.
 */
export interface HorizonHolder {
  /** The backend's pid; null for a prepared (two-phase) transaction, which has no session. */
  pid: number | null;
  xid: string;
  user: string | null;
  database: string | null;
  application: string | null;
  /** active, idle in transaction, …; null when the role may not see other roles' sessions. */
  state: string | null;
  /** When the transaction began; null when hidden (see `state`). */
  xactStart: Date | null;
  /** The start of its current or last statement, literals replaced by `?`; null when hidden. */
  query: string | null;
  /** Committed events the live feeds cannot deliver yet (counted up to 10,000). */
  heldBackEvents: number;
  /** The database's clock when this was read (compare xactStart with this, not the local clock). */
  now: Date;
}

const HIDDEN = '<insufficient privilege>';

/** The open transaction with the oldest transaction id, which is the horizon; null when none is open. */
export async function horizonHolder(db: Kysely<Database>): Promise<HorizonHolder | null> {
  const { rows } = await sql<{
    pid: number | null;
    xid: string;
    user: string | null;
    database: string | null;
    application: string | null;
    state: string | null;
    xact_start: Date | null;
    query: string | null;
    held_back: number;
    now: Date;
  }>`
    WITH holders AS (
      SELECT a.pid, a.backend_xid AS xid, a.usename::text AS "user", a.datname::text AS database,
        a.application_name AS application, a.state, a.xact_start, left(a.query, 2000) AS query
      FROM pg_stat_activity a
      WHERE a.backend_xid IS NOT NULL
      UNION ALL
      SELECT NULL, p.transaction, p.owner::text, p.database::text, 'prepared ' || p.gid, 'prepared',
        p.prepared, NULL
      FROM pg_prepared_xacts p
    )
    SELECT h.pid, h.xid::text AS xid, h."user", h.database, h.application, h.state, h.xact_start,
      h.query, now() AS now,
      (SELECT count(*)::int FROM (
         SELECT 1 FROM events WHERE transaction_id >= pg_snapshot_xmin(pg_current_snapshot()) LIMIT 10000
       ) held) AS held_back
    FROM holders h
    ORDER BY age(h.xid) DESC
    LIMIT 1`.execute(db);
  const r = rows[0];
  if (!r) return null;
  return {
    pid: r.pid,
    xid: r.xid,
    user: r.user,
    database: r.database,
    application: r.application || null,
    state: r.state,
    xactStart: r.xact_start,
    query: r.query === null || r.query === HIDDEN ? null : querySnippet(r.query),
    heldBackEvents: r.held_back,
    now: r.now,
  };
}

/**
 * A statement as it may go into a log line: string, dollar-quoted and numeric literals become `?`
 * (a DBA's `ALTER ROLE … PASSWORD '…'` must not reach a log), whitespace collapses, and only the
 * start is kept. Parameters of extended-protocol statements are never in the text at all.
 */
export function querySnippet(query: string, max = 120): string {
  const redacted = query
    .replace(/\$([A-Za-z_][A-Za-z0-9_]*)?\$[\s\S]*?\$\1\$/g, '?')
    .replace(/(?:(?<!\w)(?:[EeBbXx]|[Uu]&))?'(?:[^']|'')*'?/g, '?')
    .replace(/(?<![\w$])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b/g, '?')
    .replace(/\s+/g, ' ')
    .trim();
  return redacted.length > max ? `${redacted.slice(0, max - 1)}…` : redacted;
}
