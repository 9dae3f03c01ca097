import type { Kysely, Transaction } from 'kysely';
import { sql } from 'kysely';
import { z } from 'zod';
import type { Database, Organization, Role } from '../../db/types';
import { asPgError } from '../../events/errors';
import { CommandError, conflict, notFound } from '../../events/errors';
import { ForbiddenError } from '../limits/errors';
import { assertMemberQuota, assertOrgQuota, lockOrganization, lockUser } from '../limits/quotas';
import { createOrganization } from './organizations';
import { mayChangeRole, mayLeave, mayRemove, mayTransfer, type Decision } from './roles';

export const RoleSchema = z.enum(['owner', 'admin', 'member']);
export const GrantableRoleSchema = z.enum(['admin', 'member']);

const enforce = (d: Decision) => {
  if (!d.ok) throw new ForbiddenError(d.why);
};

/** A new organization owned by `userId`, within the owner's QUOTA_ORGS_PER_USER. */
export async function createOrganizationWithOwner(
  db: Kysely<Database>,
  userId: string,
  input: { name: string; slug?: string },
  opts: { orgQuota?: number } = {},
): Promise<Organization> {
  return db.transaction().execute(async (trx) => {
    if (opts.orgQuota !== undefined) {
      await lockUser(trx, userId);
      await assertOrgQuota(trx, userId, opts.orgQuota);
    }
    const org = await createOrganization(trx, input);
    await trx.insertInto('memberships').values({ org_id: org.id, user_id: userId, role: 'owner' }).execute();
    return org;
  });
}

export async function requireMembership(
  db: Kysely<Database>,
  userId: string,
  orgSlug: string,
): Promise<{ org: Organization; role: Role } | null> {
  const row = await db
    .selectFrom('organizations')
    .innerJoin('memberships', 'memberships.org_id', 'organizations.id')
    .select([
      'organizations.id',
      'organizations.slug',
      'organizations.name',
      'organizations.created_at',
      'memberships.role',
    ])
    .where('organizations.slug', '=', orgSlug)
    .where('memberships.user_id', '=', userId)
    .executeTakeFirst();
  if (!row) return null;
  const { role, ...org } = row;
  return { org, role };
}

export function listOrganizations(db: Kysely<Database>, userId: string) {
  return db
    .selectFrom('organizations')
    .innerJoin('memberships', 'memberships.org_id', 'organizations.id')
    .select(['organizations.id', 'organizations.slug', 'organizations.name', 'memberships.role'])
    .where('memberships.user_id', '=', userId)
    .orderBy('organizations.name')
    .execute();
}

export function listMembers(db: Kysely<Database>, orgId: string) {
  return db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select(['users.id', 'users.email', 'users.name', 'memberships.role', 'memberships.created_at'])
    .where('memberships.org_id', '=', orgId)
    .orderBy('memberships.created_at')
    .execute();
}

/**
 * Adds a membership, within QUOTA_MEMBERS_PER_ORG: only ever on the member's own consent (accepting
 * an invitation, server/orgs/invitations.ts) or by an operator. `seatReserved`: an open invitation
 * already counted this seat.
 */
