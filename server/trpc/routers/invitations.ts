import { z } from 'zod';
import { acceptInvitation, declineInvitation, viewInvitation } from '../../orgs/invitations';
import { authedProcedure, publicProcedure, router } from '../init';

/** The invitee's side: /invite/<token>. The token is the proof of having received the invitation. */
const Token = z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'is not an invitation link') });

export const invitationsRouter = router({
  get: publicProcedure
    .input(Token)
    .query(({ ctx, input }) => viewInvitation(ctx.runtime.database.db, input.token)),

  /** Joins, when signed in as the invited address. */
  accept: authedProcedure.input(Token).mutation(({ ctx, input }) =>
    acceptInvitation(ctx.runtime.database.db, input.token, ctx.user, {
      memberQuota: ctx.runtime.config.QUOTA_MEMBERS_PER_ORG,
    }),
  ),

  decline: publicProcedure.input(Token).mutation(async ({ ctx, input }) => {
    await declineInvitation(ctx.runtime.database.db, input.token);
    return { ok: true };
  }),
});
