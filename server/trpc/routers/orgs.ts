import { z } from 'zod';
import { announceRevocation } from '../../access/revocations';
import { Email } from '../../auth/users';
import { enforceThrottles } from '../../limits/throttle';
import { invitationMail, mailerFor } from '../../mail/mailer';
import {
  changeRole,
  createOrganizationWithOwner,
  GrantableRoleSchema,
  leaveOrganization,
  listMembers,
  listOrganizations,
  removeMember,
  transferOwnership,
} from '../../orgs/memberships';
import { createInvitation, invitationPath, listInvitations, revokeInvitation } from '../../orgs/invitations';
import { OrgName, OrgSlug } from '../../orgs/organizations';
import { publicUrlOf } from '../../identity-config';
import { createLogger } from '../../log';
import { authedProcedure, orgManagerProcedure, orgMemberProcedure, router } from '../init';

const UserId = z.object({ userId: z.uuid() });

export const orgsRouter = router({
  create: authedProcedure
    .input(z.object({ name: OrgName, slug: OrgSlug.optional() }))
    .mutation(({ ctx, input }) =>
      createOrganizationWithOwner(ctx.runtime.database.db, ctx.user.id, input, {
        orgQuota: ctx.runtime.config.QUOTA_ORGS_PER_USER,
      }),
    ),

  list: authedProcedure.query(({ ctx }) => listOrganizations(ctx.runtime.database.db, ctx.user.id)),

  /** The members, and the caller's own role (the page offers only what that role may do). */
  members: orgMemberProcedure.query(async ({ ctx }) => ({
    you: { userId: ctx.user.id, role: ctx.role },
    members: await listMembers(ctx.runtime.database.db, ctx.org.id),
  })),

  /**
   * Invites an address. The answer is the same whether or not it has an account; the link is shown
   * to the inviter (and e-mailed when SMTP is configured), and only its holder, signed in as that
   * address, can accept.
   */
  invite: orgManagerProcedure
    .input(z.object({ email: Email, role: GrantableRoleSchema }))
    .mutation(async ({ ctx, input }) => {
      const cfg = ctx.runtime.config;
      const db = ctx.runtime.database.db;
      await enforceThrottles(db, [
        {
          key: `invite:org:${ctx.org.id}`,
          policy: cfg.THROTTLE_INVITE_PER_ORG,
          refusal: 'Too many invitations',
        },
      ]);
      const { token, invitation } = await createInvitation(db, {
        orgId: ctx.org.id,
        actorId: ctx.user.id,
        actorRole: ctx.role,
        email: input.email,
        role: input.role,
        ttlMs: cfg.INVITATION_TTL_HOURS * 3_600_000,
        memberQuota: cfg.QUOTA_MEMBERS_PER_ORG,
      });
      const link = `${publicUrlOf(cfg)}${invitationPath(token)}`;
      const mailer = mailerFor(cfg);
      let emailed = false;
      let emailError: string | null = null;
      if (mailer.configured) {
        try {
          await mailer.send(
            invitationMail({
              to: invitation.email,
              orgName: ctx.org.name,
              inviterName: ctx.user.name,
              role: invitation.role,
              link,
              expiresAt: invitation.expiresAt,
            }),
          );
          emailed = true;
        } catch (err) {
          emailError = err instanceof Error ? err.message : 'The invitation e-mail could not be sent';
          createLogger(cfg.LOG_LEVEL, { component: 'mail' }).warn('invitation e-mail failed', {
            requestId: ctx.requestId,
            error: emailError,
          });
        }
      }
      return { invitation: { ...invitation, invitedBy: ctx.user.name }, link, emailed, emailError };
    }),

  invitations: orgManagerProcedure.query(({ ctx }) => listInvitations(ctx.runtime.database.db, ctx.org.id)),

  revokeInvitation: orgManagerProcedure
    .input(z.object({ invitationId: z.uuid() }))
    .mutation(async ({ ctx, input }) => {
      await revokeInvitation(ctx.runtime.database.db, ctx.org.id, input.invitationId);
      return { ok: true };
    }),

  changeRole: orgManagerProcedure
    .input(UserId.extend({ role: GrantableRoleSchema }))
    .mutation(({ ctx, input }) =>
      changeRole(
        ctx.runtime.database.db,
        { orgId: ctx.org.id, actorId: ctx.user.id },
        input.userId,
        input.role,
      ),
    ),

  /** Removes a member; their open chat sockets and live subscriptions close at once. */
  removeMember: orgManagerProcedure.input(UserId).mutation(async ({ ctx, input }) => {
    await removeMember(ctx.runtime.database.db, { orgId: ctx.org.id, actorId: ctx.user.id }, input.userId);
    await announceRevocation(ctx.runtime.database, {
      kind: 'membership',
      orgId: ctx.org.id,
      userId: input.userId,
    });
    return { ok: true };
  }),

  leave: orgMemberProcedure.mutation(async ({ ctx }) => {
    await leaveOrganization(ctx.runtime.database.db, { orgId: ctx.org.id, actorId: ctx.user.id });
    await announceRevocation(ctx.runtime.database, {
      kind: 'membership',
      orgId: ctx.org.id,
      userId: ctx.user.id,
    });
    return { ok: true };
  }),

  /** The owner makes another member the owner and becomes an admin. */
  transferOwnership: orgMemberProcedure
    .input(UserId)
    .mutation(({ ctx, input }) =>
      transferOwnership(ctx.runtime.database.db, { orgId: ctx.org.id, actorId: ctx.user.id }, input.userId),
    ),
});
