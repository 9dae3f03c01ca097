import { TRPCError } from '@trpc/server';
import { accessWatchFor, type AccessEnded } from '../access/watch';
import { sessionPolicy } from '../auth/session';
import { leaseBookFor } from '../limits/leases';
import type { Context } from './context';

const ENDED: Record<AccessEnded, TRPCError> = {
  session: new TRPCError({ code: 'UNAUTHORIZED', message: 'Your session ended; sign in again' }),
  membership: new TRPCError({
    code: 'FORBIDDEN',
    message: 'You are no longer a member of this organization',
  }),
  token: new TRPCError({ code: 'UNAUTHORIZED', message: 'This API token was revoked' }),
};

/**
 * What a live subscription holds while it streams: a lease counted against the principal's
 * QUOTA_SUBSCRIPTIONS_PER_USER (in the database, across instances), and a place in the access
 * watch, so logout, a session's revocation, removal from the organization or a token's revocation
 * ends it at once. `signal` aborts on either the client leaving or access ending; after the loop,
 * `throwIfEnded()` tells the client why (UNAUTHORIZED/FORBIDDEN: it does not reconnect).
 */
export async function openLiveAccess(
  ctx: Context & { principal: string },
  opts: { orgId?: string; signal: AbortSignal | undefined },
) {
  const db = ctx.runtime.database.db;
  const book = leaseBookFor(db);
  const leaseId = await book.acquire(
    ctx.principal,
    'subscription',
    ctx.runtime.config.QUOTA_SUBSCRIPTIONS_PER_USER,
  );
  const ended = new AbortController();
  let why: AccessEnded | undefined;
  const unregister = accessWatchFor(ctx.runtime.database, sessionPolicy(ctx.runtime.config)).register({
    sessionId: ctx.session?.id,
    userId: ctx.user?.id,
    tokenId: ctx.apiToken?.id,
    orgId: opts.orgId,
    end(reason) {
      why = reason;
      ended.abort();
    },
  });
  const signal = opts.signal ? AbortSignal.any([opts.signal, ended.signal]) : ended.signal;
  return {
    signal,
    throwIfEnded() {
      if (why) throw ENDED[why];
    },
    async close() {
      unregister();
      await book.release(leaseId);
    },
  };
}
