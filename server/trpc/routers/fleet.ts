import { tracked } from '@trpc/server';
import { z } from 'zod';
import { clawStream } from '../../../events/claw';
import { miniStream } from '../../../events/mini';
import { headCheckpoint } from '../../../events/read';
import {
  cordonMini,
  RegisterMiniInput,
  registerMini,
  removeMini,
  unblockPort,
  uncordonMini,
  UpdateMiniInput,
  updateMini,
} from '../../fleet/commands';
import { fleetView } from '../../fleet/views';
import { Cursor, text } from '../../validation';
import type { Context } from '../context';
import { appendSignals, readThroughOutages } from '../live';
import { openLiveAccess } from '../live-access';
import { platformAdminProcedure, router } from '../init';

const MiniId = z.object({ miniId: z.uuid() });
const commandCtx = (ctx: Context & { actor: `user:${string}` }) => ({
  store: ctx.runtime.store,
  secrets: ctx.runtime.secrets,
  actor: ctx.actor,
  production: ctx.runtime.config.production,
});
const summary = (m: Awaited<ReturnType<typeof registerMini>>) => ({
  id: m.id,
  hostname: m.hostname,
  status: m.status,
  cordoned: m.cordoned,
});

export const fleetRouter = router({
  list: platformAdminProcedure.query(({ ctx }) => fleetView(ctx.runtime.database.db)),

  register: platformAdminProcedure
    .input(RegisterMiniInput)
    .mutation(async ({ ctx, input }) => summary(await registerMini(commandCtx(ctx), input))),

  update: platformAdminProcedure
    .input(MiniId.extend({ changes: UpdateMiniInput }))
    .mutation(async ({ ctx, input }) =>
      summary(await updateMini(commandCtx(ctx), input.miniId, input.changes)),
    ),

  cordon: platformAdminProcedure
    .input(MiniId.extend({ reason: text(1, 500).optional() }))
    .mutation(async ({ ctx, input }) =>
      summary(await cordonMini(commandCtx(ctx), input.miniId, input.reason)),
    ),

  uncordon: platformAdminProcedure
    .input(MiniId)
    .mutation(async ({ ctx, input }) => summary(await uncordonMini(commandCtx(ctx), input.miniId))),

  unblockPort: platformAdminProcedure
    .input(MiniId.extend({ port: z.number().int().min(1).max(65535) }))
    .mutation(async ({ ctx, input }) =>
      summary(await unblockPort(commandCtx(ctx), input.miniId, input.port)),
    ),

  remove: platformAdminProcedure
    .input(MiniId)
    .mutation(async ({ ctx, input }) => summary(await removeMini(commandCtx(ctx), input.miniId))),

  /** The whole fleet again whenever a Mini or an allocation changes. */
  onChange: platformAdminProcedure
    .input(z.object({ lastEventId: Cursor.nullish() }).optional())
    .subscription(async function* ({ ctx, input, signal }) {
      const { store, database } = ctx.runtime;
      const live = await openLiveAccess(ctx, { signal });
      const signals = appendSignals(store, live.signal);
      const read = <T>(fn: () => Promise<T>) => readThroughOutages(fn, live.signal);
      try {
        let checkpoint = input?.lastEventId ?? (await read(() => headCheckpoint(database.db)));
        do {
          let changed = false;
          for (;;) {
            const page = await read(() => store.readAll(checkpoint, 1000));
            checkpoint = page.checkpoint;
            changed ||= page.events.some(
              (e) =>
                miniStream.owns(e) ||
                (clawStream.owns(e) && (e.type === 'MiniAllocated' || e.type === 'AllocationReleased')),
            );
            if (page.events.length < 1000) break;
          }
          if (changed) yield tracked(checkpoint, await read(() => fleetView(database.db)));
        } while (await signals.next());
        live.throwIfEnded();
      } finally {
        signals.close();
        await live.close();
      }
    }),
});
