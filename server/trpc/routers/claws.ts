import { setTimeout as sleep } from 'node:timers/promises';
import { TRPCError, tracked } from '@trpc/server';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../../db/types';
import { clawStream, type ClawState } from '../../../events/claw';
import { checkpointOf, headCheckpoint } from '../../../events/read';
import { streamEntityId } from '../../../events/stream';
import { clawsOfOrg, clawsProjection, liveClawBySlug, liveClaws } from '../../../projections/claws';
import { miniHostnames } from '../../../projections/minis';
import {
  ClawName,
  clawSlugFor,
  deleteClaw,
  metaOf,
  requestClaw,
  requester,
  restartClaw,
  retryClaw,
  startClaw,
  stopClaw,
} from '../../claws/commands';
import {
  clawModelView,
  clearClawModel,
  initialModel,
  ModelSettingsInput,
  orgModelView,
  PROVIDERS,
  setClawModel,
  setOrgModel,
} from '../../claws/model';
import { clawSecretsView, removeClawSecret, SecretInput, setClawSecret } from '../../claws/secrets';
import { backupsView, requestRestore, retentionOf, takeBackup } from '../../claws/backups';
import { atLeast, clawLogs, clawUsage, followClawLogs } from '../../claws/observe';
import { forMembers } from '../../claws/member-text';
import { clawView, timelineEntry, type Audience } from '../../claws/views';
import { LogLevel, SecretName } from '../../fleet/agent-api';
import { createDeploymentServices } from '../../deployment';
import { assertClawQuota, lockOrganization } from '../../limits/quotas';
import { enforceThrottles } from '../../limits/throttle';
import { Cursor } from '../../validation';
import { appendSignals, readThroughOutages } from '../live';
import { openLiveAccess } from '../live-access';
import type { Context } from '../context';
import { authedProcedure, orgAdminProcedure, orgProcedure, router, type Actor } from '../init';

/** The agent samples every 10 s; asking a little more often keeps the page within a sample of it. */
const USAGE_POLL_MS = 5000;

const ClawSlug = z
  .string()
  .trim()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9-]+$/, 'lowercase letters, digits and hyphens only');

/** Platform admins operate the fleet and see failures as they were; everyone else reads words. */
const audienceOf = (ctx: { user: { is_platform_admin: boolean } | null }): Audience =>
  ctx.user?.is_platform_admin ? 'operator' : 'member';

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

const commandCtx = (ctx: Context & { actor: Actor }) => ({
  store: ctx.runtime.store,
  secrets: ctx.runtime.secrets,
  actor: ctx.actor,
});

const backupDeps = (ctx: Context) => ({
  store: ctx.runtime.store,
  buckets: ctx.runtime.buckets,
  agents: createDeploymentServices(ctx.runtime).agents,
  retention: retentionOf(ctx.runtime.config),
});

const providerChoices = () =>
  Object.entries(PROVIDERS).map(([id, p]) => ({
    id: id as keyof typeof PROVIDERS,
    label: p.label,
    baseUrl: p.baseUrl,
    example: p.example,
  }));

