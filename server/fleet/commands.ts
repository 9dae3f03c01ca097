import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { miniStream, type MiniEvent } from '../../events/catalog';
import { ProjectionConflictError } from '../../events/errors';
import type { MiniState } from '../../projections/minis';
import type { CommandContext } from '../claws/commands';
import { badRequest, conflict, notFound, preconditionFailed } from '../errors';
import { agentTokenSecret } from '../secrets/secret-store';

const Hostname = z
  .string()
  .trim()
  .min(1)
  .max(253)
  .regex(/^[a-zA-Z0-9.-]+$/, 'letters, digits, dots and hyphens only');
const Port = z.coerce.number().int().min(1024).max(65535);
const AgentUrl = z
  .url()
  .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL')
  .transform((u) => u.replace(/\/+$/, ''));
const AgentToken = z.string().min(16, 'must be at least 16 characters').max(512);
const TunnelSuffix = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .regex(/^[a-z0-9.-]+$/, 'lowercase letters, digits, dots and hyphens only');

const withRange = <T extends { portRangeStart?: number; portRangeEnd?: number; capacity?: number }>(
  v: T,
  ctx: z.RefinementCtx,
) => {
  if (v.portRangeStart !== undefined && v.portRangeEnd !== undefined && v.portRangeEnd < v.portRangeStart)
    ctx.addIssue({ code: 'custom', path: ['portRangeEnd'], message: 'must not be below portRangeStart' });
  if (v.portRangeStart !== undefined && v.portRangeEnd !== undefined && v.capacity !== undefined)
    if (v.capacity > v.portRangeEnd - v.portRangeStart + 1)
      ctx.addIssue({
        code: 'custom',
        path: ['capacity'],
        message: 'must not exceed the number of ports in the range',
      });
};

export const RegisterMiniInput = z
  .object({
    hostname: Hostname,
    agentUrl: AgentUrl,
    agentToken: AgentToken,
    tunnelSuffix: TunnelSuffix,
    portRangeStart: Port,
    portRangeEnd: Port,
    capacity: z.coerce.number().int().min(1).max(1000),
  })
  .superRefine(withRange);

export const UpdateMiniInput = z
  .object({
    hostname: Hostname.optional(),
    agentUrl: AgentUrl.optional(),
    agentToken: AgentToken.optional(),
    tunnelSuffix: TunnelSuffix.optional(),
    portRangeStart: Port.optional(),
    portRangeEnd: Port.optional(),
    capacity: z.coerce.number().int().min(1).max(1000).optional(),
  })
  .superRefine(withRange);

function parse<T extends z.ZodType>(schema: T, input: unknown, what: string): z.infer<T> {
  const r = schema.safeParse(input);
  if (!r.success) {
    const summary = r.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ');
    throw badRequest(`Invalid ${what}: ${summary}`, { issues: r.error.issues });
  }
  return r.data;
}

const metaOf = (ctx: CommandContext) => ({
  actor: ctx.actor,
  correlationId: ctx.correlationId ?? randomUUID(),
});

function mapConflict(err: unknown): never {
  if (err instanceof ProjectionConflictError && err.conflict === 'hostname_taken')
    throw conflict(err.message);
  throw err;
}

/** Adds a Mini to the fleet. Its agent token is stored encrypted; the event carries a fingerprint. */
export async function registerMini(
  ctx: CommandContext,
  input: z.input<typeof RegisterMiniInput>,
): Promise<MiniState> {
  const m = parse(RegisterMiniInput, input, 'Mini');
  const taken = await ctx.store.db
    .selectFrom('mac_minis')
    .select('id')
    .where('hostname', '=', m.hostname)
    .where('status', '<>', 'removed')
    .executeTakeFirst();
  if (taken) throw conflict(`A Mini with the hostname ${m.hostname} is already registered`);
  const miniId = randomUUID();
  const { fingerprint } = await ctx.secrets.put(agentTokenSecret(miniId), m.agentToken);
  const { agentToken: _secret, ...data } = m;
  try {
    const r = await ctx.store.append(
      miniStream(miniId),
      0,
      [{ type: 'MiniRegistered', data: { miniId, ...data, agentTokenFingerprint: fingerprint } }],
      metaOf(ctx),
      null,
    );
    return r.state as MiniState;
  } catch (err) {
    await ctx.secrets.delete(agentTokenSecret(miniId));
    mapConflict(err);
  }
}