export async function addMembership(
  trx: Transaction<Database>,
  orgId: string,
  userId: string,
  role: Role,
  opts: { memberQuota: number; seatReserved?: boolean },
): Promise<'added' | 'already'> {
  await lockOrganization(trx, orgId);
  const existing = await trx
    .selectFrom('memberships')
    .select('role')
    .where('org_id', '=', orgId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  if (existing) return 'already';
  if (!opts.seatReserved) await assertMemberQuota(trx, orgId, opts.memberQuota);
  try {
    await trx.insertInto('memberships').values({ org_id: orgId, user_id: userId, role }).execute();
  } catch (err) {
    if (asPgError(err).code === '23505') return 'already';
    throw err;
  }
  return 'added';
}

async function memberRole(trx: Transaction<Database>, orgId: string, userId: string): Promise<Role | null> {
  const row = await trx
    .selectFrom('memberships')
    .select('role')
    .where('org_id', '=', orgId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row?.role ?? null;
}

async function ownerCount(trx: Transaction<Database>, orgId: string): Promise<number> {
  const { n } = await trx
    .selectFrom('memberships')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('org_id', '=', orgId)
    .where('role', '=', 'owner')
    .executeTakeFirstOrThrow();
  return Number(n);
}

interface Acting {
  orgId: string;
  actorId: string;
}

/**
 * Each command below locks the organization's row first: two admins acting at once (or an owner
 * leaving while another is demoted) are serialized, so "an organization keeps an owner" holds.
 * The actor's role is read again inside the lock, not trusted from the request's start.
 */
async function underLock<T>(
  db: Kysely<Database>,
  a: Acting,
  fn: (trx: Transaction<Database>, actorRole: Role) => Promise<T>,
): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await lockOrganization(trx, a.orgId);
    const role = await memberRole(trx, a.orgId, a.actorId);
    if (!role) throw notFound('Organization');
    return fn(trx, role);
  });
}

export function changeRole(db: Kysely<Database>, a: Acting, userId: string, to: Role) {
  return underLock(db, a, async (trx, actorRole) => {
    const from = await memberRole(trx, a.orgId, userId);
    if (!from) throw notFound('Member');
    enforce(mayChangeRole(actorRole, from, to, userId === a.actorId));
    if (from === to) return { userId, role: to };
    await trx
      .updateTable('memberships')
      .set({ role: to })
      .where('org_id', '=', a.orgId)
      .where('user_id', '=', userId)
      .execute();
    return { userId, role: to };
  });
}

/** Removes another member (leaving is `leaveOrganization`). The caller announces the revocation. */
export function removeMember(db: Kysely<Database>, a: Acting, userId: string) {
  if (userId === a.actorId)
    throw new CommandError('BAD_REQUEST', 'To remove yourself, leave the organization');
  return underLock(db, a, async (trx, actorRole) => {
    const target = await memberRole(trx, a.orgId, userId);
    if (!target) throw notFound('Member');
    enforce(mayRemove(actorRole, target));
    await trx.deleteFrom('memberships').where('org_id', '=', a.orgId).where('user_id', '=', userId).execute();
    return { userId };
  });
}

export function leaveOrganization(db: Kysely<Database>, a: Acting) {
  return underLock(db, a, async (trx, role) => {
    const d = mayLeave(role, role === 'owner' ? await ownerCount(trx, a.orgId) : 0);
    if (!d.ok) throw new CommandError('PRECONDITION_FAILED', d.why);
    await trx
      .deleteFrom('memberships')
      .where('org_id', '=', a.orgId)
      .where('user_id', '=', a.actorId)
      .execute();
    return { userId: a.actorId };
  });
}

/** The owner hands ownership to another member, and stays on as admin. */
export function transferOwnership(db: Kysely<Database>, a: Acting, userId: string) {
  return underLock(db, a, async (trx, role) => {
    enforce(mayTransfer(role, userId === a.actorId));
    const target = await memberRole(trx, a.orgId, userId);
    if (!target) throw notFound('Member');
    await sql`UPDATE memberships SET role = CASE WHEN user_id = ${userId} THEN 'owner' ELSE 'admin' END
              WHERE org_id = ${a.orgId} AND user_id IN (${userId}, ${a.actorId})`.execute(trx);
    return { owner: userId };
  });
}

/** Operators and tests: a membership without an invitation (never reachable from the API). */
export async function addMemberDirectly(db: Kysely<Database>, orgId: string, userId: string, role: Role) {
  try {
    await db.insertInto('memberships').values({ org_id: orgId, user_id: userId, role }).execute();
  } catch (err) {
    if (asPgError(err).code === '23505') throw conflict('Already a member');
    throw err;
  }
}