export const clawsRouter = router({
  /** A new claw; with `fromBackup`, a clone of another claw of the organization from one of its backups. */
  create: orgProcedure
    .input(
      z.object({
        name: ClawName,
        fromBackup: z.uuid().optional(),
        /** Its model from the start (optional; the key is required then). */
        model: ModelSettingsInput.optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const cfg = ctx.runtime.config;
      if (input.model && !input.model.apiKey)
        throw new TRPCError({ code: 'BAD_REQUEST', message: 'Enter the API key for the model' });
      // In the database, so the rate holds across server instances; per caller and per organization.
      await enforceThrottles(ctx.runtime.database.db, [
        {
          key: `claw-create:principal:${ctx.principal}`,
          policy: cfg.THROTTLE_CLAW_CREATE_PER_USER,
          refusal: 'You are creating claws too fast',
        },
        {
          key: `claw-create:org:${ctx.org.id}`,
          policy: cfg.THROTTLE_CLAW_CREATE_PER_ORG,
          refusal: 'Too many new claws in this organization at once',
        },
      ]);
      const claw = await requestClaw(
        commandCtx(ctx),
        {
          orgId: ctx.org.id,
          name: input.name,
          target: cfg.DEPLOYMENT_TARGET,
          ...(input.fromBackup ? { fromBackup: input.fromBackup } : {}),
        },
        {
          // Counted under the organization's row lock, in the append's own transaction.
          guard: async (trx) => {
            await lockOrganization(trx, ctx.org.id);
            await assertClawQuota(trx, ctx.org.id, cfg.QUOTA_CLAWS_PER_ORG);
          },
          ...(input.model ? { initial: [initialModel(input.model, requester(ctx.actor))] } : {}),
        },
      );
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

  /** Stops the claw's gateway; the claw keeps its Mini, port, bucket and files (ClawStopRequested). */
  stop: orgAdminProcedure.input(z.object({ clawSlug: ClawSlug })).mutation(async ({ ctx, input }) => {
    const claw = await findClaw(ctx, input.clawSlug);
    return clawView(await stopClaw(commandCtx(ctx), claw.id), null, audienceOf(ctx));
  }),

  /** Starts a stopped claw again on its Mini (ClawStartRequested). */
  start: orgAdminProcedure.input(z.object({ clawSlug: ClawSlug })).mutation(async ({ ctx, input }) => {
    const claw = await findClaw(ctx, input.clawSlug);
    return clawView(await startClaw(commandCtx(ctx), claw.id), null, audienceOf(ctx));
  }),

  /** A new gateway process for a running claw, its state kept (ClawRestarted once the agent did it). */
  restart: orgAdminProcedure.input(z.object({ clawSlug: ClawSlug })).mutation(async ({ ctx, input }) => {
    const claw = await findClaw(ctx, input.clawSlug);
    const agents = createDeploymentServices(ctx.runtime).agents;
    return clawView(await restartClaw(commandCtx(ctx), agents, claw.id), null, audienceOf(ctx));
  }),

  /** The claw's model (the key as a fingerprint) and the providers one can choose. */
  model: orgProcedure.input(z.object({ clawSlug: ClawSlug })).query(async ({ ctx, input }) => {
    const claw = await findClaw(ctx, input.clawSlug);
    return {
      current: await clawModelView(ctx.runtime.secrets, claw),
      /** Owners and admins change it; members see it. */
      canChange: ctx.role === 'owner' || ctx.role === 'admin',
      providers: providerChoices(),
    };
  }),

  /** Sets the claw's model; a running gateway restarts with it (recorded as ClawModelSet). */
  setModel: orgAdminProcedure
    .input(z.object({ clawSlug: ClawSlug, settings: ModelSettingsInput }))
    .mutation(async ({ ctx, input }) => {
      const claw = await findClaw(ctx, input.clawSlug);
      const agents = createDeploymentServices(ctx.runtime).agents;
      const r = await setClawModel(commandCtx(ctx), agents, claw.id, input.settings);
      return { restarted: r.restarted, model: await clawModelView(ctx.runtime.secrets, claw) };
    }),

  clearModel: orgAdminProcedure.input(z.object({ clawSlug: ClawSlug })).mutation(async ({ ctx, input }) => {
    const claw = await findClaw(ctx, input.clawSlug);
    const r = await clearClawModel(commandCtx(ctx), createDeploymentServices(ctx.runtime).agents, claw.id);
    return { restarted: r.restarted };
  }),

  /** The organization's default model, which its claws without their own inherit. */
  defaultModel: orgProcedure.query(async ({ ctx }) => ({
    current: await orgModelView(ctx.runtime.secrets, ctx.org.id),
    canChange: ctx.role === 'owner' || ctx.role === 'admin',
    providers: providerChoices(),
  })),

  /** Sets the default; every running claw that inherits it restarts with it (ClawModelSet, inherited). */
  setDefaultModel: orgAdminProcedure
    .input(z.object({ settings: ModelSettingsInput }))
    .mutation(async ({ ctx, input }) => {
      const agents = createDeploymentServices(ctx.runtime).agents;
      return setOrgModel(commandCtx(ctx), agents, ctx.org.id, input.settings);
    }),

  clearDefaultModel: orgAdminProcedure.mutation(async ({ ctx }) => {
    const agents = createDeploymentServices(ctx.runtime).agents;
    return setOrgModel(commandCtx(ctx), agents, ctx.org.id, null);
  }),

  /** The claw's named secrets: names, fingerprints and when each was set, never a value. */
  secrets: orgProcedure.input(z.object({ clawSlug: ClawSlug })).query(async ({ ctx, input }) => {
    const claw = await findClaw(ctx, input.clawSlug);
    return {
      secrets: await clawSecretsView(ctx.runtime.secrets, claw.id),
      canChange: ctx.role === 'owner' || ctx.role === 'admin',
    };
  }),

  /** Sets one named secret; a running gateway restarts with it (ClawSecretSet). */
  setSecret: orgAdminProcedure
    .input(z.object({ clawSlug: ClawSlug, secret: SecretInput }))
    .mutation(async ({ ctx, input }) => {
      const claw = await findClaw(ctx, input.clawSlug);
      const agents = createDeploymentServices(ctx.runtime).agents;
      const r = await setClawSecret(commandCtx(ctx), agents, claw.id, input.secret);
      return { restarted: r.restarted };
    }),

  removeSecret: orgAdminProcedure
    .input(z.object({ clawSlug: ClawSlug, name: SecretName }))
    .mutation(async ({ ctx, input }) => {
      const claw = await findClaw(ctx, input.clawSlug);
      const agents = createDeploymentServices(ctx.runtime).agents;
      const r = await removeClawSecret(commandCtx(ctx), agents, claw.id, input.name);
      return { restarted: r.restarted };
    }),

  /** The claw's backups, newest first, and whether the newest is overdue. */
  backups: orgProcedure.input(z.object({ clawSlug: ClawSlug })).query(async ({ ctx, input }) => {
    const claw = await findClaw(ctx, input.clawSlug);
    return {
      ...(await backupsView(ctx.runtime.store, claw, ctx.runtime.config.BACKUP_INTERVAL_MS)),
      /** Owners and admins back up and restore; members see the list. */
      canChange: ctx.role === 'owner' || ctx.role === 'admin',
    };
  }),

  /** Backs the claw up now (ClawBackupTaken, or ClawBackupFailed and an error). */
  backupNow: orgAdminProcedure.input(z.object({ clawSlug: ClawSlug })).mutation(async ({ ctx, input }) => {
    const claw = await findClaw(ctx, input.clawSlug);
    const b = await takeBackup(backupDeps(ctx), metaOf(commandCtx(ctx)), claw.id, 'manual');
    return { backupId: b.backupId, bytes: b.bytes, takenAt: b.takenAt };
  }),

  /** Rolls the claw back to one of its backups (ClawRestoreRequested; the worker does it). */
  restore: orgAdminProcedure
    .input(z.object({ clawSlug: ClawSlug, backupId: z.uuid() }))
    .mutation(async ({ ctx, input }) => {
      const claw = await findClaw(ctx, input.clawSlug);
      return clawView(await requestRestore(commandCtx(ctx), claw.id, input.backupId), null, audienceOf(ctx));
    }),

  /** The tail of the claw's gateway output (redacted on its Mini), for owners and admins. */
  logs: orgAdminProcedure
    .input(
      z.object({
        clawSlug: ClawSlug,
        limit: z.number().int().min(1).max(2000).default(300),
        level: LogLevel.optional(),
      }),
    )
    .query(async ({ ctx, input }) => {
      const claw = await findClaw(ctx, input.clawSlug);
      const agents = createDeploymentServices(ctx.runtime).agents;
      const r = await clawLogs(ctx.runtime.store, agents, claw, { limit: input.limit });
      return { lines: atLeast(r.lines, input.level), offset: r.offset, file: r.file };
    }),

  /** The claw's gateway output as it is written, from `after` (the offset `logs` answered). */
  onLogs: orgAdminProcedure
    .input(
      z.object({
        clawSlug: ClawSlug,
        after: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
        file: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
        level: LogLevel.optional(),
      }),
    )
    .subscription(async function* ({ ctx, input, signal }) {
      const claw = await findClaw(ctx, input.clawSlug);
      const live = await openLiveAccess(ctx, { orgId: ctx.org.id, signal });
      const agents = createDeploymentServices(ctx.runtime).agents;
      const audience = audienceOf(ctx);
      try {
        for await (const batch of followClawLogs(
          ctx.runtime.store,
          agents,
          claw,
          { offset: input.after, file: input.file },
          live.signal,
        ))
          yield {
            lines: atLeast(batch.lines, input.level),
            offset: batch.offset,
            error: batch.error && (audience === 'operator' ? batch.error : forMembers(batch.error)),
          };
        live.throwIfEnded();
      } finally {
        await live.close();
      }
    }),

  /**
   * What the claw uses on its Mini: its processes' memory and CPU over the last minutes, and its
   * disk; a new sample as the agent takes it (about every 10 s). Members see it.
   */
  onUsage: orgProcedure.input(z.object({ clawSlug: ClawSlug })).subscription(async function* ({
    ctx,
    input,
    signal,
  }) {
    const claw = await findClaw(ctx, input.clawSlug);
    const live = await openLiveAccess(ctx, { orgId: ctx.org.id, signal });
    const agents = createDeploymentServices(ctx.runtime).agents;
    try {
      let last: string | undefined;
      while (!live.signal.aborted) {
        const usage = await clawUsage(ctx.runtime.store, agents, claw).catch(() => null);
        const newest = usage?.samples.at(-1)?.at;
        if (usage && newest !== last) {
          last = newest;
          yield usage;
        }
        await sleep(USAGE_POLL_MS, undefined, { signal: live.signal }).catch(() => undefined);
      }
      live.throwIfEnded();
    } finally {
      await live.close();
    }
  }),

  /** Every change of the org's claws, as claw views; resumes after `lastEventId`. */
  onChange: orgProcedure.input(z.object({ lastEventId: Cursor.nullish() })).subscription(async function* ({
    ctx,
    input,
    signal,
  }) {
    const { store, database } = ctx.runtime;
    const live = await openLiveAccess(ctx, { orgId: ctx.org.id, signal });
    const signals = appendSignals(store, live.signal);
    const read = <T>(fn: () => Promise<T>) => readThroughOutages(fn, live.signal);
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
      live.throwIfEnded();
    } finally {
      signals.close();
      await live.close();
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
      const live = await openLiveAccess(ctx, { orgId: ctx.org.id, signal });
      const signals = appendSignals(ctx.runtime.store, live.signal);
      const read = <T>(fn: () => Promise<T>) => readThroughOutages(fn, live.signal);
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
        live.throwIfEnded();
      } finally {
        signals.close();
        await live.close();
      }
    }),
});
