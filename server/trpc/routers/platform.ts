import { z } from 'zod';
import { redeemBootstrapCode } from '../../auth/bootstrap';
import { enforceThrottles } from '../../limits/throttle';
import { bootstrapThrottles } from '../auth-throttles';
import { authedProcedure, router } from '../init';

/** Becoming the first platform admin with the one-time code the server printed at its first start. */
export const platformRouter = router({
  redeemBootstrap: authedProcedure
    .input(z.object({ code: z.string().trim().min(1).max(64) }))
    .mutation(async ({ ctx, input }) => {
      const db = ctx.runtime.database.db;
      await enforceThrottles(db, bootstrapThrottles(ctx.runtime.config, ctx.clientAddress));
      await redeemBootstrapCode(db, ctx.user.id, input.code);
      return { isPlatformAdmin: true };
    }),
});
