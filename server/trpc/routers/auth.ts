import { z } from 'zod';
import { clearedSessionCookie, createSession, revokeSession, sessionCookie } from '../../auth/session';
import { Email, login, Password, signup, UserName } from '../../auth/users';
import type { Context } from '../context';
import { authedProcedure, publicProcedure, router } from '../init';

/** A new session for `userId`, its cookie on the response (when there is one). */
async function startSession(ctx: Context, userId: string) {
  if (ctx.session) await revokeSession(ctx.runtime.database.db, ctx.session.id); // no fixation
  const { token, session } = await createSession(ctx.runtime.database.db, userId);
  ctx.resHeaders?.append(
    'set-cookie',
    sessionCookie(token, session.expiresAt, ctx.runtime.config.production),
  );
}

export const authRouter = router({
  signup: publicProcedure
    .input(z.object({ email: Email, password: Password, name: UserName }))
    .mutation(async ({ ctx, input }) => {
      const user = await signup(ctx.runtime.database.db, input);
      await startSession(ctx, user.id);
      return user;
    }),

  login: publicProcedure
    .input(z.object({ email: Email, password: z.string().min(1).max(200) }))
    .mutation(async ({ ctx, input }) => {
      const user = await login(ctx.runtime.database.db, input);
      await startSession(ctx, user.id);
      return user;
    }),

  logout: authedProcedure.mutation(async ({ ctx }) => {
    if (ctx.session) await revokeSession(ctx.runtime.database.db, ctx.session.id);
    ctx.resHeaders?.append('set-cookie', clearedSessionCookie(ctx.runtime.config.production));
    return { ok: true };
  }),

  me: publicProcedure.query(({ ctx }) => ctx.user),
});
