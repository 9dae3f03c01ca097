import { z } from 'zod';
import { announceRevocation } from '../../access/revocations';
import { listSessions, revokeOwnSession, revokeUserSessions, sessionPolicy } from '../../auth/session';
import { changePassword, Password } from '../../auth/users';
import { notFound } from '../../../events/errors';
import { enforceThrottles } from '../../limits/throttle';
import { passwordThrottles } from '../auth-throttles';
import { authedProcedure, router } from '../init';

/** The signed-in user's own sessions and password. */
export const accountRouter = router({
  sessions: authedProcedure.query(async ({ ctx }) => {
    const sessions = await listSessions(
      ctx.runtime.database.db,
      ctx.user.id,
      sessionPolicy(ctx.runtime.config),
    );
    return sessions.map((s) => ({ ...s, current: s.id === ctx.session?.id }));
  }),

  /** Ends one of your sessions (another browser, a lost laptop); its sockets close with it. */
  revokeSession: authedProcedure.input(z.object({ sessionId: z.uuid() })).mutation(async ({ ctx, input }) => {
    if (!(await revokeOwnSession(ctx.runtime.database.db, ctx.user.id, input.sessionId)))
      throw notFound('Session');
    await announceRevocation(ctx.runtime.database, { kind: 'session', ids: [input.sessionId] });
    return { ok: true };
  }),

  revokeOtherSessions: authedProcedure.mutation(async ({ ctx }) => {
    const ids = await revokeUserSessions(ctx.runtime.database.db, ctx.user.id, ctx.session?.id);
    await announceRevocation(ctx.runtime.database, { kind: 'session', ids });
    return { revoked: ids.length };
  }),

  /** Checks the current password (throttled), sets the new one and ends every other session. */
  changePassword: authedProcedure
    .input(z.object({ currentPassword: z.string().min(1).max(200), newPassword: Password }))
    .mutation(async ({ ctx, input }) => {
      const db = ctx.runtime.database.db;
      await enforceThrottles(db, passwordThrottles(ctx.runtime.config, ctx.clientAddress, ctx.user.id));
      await changePassword(db, ctx.user.id, input);
      const ids = await revokeUserSessions(db, ctx.user.id, ctx.session?.id);
      await announceRevocation(ctx.runtime.database, { kind: 'session', ids });
      return { otherSessionsEnded: ids.length };
    }),
});
