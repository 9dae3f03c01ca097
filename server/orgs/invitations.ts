import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, GrantableRole } from '../../db/types';
import { CommandError, conflict, notFound } from '../../events/errors';
import { ForbiddenError } from '../limits/errors';
import { assertMemberQuota, lockOrganization } from '../limits/quotas';
import { normalizeEmail } from '../auth/users';
import { addMembership } from './memberships';
import { mayGrant } from './roles';
import type { Role } from '../../db/types';

/**
 * Invitations: the only way into an organization. An admin invites an address with a role; the
 * invitee gets a link with a one-time token (256 random bits, stored as SHA-256), and joins only by
 * accepting it while signed in as that address. Inviting says nothing about whether the address
 * has an account.
 */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;
export const hashInvitationToken = (token: string) =>
  createHash('sha256').update(`claws-invitation:${token}`).digest('hex');
export const invitationPath = (token: string) => `/invite/${token}`;

export interface InvitationListing {
  id: string;
  email: string;
  role: GrantableRole;
  invitedBy: string | null;
  createdAt: Date;
  expiresAt: Date;
}

export async function createInvitation(
  db: Kysely<Database>,
  input: {
    orgId: string;
    actorId: string;
    actorRole: Role;
    email: string;
    role: GrantableRole;
    ttlMs: number;
    memberQuota: number;
  },
): Promise<{ token: string; invitation: InvitationListing }> {
  const d = mayGrant(input.actorRole, input.role);
  if (!d.ok) throw new ForbiddenError(d.why);
  const email = normalizeEmail(input.email);
  const token = randomBytes(32).toString('base64url');
  const now = new Date();
  const invitation: InvitationListing = {
    id: randomUUID(),
    email,
    role: input.role,
    invitedBy: null,
    createdAt: now,
    expiresAt: new Date(now.getTime() + input.ttlMs),
  };
  await db.transaction().execute(async (trx) => {
    await lockOrganization(trx, input.orgId);
    const member = await trx
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .select('users.id')
      .where('memberships.org_id', '=', input.orgId)
      .where('users.email', '=', email)
      .executeTakeFirst();
    // Members are listed to every member already, so this says nothing new about the address.
    if (member) throw conflict(`${email} is already a member`);
    // A new invitation to the same address replaces the open one (a fresh link, a fresh expiry).
    await trx
      .updateTable('invitations')
      .set({ revoked_at: now })
      .where('org_id', '=', input.orgId)
      .where('email', '=', email)
      .where('accepted_at', 'is', null)
      .where('declined_at', 'is', null)
      .where('revoked_at', 'is', null)
      .execute();
    await assertMemberQuota(trx, input.orgId, input.memberQuota);
    await trx
      .insertInto('invitations')
      .values({
        id: invitation.id,
        org_id: input.orgId,
        email,
        role: input.role,
        token_hash: hashInvitationToken(token),
        invited_by: input.actorId,
        created_at: now,
        expires_at: invitation.expiresAt,
        accepted_at: null,
        accepted_by: null,
        declined_at: null,
        revoked_at: null,
      })
      .execute();
  });
  return { token, invitation };
}

export async function listInvitations(db: Kysely<Database>, orgId: string): Promise<InvitationListing[]> {
  const rows = await db
    .selectFrom('invitations')
    .leftJoin('users', 'users.id', 'invitations.invited_by')
    .select([
      'invitations.id',
      'invitations.email',
      'invitations.role',
      'invitations.created_at',
      'invitations.expires_at',
      'users.name as inviter',
    ])
    .where('invitations.org_id', '=', orgId)
    .where('invitations.accepted_at', 'is', null)
    .where('invitations.declined_at', 'is', null)
    .where('invitations.revoked_at', 'is', null)
    .where('invitations.expires_at', '>', new Date())
    .orderBy('invitations.created_at', 'desc')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    email: r.email,
    role: r.role,
    invitedBy: r.inviter,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
  }));
}

export async function revokeInvitation(db: Kysely<Database>, orgId: string, invitationId: string) {
  const r = await db
    .updateTable('invitations')
    .set({ revoked_at: new Date() })
    .where('id', '=', invitationId)
    .where('org_id', '=', orgId)
    .where('accepted_at', 'is', null)
    .where('declined_at', 'is', null)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0) throw notFound('Invitation');
}

