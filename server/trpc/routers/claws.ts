import { TRPCError, tracked } from '@trpc/server';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../../db/types';
import { clawStream, type ClawState } from '../../../events/claw';
import { checkpointOf, headCheckpoint } from '../../../events/read';
import { streamEntityId } from '../../../events/stream';
import { clawsOfOrg, clawsProjection, liveClawBySlug, liveClaws } from '../../../projections/claws';
import { miniHostnames } from '../../../projections/minis';
import { ClawName, clawSlugFor, deleteClaw, requestClaw, retryClaw } from '../../claws/commands';
import { clawView, timelineEntry, type Audience } from '../../claws/views';
import { appendSignals, readThroughOutages } from '../live';
import { RateLimiter } from '../rate-limit';
import type { Context } from '../context';
import { authedProcedure, orgAdminProcedure, orgProcedure, router } from '../init';

const ClawSlug = z
  .string()
  .trim()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9-]+$/, 'lowercase letters, digits and hyphens only');
const Cursor = z
  .string()
  .max(64)
  .regex(/^\d{1,20}:\d{1,18}$/)
  .nullish();
const createLimiter = new RateLimiter(10, 10);

/** Platform admins operate the fleet and see failures as they were; everyone else reads words. */
const audienceOf = (ctx: { user: { is_platform_admin: boolean } }): Audience =>
  ctx.user.is_platform_admin ? 'operator' : 'member';

async function viewsOf(db: Kysely<Database>, claws: ClawState[], audience: Audience) {
  const miniIds = [...new Set(claws.map((c) => c.miniId).filter((id): id is string => id !== null))];
  const hostnames = await miniHostnames(db, miniIds);
  return claws.map((c) => clawView(c, c.miniId ? (hostnames.get(c.miniId) ?? null) : null, audience));
}

async function findClaw(ctx: Context & { org: { id: string } }, slug: string): Promise<ClawState> {
  const claw = await liveClawBySlug(ctx.runtime.database.db, ctx.org.id, slug);
  if (!claw) throw new TRPCError({ code: 'NOT_FOUND', message: 'Claw not found' });
  return claw;
}

const commandCtx = (ctx: Context & { user: { id: string } }) => ({
  store: ctx.runtime.store,
  secrets: ctx.runtime.secrets,
  actor: `user:${ctx.user.id}` as const,
});

