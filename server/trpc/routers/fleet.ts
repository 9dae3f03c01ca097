import { setTimeout as sleep } from 'node:timers/promises';
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
import { createDeploymentServices } from '../../deployment';
import { fleetMinis } from '../../../projections/minis';
import { Cursor, text } from '../../validation';
import type { Context } from '../context';
import { appendSignals, readThroughOutages } from '../live';
import { openLiveAccess } from '../live-access';
import { platformAdminProcedure, router } from '../init';

/** The agents sample their claws every 10 s. */
const FLEET_USAGE_POLL_MS = 10_000;

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

  /**
   * What each online Mini's claws hold resident (MB), as its agent reports it, every few seconds:
   * a gauge, not a fact, so it is asked for live and never recorded.
   */
  onUsage: platformAdminProcedure.subscription(async function* ({ ctx, signal }) {
    const live = await openLiveAccess(ctx, { signal });
    const agents = createDeploymentServices(ctx.runtime).agents;
    try {
      while (!live.signal.aborted) {
        const minis = (await fleetMinis(ctx.runtime.database.db).catch(() => [])).filter(
          (m) => m.status === 'online',
        );
        const seen = await Promise.all(
          minis.map(async (m) => {
            const h = await agents.health(m).catch(() => null);
            return h?.clawsMemoryMb !== undefined ? ([m.id, h.clawsMemoryMb] as const) : null;
          }),
        );
        yield Object.fromEntries(seen.filter((e) => e !== null)) as Record<string, number>;
        await sleep(FLEET_USAGE_POLL_MS, undefined, { signal: live.signal }).catch(() => undefined);
      }
      live.throwIfEnded();
    } finally {
      await live.close();
    }
  }),

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
