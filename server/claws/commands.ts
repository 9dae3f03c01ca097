import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { clawStream, TARGETS } from '../../events/catalog';
import { ProjectionConflictError } from '../../events/errors';
import type { EventStore } from '../../events/store';
import type { Actor } from '../../events/types';
import type { ClawState } from '../../projections/claws';
import { badRequest, conflict, notFound, preconditionFailed } from '../errors';
import { generateSecretToken } from '../secrets/keyring';
import { gatewayTokenSecret, type SecretStore } from '../secrets/secret-store';
import { text } from '../validation';
import { slugify } from './slug';

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
  target: z.enum(TARGETS).default('mac-mini'),
});

const metaOf = (ctx: CommandContext) => ({
  actor: ctx.actor,
  correlationId: ctx.correlationId ?? randomUUID(),
});
const requester = (actor: Actor) => actor.slice(actor.indexOf(':') + 1);

/** The slug a claw named `name` gets (the dashboard shows it before the claw is created). */
export const clawSlugFor = (name: string) => slugify(ClawName.parse(name), 50);

/**
 * Records a request for a new claw. The gateway token is generated here and stored encrypted
 * outside the log; the event carries its fingerprint. Everything else happens in the worker.
 */
export async function requestClaw(
  ctx: CommandContext,
  input: z.input<typeof RequestClawInput>,
): Promise<ClawState> {
  const parsed = RequestClawInput.safeParse(input);
  if (!parsed.success) throw badRequest('Invalid claw request', { issues: parsed.error.issues });
  const { orgId, name, target } = parsed.data;
  const slug = slugify(name, 50);
  const taken = await ctx.store.db
    .selectFrom('claws')
    .select('id')
    .where('org_id', '=', orgId)
    .where('slug', '=', slug)
    .where('status', '<>', 'deleted')
    .executeTakeFirst();
  if (taken) throw conflict(`A claw with the slug "${slug}" already exists in this organization`);

  const clawId = randomUUID();
  const token = generateSecretToken(32);
  const { fingerprint } = await ctx.secrets.put(gatewayTokenSecret(clawId), token);
  try {
    const r = await ctx.store.append(
      clawStream(clawId),
      0,
      [
        {
          type: 'ClawRequested',
          data: {
            clawId,
            orgId,
            slug,
            name,
            target,
            requestedBy: requester(ctx.actor),
            tokenFingerprint: fingerprint,
          },
        },
      ],
      metaOf(ctx),
      null,
    );
    return r.state as ClawState;
  } catch (err) {
    await ctx.secrets.delete(gatewayTokenSecret(clawId));
    if (err instanceof ProjectionConflictError && err.conflict === 'slug_taken')
      throw conflict(`A claw with the slug "${slug}" already exists in this organization`);
    throw err;
  }
}

async function loadLive(ctx: CommandContext, clawId: string): Promise<ClawState> {
  const claw = z.uuid().safeParse(clawId).success ? await ctx.store.loadClaw(clawId) : null;
  if (!claw || claw.status === 'deleted') throw notFound('Claw');
  return claw;
}

/** Asks for deletion; the worker stops the gateway, deletes the bucket and frees the port. Idempotent. */
export async function deleteClaw(ctx: CommandContext, clawId: string): Promise<ClawState> {
  const claw = await loadLive(ctx, clawId);
  if (claw.status === 'deleting') return claw;
  const r = await ctx.store.append(
    clawStream(clawId),
    claw.version,
    [{ type: 'ClawDeletionRequested', data: { requestedBy: requester(ctx.actor) } }],
    metaOf(ctx),
    claw,
  );
  return r.state as ClawState;
}

/** Sends a failed claw through provisioning again, once its compensation has finished. */
export async function retryClaw(ctx: CommandContext, clawId: string): Promise<ClawState> {
  const claw = await loadLive(ctx, clawId);
  if (claw.status !== 'failed')
    throw preconditionFailed(`Only a failed claw can be retried (this one is ${claw.status})`);
  if (claw.workPending)
    throw preconditionFailed('The failed attempt is still being cleaned up; try again in a moment');
  const r = await ctx.store.append(
    clawStream(clawId),
    claw.version,
    [{ type: 'ClawRetryRequested', data: { requestedBy: requester(ctx.actor) } }],
    metaOf(ctx),
    claw,
  );
  return r.state as ClawState;
}
