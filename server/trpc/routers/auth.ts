import { z } from 'zod';
import { announceRevocation } from '../../access/revocations';
import {
  clearedSessionCookie,
  createSession,
  revokeSession,
  sessionCookie,
  sessionPolicy,
} from '../../auth/session';
import { Email, login, Password, signup, UserName } from '../../auth/users';
import { enforceThrottles } from '../../limits/throttle';
import { loginThrottles, signupThrottles } from '../auth-throttles';
import type { Context } from '../context';
import { authedProcedure, publicProcedure, router } from '../init';

/** A new session for `userId`, its cookie on the response (when there is one). */
export async function startSession(ctx: Context, userId: string) {
  const db = ctx.runtime.database.db;
  if (ctx.session) {
    await revokeSession(db, ctx.session.id); // no fixation
    await announceRevocation(ctx.runtime.database, { kind: 'session', ids: [ctx.session.id] });
  }
  const policy = sessionPolicy(ctx.runtime.config);
  const { token, session } = await createSession(db, userId, {
    policy,
    userAgent: ctx.headers.get('user-agent'),
    clientAddress: ctx.clientAddress === 'unknown' ? null : ctx.clientAddress,
  });
  ctx.resHeaders?.append('set-cookie', sessionCookie(token, session.expiresAt, policy.secure));
}

/**
 * Sign-up, login and logout. Login and sign-up are throttled (server/trpc/auth-throttles.ts) before
 * any password is hashed, cannot share a batched request with other calls (server/trpc/http.ts),
 * and hash through the process's bounded queue (server/auth/passwords.ts).
 */
export const authRouter = router({
  signup: publicProcedure
    .input(z.object({ email: Email, password: Password, name: UserName }))
    .mutation(async ({ ctx, input }) => {
      const cfg = ctx.runtime.config;
      await enforceThrottles(ctx.runtime.database.db, signupThrottles(cfg, ctx.clientAddress));
      const user = await signup(ctx.runtime.database.db, input, { adminEmails: cfg.CLAWS_ADMIN_EMAILS });
      await startSession(ctx, user.id);
      return user;
    }),

  login: publicProcedure
    .input(z.object({ email: Email, password: z.string().min(1).max(200) }))
    .mutation(async ({ ctx, input }) => {
      const db = ctx.runtime.database.db;
      await enforceThrottles(db, loginThrottles(ctx.runtime.config, ctx.clientAddress, input.email));
      const user = await login(db, input);
      await startSession(ctx, user.id);
      return user;
    }),

  /** Ends this session; its chat sockets and live subscriptions close with it, on every instance. */
  logout: authedProcedure.mutation(async ({ ctx }) => {
    if (ctx.session) {
      await revokeSession(ctx.runtime.database.db, ctx.session.id);
      await announceRevocation(ctx.runtime.database, { kind: 'session', ids: [ctx.session.id] });
    }
    ctx.resHeaders?.append('set-cookie', clearedSessionCookie(ctx.runtime.config.production));
    return { ok: true };
  }),

  me: publicProcedure.query(({ ctx }) => ctx.user),
});