async function loadMini(ctx: CommandContext, miniId: string): Promise<MiniState> {
  const mini = z.uuid().safeParse(miniId).success ? await ctx.store.loadMini(miniId) : null;
  if (!mini || mini.status === 'removed') throw notFound('Mini');
  return mini;
}

async function appendMini(ctx: CommandContext, mini: MiniState, event: MiniEvent): Promise<MiniState> {
  try {
    const r = await ctx.store.append(miniStream(mini.id), mini.version, [event], metaOf(ctx), mini);
    return r.state as MiniState;
  } catch (err) {
    mapConflict(err);
  }
}

export async function updateMini(
  ctx: CommandContext,
  miniId: string,
  input: z.input<typeof UpdateMiniInput>,
): Promise<MiniState> {
  const mini = await loadMini(ctx, miniId);
  const changes = parse(UpdateMiniInput, input, 'Mini update');
  const start = changes.portRangeStart ?? mini.portRangeStart;
  const end = changes.portRangeEnd ?? mini.portRangeEnd;
  const capacity = changes.capacity ?? mini.capacity;
  if (end < start) throw badRequest('Invalid Mini update: portRangeEnd must not be below portRangeStart');
  if (capacity > end - start + 1)
    throw badRequest('Invalid Mini update: capacity exceeds the ports in the range');
  if (capacity < mini.allocated)
    throw preconditionFailed(
      `Capacity ${capacity} is below the ${mini.allocated} claws already on this Mini`,
    );
  if (start !== mini.portRangeStart || end !== mini.portRangeEnd) {
    const outside = await ctx.store.db
      .selectFrom('claws')
      .select('mini_port')
      .where('mini_id', '=', miniId)
      .where('mini_port', 'is not', null)
      .where((eb) => eb.or([eb('mini_port', '<', start), eb('mini_port', '>', end)]))
      .executeTakeFirst();
    if (outside) throw preconditionFailed(`Port ${outside.mini_port} is in use outside the new range`);
  }
  const { agentToken, ...rest } = changes;
  let agentTokenFingerprint: string | undefined;
  if (agentToken)
    agentTokenFingerprint = (await ctx.secrets.put(agentTokenSecret(miniId), agentToken)).fingerprint;
  const data = Object.fromEntries(
    Object.entries({ ...rest, agentTokenFingerprint }).filter(([, v]) => v !== undefined),
  );
  if (Object.keys(data).length === 0) return mini;
  return appendMini(ctx, mini, { type: 'MiniUpdated', data });
}

export async function cordonMini(ctx: CommandContext, miniId: string, reason?: string): Promise<MiniState> {
  const mini = await loadMini(ctx, miniId);
  if (mini.cordoned) return mini;
  return appendMini(ctx, mini, { type: 'MiniCordoned', data: reason ? { reason } : {} });
}

export async function uncordonMini(ctx: CommandContext, miniId: string): Promise<MiniState> {
  const mini = await loadMini(ctx, miniId);
  if (!mini.cordoned) return mini;
  return appendMini(ctx, mini, { type: 'MiniUncordoned', data: {} });
}

/** Takes a Mini out of the fleet; only an empty one (no claw holds a port on it). */
export async function removeMini(ctx: CommandContext, miniId: string): Promise<MiniState> {
  const mini = await loadMini(ctx, miniId);
  if (mini.allocated > 0)
    throw preconditionFailed(`The Mini still runs ${mini.allocated} claw(s); delete or move them first`);
  const r = await appendMini(ctx, mini, { type: 'MiniRemoved', data: {} });
  await ctx.secrets.delete(agentTokenSecret(miniId));
  return r;
}
