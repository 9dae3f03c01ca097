import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../../db/types';
import { QuotaExceededError } from './errors';

/**
 * Count quotas, checked inside the transaction that adds the thing counted, under a row lock on
 * its owner (the user, the organization), so concurrent additions from any number of instances
 * cannot both see room for one more.
 */
type Db = Kysely<Database> | Transaction<Database>;

export async function lockUser(trx: Transaction<Database>, userId: string): Promise<void> {
  await sql`SELECT id FROM users WHERE id = ${userId} FOR UPDATE`.execute(trx);
}

export async function lockOrganization(trx: Transaction<Database>, orgId: string): Promise<void> {
  await sql`SELECT id FROM organizations WHERE id = ${orgId} FOR UPDATE`.execute(trx);
}

const count = (rows: { n: number | string | bigint }) => Number(rows.n);

/** Organizations a user owns; each new one counts against QUOTA_ORGS_PER_USER. */
export async function assertOrgQuota(trx: Db, userId: string, limit: number): Promise<void> {
  const n = count(
    await trx
      .selectFrom('memberships')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('user_id', '=', userId)
      .where('role', '=', 'owner')
      .executeTakeFirstOrThrow(),
  );
  if (n >= limit)
    throw new QuotaExceededError(
      `Limit reached: you can own at most ${limit} organizations (delete one, or ask an operator to raise QUOTA_ORGS_PER_USER)`,
    );
}

/** Members plus open invitations of an organization (an invitation reserves its seat). */
export async function assertMemberQuota(trx: Db, orgId: string, limit: number): Promise<void> {
  const members = count(
    await trx
      .selectFrom('memberships')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('org_id', '=', orgId)
      .executeTakeFirstOrThrow(),
  );
  const invited = count(
    await trx
      .selectFrom('invitations')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('org_id', '=', orgId)
      .where('accepted_at', 'is', null)
      .where('declined_at', 'is', null)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', new Date())
      .executeTakeFirstOrThrow(),
  );
  if (members + invited >= limit)
    throw new QuotaExceededError(
      `Limit reached: an organization can have at most ${limit} members and open invitations`,
    );
}

/** Claws of an organization that still hold or may hold resources (everything not deleted). */
export async function assertClawQuota(trx: Db, orgId: string, limit: number): Promise<void> {
  const n = count(
    await trx
      .selectFrom('claws')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('org_id', '=', orgId)
      .where('status', '<>', 'deleted')
      .executeTakeFirstOrThrow(),
  );
  if (n >= limit)
    throw new QuotaExceededError(
      `Limit reached: an organization can have at most ${limit} claws (delete one first)`,
    );
}

export async function assertTokenQuota(trx: Db, orgId: string, limit: number): Promise<void> {
  const n = count(
    await trx
      .selectFrom('api_tokens')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('org_id', '=', orgId)
      .where('revoked_at', 'is', null)
      .executeTakeFirstOrThrow(),
  );
  if (n >= limit)
    throw new QuotaExceededError(`Limit reached: an organization can have at most ${limit} API tokens`);
}
