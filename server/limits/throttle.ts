import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/types';
import type { RatePolicy } from '../identity-config';
import { TooManyRequestsError } from './errors';

export type ThrottleResult = { ok: true } | { ok: false; retryAfterS: number };

/**
 * One hit on `key` under `policy`, in one statement: a sliding log of the admitted hits' times, in
 * one row per key. The upsert locks that row, so concurrent hits from any number of server
 * instances are counted exactly; a refused hit is not recorded (an attacker who keeps trying
 * does not push the window forward for the legitimate owner of the key), and the answer says when
 * the oldest admitted hit leaves the window. Works the same on PGlite.
 */
export async function hitThrottle(
  db: Kysely<Database>,
  key: string,
  policy: RatePolicy,
): Promise<ThrottleResult> {
  const windowS = policy.windowMs / 1000;
  const window = sql`make_interval(secs => ${windowS}::double precision)`;
  const live = sql`ARRAY(SELECT h FROM unnest(t.hits) AS h WHERE h > statement_timestamp() - ${window} ORDER BY h)`;
  const row = await sql<{ admitted: boolean; retry_after: number | string | null }>`
    INSERT INTO throttles AS t (key, hits, admitted, expires_at)
    VALUES (${key}, ARRAY[statement_timestamp()], true, statement_timestamp() + ${window})
    ON CONFLICT (key) DO UPDATE SET
      admitted = cardinality(${live}) < ${policy.limit}::int,
      hits = CASE WHEN cardinality(${live}) < ${policy.limit}::int
                  THEN ${live} || statement_timestamp() ELSE ${live} END,
      expires_at = statement_timestamp() + ${window}
    RETURNING admitted,
      ceil(extract(epoch FROM (hits[1] + ${window} - statement_timestamp())))::int AS retry_after`
    .execute(db)
    .then((r) => r.rows[0]!);
  maybeSweep(db);
  if (row.admitted) return { ok: true };
  return { ok: false, retryAfterS: Math.max(1, Number(row.retry_after ?? windowS)) };
}

/** Rows whose every hit has left its window go now and then, off the request's path. */
function maybeSweep(db: Kysely<Database>) {
  if (Math.random() > 0.01) return;
  void db
    .deleteFrom('throttles')
    .where('expires_at', '<', new Date())
    .execute()
    .catch(() => {});
}

export interface ThrottleCheck {
  key: string;
  policy: RatePolicy;
  /** Says what was refused, e.g. "Too many login attempts from your address". */
  refusal: string;
}

const holder = globalThis as typeof globalThis & {
  __clawsRefusedUntil?: WeakMap<Kysely<Database>, Map<string, number>>;
};
/**
 * Keys this process saw refused, until when. A refusal is certain until its oldest hit leaves the
 * window (nothing makes a window admit earlier), so repeating it from memory is exact, and a flood
 * against one key costs no database round trip after the first refusal.
 */
function refusedUntil(db: Kysely<Database>): Map<string, number> {
  const perDatabase = (holder.__clawsRefusedUntil ??= new WeakMap());
  let m = perDatabase.get(db);
  if (!m) perDatabase.set(db, (m = new Map()));
  return m;
}
const MAX_REMEMBERED = 10_000;

/**
 * Runs checks in order and stops at the first refusal (throws TooManyRequestsError), so a hit
 * refused by a coarse key (an address) records nothing under the finer ones (an account).
 */
export async function enforceThrottles(db: Kysely<Database>, checks: ThrottleCheck[]): Promise<void> {
  const remembered = refusedUntil(db);
  for (const c of checks) {
    const until = remembered.get(c.key);
    if (until !== undefined) {
      const left = Math.ceil((until - Date.now()) / 1000);
      if (left > 0) throw new TooManyRequestsError(c.refusal, left);
      remembered.delete(c.key);
    }
    const r = await hitThrottle(db, c.key, c.policy);
    if (!r.ok) {
      if (remembered.size >= MAX_REMEMBERED) remembered.delete(remembered.keys().next().value!);
      remembered.set(c.key, Date.now() + r.retryAfterS * 1000);
      throw new TooManyRequestsError(c.refusal, r.retryAfterS);
    }
  }
}
