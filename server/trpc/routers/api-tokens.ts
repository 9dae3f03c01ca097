import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { announceRevocation } from '../../access/revocations';
import { createApiToken, listApiTokens, revokeApiToken } from '../../auth/api-tokens';
import { ForbiddenError } from '../../limits/errors';
import { GrantableRoleSchema } from '../../orgs/memberships';
import { mayGrant } from '../../orgs/roles';
import { text } from '../../validation';
import { orgManagerProcedure, publicProcedure, router } from '../init';

/** API tokens of an organization, managed by its owners and admins (never by a token). */
export const apiTokensRouter = router({
  list: orgManagerProcedure.query(({ ctx }) => listApiTokens(ctx.runtime.database.db, ctx.org.id)),

  /** The token is in this answer and nowhere else, ever: it is stored as a hash. */
  create: orgManagerProcedure
    .input(z.object({ name: text(1, 60), role: GrantableRoleSchema }))
    .mutation(async ({ ctx, input }) => {
      const d = mayGrant(ctx.role, input.role);
      if (!d.ok) throw new ForbiddenError(d.why);
      return createApiToken(ctx.runtime.database.db, {
        orgId: ctx.org.id,
        name: input.name,
        role: input.role,
        createdBy: ctx.user.id,
        quota: ctx.runtime.config.QUOTA_API_TOKENS_PER_ORG,
      });
    }),

  /** Revokes a token; its live subscriptions end at once. */
  revoke: orgManagerProcedure.input(z.object({ tokenId: z.uuid() })).mutation(async ({ ctx, input }) => {
    await revokeApiToken(ctx.runtime.database.db, ctx.org.id, input.tokenId);
    await announceRevocation(ctx.runtime.database, { kind: 'token', id: input.tokenId });
    return { ok: true };
  }),

  /** The calling token's organization and role (what `claws --url` shows and defaults to). */
  whoami: publicProcedure.query(async ({ ctx }) => {
    const t = ctx.apiToken;
    if (!t)
      throw new TRPCError({
        code: 'UNAUTHORIZED',
        message: 'Send an API token: Authorization: Bearer claws_…',
      });
    const org = await ctx.runtime.database.db
      .selectFrom('organizations')
      .select(['slug', 'name'])
      .where('id', '=', t.orgId)
      .executeTakeFirstOrThrow();
    return { name: t.name, role: t.role, org };
  }),
});