export const clawsRouter = router({
  create: orgProcedure.input(z.object({ name: ClawName })).mutation(async ({ ctx, input }) => {
    if (!createLimiter.take(ctx.org.id))
      throw new TRPCError({
        code: 'TOO_MANY_REQUESTS',
        message: 'Too many new claws at once; wait a minute',
      });
    const claw = await requestClaw(commandCtx(ctx), {
      orgId: ctx.org.id,
      name: input.name,
      target: ctx.runtime.config.DEPLOYMENT_TARGET,
    });
    return clawView(claw, null, audienceOf(ctx));
  }),

  slugPreview: authedProcedure.input(z.object({ name: z.string().max(200) })).query(({ input }) => {
    const parsed = ClawName.safeParse(input.name);
    return parsed.success ? { slug: clawSlugFor(parsed.data), valid: true } : { slug: null, valid: false };
  }),

  list: orgProcedure.query(async ({ ctx }) => {
    const db = ctx.runtime.database.db;
    return viewsOf(db, await liveClaws(db, ctx.org.id), audienceOf(ctx));
  }),

  get: orgProcedure.input(z.object({ clawSlug: ClawSlug })).query(async ({ ctx, input }) => {
    const [view] = await viewsOf(
      ctx.runtime.database.db,
      [await findClaw(ctx, input.clawSlug)],
      audienceOf(ctx),
    );
    return view!;
  }),

  timeline: orgProcedure.input(z.object({ clawSlug: ClawSlug })).query(async ({ ctx, input }) => {
    const claw = await findClaw(ctx, input.clawSlug);
    const events = await ctx.runtime.store.readStream(clawStream, claw.id);
    return events.map((e, i) => timelineEntry(e, events[i - 1], audienceOf(ctx)));
  }),

  stateAt: orgProcedure
    .input(z.object({ clawSlug: ClawSlug, version: z.number().int().min(1).max(1_000_000) }))
    .query(async ({ ctx, input }) => {
      const claw = await findClaw(ctx, input.clawSlug);
      const state = await ctx.runtime.store.stateAt(clawsProjection, claw.id, input.version);
      return state ? clawView(state, null, audienceOf(ctx)) : null;
    }),

  delete: orgAdminProcedure.input(z.object({ clawSlug: ClawSlug })).mutation(async ({ ctx, input }) => {
    const claw = await findClaw(ctx, input.clawSlug);
    return clawView(await deleteClaw(commandCtx(ctx), claw.id), null, audienceOf(ctx));
  }),

  retry: orgAdminProcedure.input(z.object({ clawSlug: ClawSlug })).mutation(async ({ ctx, input }) => {
    const claw = await findClaw(ctx, input.clawSlug);
    return clawView(await retryClaw(commandCtx(ctx), claw.id), null, audienceOf(ctx));
  }),

  /** Every change of the org's claws, as claw views; resumes after `lastEventId`. */
  onChange: orgProcedure.input(z.object({ lastEventId: Cursor })).subscription(async function* ({
    ctx,
    input,
    signal,
  }) {
    const { store, database } = ctx.runtime;
    const signals = appendSignals(store, signal);
    const read = <T>(fn: () => Promise<T>) => readThroughOutages(fn, signal);
    try {
      let checkpoint = input.lastEventId ?? (await read(() => headCheckpoint(database.db)));
      do {
        for (;;) {
          const page = await read(() => store.readAll(checkpoint, 500));
          if (page.events.length === 0) break;
          const last = new Map<string, string>();
          for (const e of page.events)
            if (clawStream.owns(e)) last.set(streamEntityId(e.streamId), checkpointOf(e));
          checkpoint = page.checkpoint;
          if (last.size) {
            const views = await read(async () =>
              viewsOf(
                database.db,
                await clawsOfOrg(database.db, ctx.org.id, [...last.keys()]),
                audienceOf(ctx),
              ),
            );
            views.sort((a, b) => last.get(a.id)!.localeCompare(last.get(b.id)!, 'en', { numeric: true }));
            for (const v of views) yield tracked(last.get(v.id)!, v);
          }
          if (page.events.length < 500) break;
        }
      } while (await signals.next());
    } finally {
      signals.close();
    }
  }),

  /** New timeline entries of one claw; the tracked id is the stream version. */
  onTimeline: orgProcedure
    .input(
      z.object({
        clawSlug: ClawSlug,
        lastEventId: z
          .string()
          .regex(/^\d{1,9}$/)
          .nullish(),
      }),
    )
    .subscription(async function* ({ ctx, input, signal }) {
      const claw = await findClaw(ctx, input.clawSlug);
      const signals = appendSignals(ctx.runtime.store, signal);
      const read = <T>(fn: () => Promise<T>) => readThroughOutages(fn, signal);
      try {
        let version = input.lastEventId ? Number(input.lastEventId) : claw.version;
        let previous =
          version > 0
            ? (
                await read(() =>
                  ctx.runtime.store.readStream(clawStream, claw.id, {
                    fromVersion: version,
                    toVersion: version,
                  }),
                )
              )[0]
            : undefined;
        do {
          const events = await read(() =>
            ctx.runtime.store.readStream(clawStream, claw.id, { fromVersion: version + 1 }),
          );
          for (const e of events) {
            yield tracked(String(e.streamVersion), timelineEntry(e, previous, audienceOf(ctx)));
            previous = e;
            version = e.streamVersion;
          }
        } while (await signals.next());
      } finally {
        signals.close();
      }
    }),
});
