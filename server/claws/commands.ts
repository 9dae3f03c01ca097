import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../db/types';
import { DEPLOYMENT_TARGETS } from '../../db/types';
import {
  decideDeletion,
  decideRequest,
  decideRestart,
  decideRetry,
  decideStart,
  decideStop,
  slugTaken,
  type ClawEvent,
  type ClawState,
} from '../../events/claw';
import { badRequest, isConflict, notFound } from '../../events/errors';
import type { MiniState } from '../../events/mini';
import type { EventStore } from '../../events/store';
import type { Actor } from '../../events/types';
import { backupById } from '../../projections/claw-backups';
import { clawsProjection, liveClawBySlug } from '../../projections/claws';
import { minisProjection } from '../../projections/minis';
import { fingerprint, generateSecretToken } from '../secrets/keyring';
import { gatewayTokenSecret, type SecretStore } from '../secrets/secret-store';
import { text } from '../validation';
import { slugify } from './slug';

/**
 * The claw commands: validate, load, decide (events/claw.ts), append. Each one returns the claw as
 * the append left it.
 */
export interface CommandContext {
  store: EventStore;
  secrets: SecretStore;
  actor: Actor;
  correlationId?: string;
}

export const ClawName = text(1, 60).refine(
  (n) => /[\p{L}\p{N}]/u.test(n),
  'must contain a letter or a digit',
);

export const RequestClawInput = z.object({
  orgId: z.uuid(),
  name: ClawName,
  target: z.enum(DEPLOYMENT_TARGETS).default('mac-mini'),
  /** A clone: the new claw starts from this backup of another claw of the organization. */
  fromBackup: z.uuid().optional(),
});

export const metaOf = (ctx: CommandContext) => ({
  actor: ctx.actor,
  correlationId: ctx.correlationId ?? randomUUID(),
});
/** Who asked, as events record it: the actor without its kind. */
export const requester = (actor: Actor) => actor.slice(actor.indexOf(':') + 1);

/** A setting a new claw starts with: a secret stored before it exists, and the event that records it. */
export interface InitialSetting {
  secret: (clawId: string) => string;
  value: string;
  event: ClawEvent;
}

/** The slug a claw named `name` gets (the dashboard shows it before the claw is created). */
export const clawSlugFor = (name: string) => slugify(ClawName.parse(name), 50);

/**
 * Records a request for a new claw. The gateway token is generated here and stored encrypted
 * outside the log; the event carries its fingerprint. Everything else happens in the worker.
 */
export async function requestClaw(
  ctx: CommandContext,
  input: z.input<typeof RequestClawInput>,
  opts: {
    /** Runs in the append's transaction before it (a quota checked under a lock: server/limits/quotas.ts). */
    guard?: (trx: Transaction<Database>) => Promise<void>;
    /** Settings it starts with (a model given at create), stored like its token. */
    initial?: readonly InitialSetting[];
  } = {},
): Promise<ClawState> {
  const parsed = RequestClawInput.safeParse(input);
  if (!parsed.success) throw badRequest('Invalid claw request', { issues: parsed.error.issues });
  const { orgId, name, target, fromBackup } = parsed.data;
  const slug = slugify(name, 50);
  const cloneOf = fromBackup ? await cloneSource(ctx, orgId, fromBackup) : undefined;
  const clawId = randomUUID();
  const token = generateSecretToken(32);
  const events = decideRequest(
    {
      clawId,
      orgId,
      slug,
      name,
      target,
      requestedBy: requester(ctx.actor),
      tokenFingerprint: fingerprint(token),
      ...(cloneOf ? { cloneOf } : {}),
    },
    { slugTaken: (await liveClawBySlug(ctx.store.db, orgId, slug)) !== null },
  );
  const initial = opts.initial ?? [];
  const stored = [gatewayTokenSecret(clawId), ...initial.map((s) => s.secret(clawId))];
  await ctx.secrets.put(gatewayTokenSecret(clawId), token);
  for (const s of initial) await ctx.secrets.put(s.secret(clawId), s.value);
  events.push(...initial.map((s) => s.event));
  try {
    const options = { expected: 0, known: null, meta: metaOf(ctx) } as const;
    const guard = opts.guard;
    const r = guard
      ? await ctx.store.transaction(async (tx) => {
          await guard(tx.db);
          return tx.append(clawsProjection, clawId, events, options);
        })
      : await ctx.store.append(clawsProjection, clawId, events, options);
    return r.state;
  } catch (err) {
    for (const key of stored) await ctx.secrets.delete(key);
    // Two requests for one slug at once: the read model's unique index lets only one in.
    if (isConflict(err, clawsProjection, 'slug_taken')) throw slugTaken(slug);
    throw err;
  }
}