export type InvitationStatus = 'pending' | 'accepted' | 'declined' | 'revoked' | 'expired';

export interface InvitationView {
  org: { slug: string; name: string };
  email: string;
  role: GrantableRole;
  invitedBy: string | null;
  expiresAt: Date;
  status: InvitationStatus;
}

async function byToken(db: Kysely<Database>, token: string) {
  if (!TOKEN_SHAPE.test(token)) return undefined;
  return db
    .selectFrom('invitations')
    .innerJoin('organizations', 'organizations.id', 'invitations.org_id')
    .leftJoin('users', 'users.id', 'invitations.invited_by')
    .select([
      'invitations.id',
      'invitations.org_id',
      'invitations.email',
      'invitations.role',
      'invitations.expires_at',
      'invitations.accepted_at',
      'invitations.declined_at',
      'invitations.revoked_at',
      'organizations.slug',
      'organizations.name',
      'users.name as inviter',
    ])
    .where('invitations.token_hash', '=', hashInvitationToken(token))
    .executeTakeFirst();
}

const statusOf = (r: {
  accepted_at: Date | null;
  declined_at: Date | null;
  revoked_at: Date | null;
  expires_at: Date;
}): InvitationStatus =>
  r.accepted_at
    ? 'accepted'
    : r.declined_at
      ? 'declined'
      : r.revoked_at
        ? 'revoked'
        : r.expires_at <= new Date()
          ? 'expired'
          : 'pending';

/** What the invitation page shows to whoever holds the link. */
export async function viewInvitation(db: Kysely<Database>, token: string): Promise<InvitationView> {
  const r = await byToken(db, token);
  if (!r) throw notFound('Invitation');
  return {
    org: { slug: r.slug, name: r.name },
    email: r.email,
    role: r.role,
    invitedBy: r.inviter,
    expiresAt: r.expires_at,
    status: statusOf(r),
  };
}

const closed: Record<Exclude<InvitationStatus, 'pending'>, string> = {
  accepted: 'This invitation was accepted already',
  declined: 'This invitation was declined',
  revoked: 'This invitation was withdrawn',
  expired: 'This invitation has expired; ask for a new one',
};

/** Joins the organization: only the invited address, signed in, and only once. */
export async function acceptInvitation(
  db: Kysely<Database>,
  token: string,
  user: { id: string; email: string },
  opts: { memberQuota: number },
): Promise<{ orgSlug: string; role: GrantableRole }> {
  const r = await byToken(db, token);
  if (!r) throw notFound('Invitation');
  if (r.email !== normalizeEmail(user.email))
    throw new ForbiddenError(`This invitation is for ${r.email}; sign in with that address to accept it`);
  return db.transaction().execute(async (trx) => {
    await lockOrganization(trx, r.org_id);
    const row = await trx
      .selectFrom('invitations')
      .select(['accepted_at', 'declined_at', 'revoked_at', 'expires_at'])
      .where('id', '=', r.id)
      .forUpdate()
      .executeTakeFirstOrThrow();
    const status = statusOf(row);
    if (status !== 'pending') throw new CommandError('PRECONDITION_FAILED', closed[status]);
    await addMembership(trx, r.org_id, user.id, r.role, {
      memberQuota: opts.memberQuota,
      seatReserved: true,
    });
    await trx
      .updateTable('invitations')
      .set({ accepted_at: new Date(), accepted_by: user.id })
      .where('id', '=', r.id)
      .execute();
    return { orgSlug: r.slug, role: r.role };
  });
}

/** Declines: whoever holds the link (the token is what the invitee received), signed in or not. */
export async function declineInvitation(db: Kysely<Database>, token: string): Promise<void> {
  const r = await byToken(db, token);
  if (!r) throw notFound('Invitation');
  const status = statusOf(r);
  if (status !== 'pending') throw new CommandError('PRECONDITION_FAILED', closed[status]);
  await db
    .updateTable('invitations')
    .set({ declined_at: new Date() })
    .where('id', '=', r.id)
    .where('accepted_at', 'is', null)
    .execute();
}
