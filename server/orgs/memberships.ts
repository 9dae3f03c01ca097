import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database, Organization, Role } from '../../db/types';
import { asPgError } from '../../events/errors';
import { conflict, notFound } from '../../events/errors';
import { normalizeEmail } from '../auth/users';
import { createOrganization } from './organizations';

export const RoleSchema = z.enum(['owner', 'admin', 'member']);

export async function createOrganizationWithOwner(
  db: Kysely<Database>,
  userId: string,
  input: { name: string; slug?: string },
): Promise<Organization> {
  return db.transaction().execute(async (trx) => {
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

export async function addMember(db: Kysely<Database>, orgId: string, email: string, role: Role) {
  const user = await db
    .selectFrom('users')
    .select(['id', 'email', 'name'])
    .where('email', '=', normalizeEmail(email))
    .executeTakeFirst();
  if (!user) throw notFound(`User ${email}`);
  try {
    await db.insertInto('memberships').values({ org_id: orgId, user_id: user.id, role }).execute();
  } catch (err) {
    if (asPgError(err).code === '23505') throw conflict(`${email} is already a member`);
    throw err;
  }
  return { ...user, role };
}