/** The backup a clone starts from: one of a live claw of the same organization (else not found). */
async function cloneSource(ctx: CommandContext, orgId: string, backupId: string) {
  const backup = await backupById(ctx.store.db, backupId);
  const source = backup ? await ctx.store.load(clawsProjection, backup.clawId) : null;
  if (!backup || !source || source.orgId !== orgId || source.status === 'deleted') throw notFound('Backup');
  return { clawId: source.id, backupId: backup.backupId };
}

/** Loads a claw, decides, and appends what was decided (nothing, when the decision is a no-op). */
async function decideOn(
  ctx: CommandContext,
  clawId: string,
  decide: (claw: ClawState | null) => ClawEvent[],
): Promise<ClawState> {
  const claw = z.uuid().safeParse(clawId).success ? await ctx.store.load(clawsProjection, clawId) : null;
  const events = decide(claw);
  if (!claw) throw notFound('Claw');
  if (events.length === 0) return claw;
  const r = await ctx.store.append(clawsProjection, claw.id, events, {
    expected: claw.version,
    known: claw,
    meta: metaOf(ctx),
  });
  return r.state;
}

/** Asks for deletion; the worker stops the gateway, deletes the bucket and frees the port. Idempotent. */
export const deleteClaw = (ctx: CommandContext, clawId: string) =>
  decideOn(ctx, clawId, (c) => decideDeletion(c, requester(ctx.actor)));

/** Sends a failed claw through provisioning again, once its compensation has finished. */
export const retryClaw = (ctx: CommandContext, clawId: string) =>
  decideOn(ctx, clawId, (c) => decideRetry(c, requester(ctx.actor)));

/** Asks for a stop; the worker has the Mini stop the gateway, keeping the claw there. Idempotent. */
export const stopClaw = (ctx: CommandContext, clawId: string) =>
  decideOn(ctx, clawId, (c) => decideStop(c, requester(ctx.actor)));

/** Starts a stopped claw again on its Mini (start_agent, wait_ready). Idempotent. */
export const startClaw = (ctx: CommandContext, clawId: string) =>
  decideOn(ctx, clawId, (c) => decideStart(c, requester(ctx.actor)));

/**
 * A new gateway process for a running claw, its state kept: the agent restarts it, then, observed,
 * ClawRestarted is recorded. If the agent cannot be asked, nothing is recorded. Open chats drop and
 * reconnect; the reconciler degrades the claw if the new process does not come up.
 */
export async function restartClaw(
  ctx: CommandContext,
  agents: { restart(claw: ClawState, mini: MiniState | null): Promise<void> },
  clawId: string,
): Promise<ClawState> {
  const claw = z.uuid().safeParse(clawId).success ? await ctx.store.load(clawsProjection, clawId) : null;
  decideRestart(claw);
  await agents.restart(claw!, await ctx.store.load(minisProjection, claw!.miniId!));
  const r = await ctx.store.append(
    clawsProjection,
    claw!.id,
    [{ type: 'ClawRestarted', data: { requestedBy: requester(ctx.actor) } }],
    { expected: 'any', meta: metaOf(ctx) },
  );
  return r.state;
}
