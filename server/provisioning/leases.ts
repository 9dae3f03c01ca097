import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/types';
import { dueClaws } from '../../projections/claws';

/**
 * Claims up to `limit` claws that have work due and no live lease, for `owner`, in one statement.
 * FOR UPDATE SKIP LOCKED keeps two claimers off the same rows; the conditional upsert of the lease
 * (only over an expired one) is what makes the claim exclusive even if they meet anyway.
 */
export async function claimDueClaws(
  db: Kysely<Database>,
  owner: string,
  now: Date,
  leaseMs: number,
  limit: number,
): Promise<string[]> {
  const until = new Date(now.getTime() + leaseMs);
  const unleased = sql<boolean>`NOT EXISTS (SELECT 1 FROM claw_leases l WHERE l.claw_id = c.id AND l.expires_at > ${now})`;
  const { rows } = await sql<{ claw_id: string }>`
    WITH due AS (${dueClaws(db, now, limit, unleased)})
    INSERT INTO claw_leases (claw_id, owner, expires_at)
    SELECT id, ${owner}, ${until} FROM due
    ON CONFLICT (claw_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
      WHERE claw_leases.expires_at <= ${now}
    RETURNING claw_id`.execute(db);
  return rows.map((r) => r.claw_id);
}

/** Extends a claim this owner still holds (a step that runs longer than one lease). */
export async function renewLease(
  db: Kysely<Database>,
  clawId: string,
  owner: string,
  until: Date,
): Promise<void> {
  await db
    .updateTable('claw_leases')
    .set({ expires_at: until })
    .where('claw_id', '=', clawId)
    .where('owner', '=', owner)
    .execute();
}

/** Gives a claim back; `notBefore` holds the claw off until then (polling a gateway that is starting). */
export async function releaseLease(
  db: Kysely<Database>,
  clawId: string,
  owner: string,
  notBefore: Date,
): Promise<void> {
  await db
    .updateTable('claw_leases')
    .set({ owner: null, expires_at: notBefore })
    .where('claw_id', '=', clawId)
    .where('owner', '=', owner)
    .execute();
}

/** Drops leases of claws with no work left, so the table stays as small as the work in flight. */
export async function pruneLeases(db: Kysely<Database>, now: Date): Promise<void> {
  await sql`
    DELETE FROM claw_leases l
    WHERE l.expires_at <= ${now}
      AND NOT EXISTS (SELECT 1 FROM claws c WHERE c.id = l.claw_id AND c.work_pending)`.execute(db);
}
