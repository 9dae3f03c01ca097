import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { badRequest, conflict, isConflict } from '../../events/errors';
import {
  decideCordon,
  decidePortUnblocked,
  decideRemoval,
  decideUncordon,
  decideUpdate,
  liveMini,
  portSlots,
  type MiniEvent,
  type MiniState,
} from '../../events/mini';
import { portsInUse } from '../../projections/claws';
import { miniByHostname, minisProjection } from '../../projections/minis';
import { metaOf, type CommandContext } from '../claws/commands';
import { fingerprint } from '../secrets/keyring';
import { agentTokenSecret } from '../secrets/secret-store';
import { DEV_AGENT_TOKEN } from './agent-api';
import { CertFingerprint } from './agent-tls';

/**
 * Fleet commands need to know whether they run in production: a production control plane speaks
 * only TLS to its agents and never registers one with the public dev token. Required, so no
 * caller can forget to say it.
 */
export type FleetCommandContext = CommandContext & { production: boolean };

const Hostname = z
  .string()
  .trim()
  .min(1)
  .max(253)
  .regex(/^[a-zA-Z0-9.-]+$/, 'letters, digits, dots and hyphens only');
/**
 * Below the operating systems' ephemeral ranges (Linux 32768–60999, macOS 49152–65535): the kernel
 * hands those to outgoing connections, and a gateway would find its port taken at random.
 */
const EPHEMERAL_START = 32768;
const Port = z.coerce
  .number()
  .int()
  .min(1024)
  .max(EPHEMERAL_START - 1, `must be below ${EPHEMERAL_START}, where the ephemeral ports begin`);
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

const withRange = <
  T extends {
    portRangeStart?: number;
    portRangeEnd?: number;
    capacity?: number;
    portStride?: number;
    edgePort?: number | null;
  },
>(
  v: T,
  ctx: z.RefinementCtx,
) => {
  if (v.portRangeStart !== undefined && v.portRangeEnd !== undefined && v.portRangeEnd < v.portRangeStart)
    ctx.addIssue({ code: 'custom', path: ['portRangeEnd'], message: 'must not be below portRangeStart' });
  if (v.portRangeStart !== undefined && v.portRangeEnd !== undefined && v.capacity !== undefined)
    if (v.capacity > portSlots(v.portRangeStart, v.portRangeEnd, v.portStride ?? 1))
      ctx.addIssue({
        code: 'custom',
        path: ['capacity'],
        message: 'must not exceed the port blocks in the range (its ports divided by portStride)',
      });
  if (v.portRangeStart !== undefined && v.portRangeEnd !== undefined && typeof v.edgePort === 'number')
    if (v.edgePort >= v.portRangeStart && v.edgePort <= v.portRangeEnd)
      ctx.addIssue({ code: 'custom', path: ['edgePort'], message: 'must lie outside the port range' });
};

/** Ports per claw: 1 for dev gateways, at least OPENCLAW_PORT_SPAN for the real one (placement.ts). */
const PortStride = z.coerce.number().int().min(1).max(1000);

/** How the control plane reaches the agent: https needs the pinned certificate, http none. */
const withPin = <T extends { agentUrl?: string; agentCertFingerprint?: string }>(
  v: T,
  ctx: z.RefinementCtx,
) => {
  if (v.agentUrl?.startsWith('http://') && v.agentCertFingerprint)
    ctx.addIssue({
      code: 'custom',
      path: ['agentCertFingerprint'],
      message: 'a certificate fingerprint needs an https agent URL',
    });
};

/** Memory each claw is given there, MB; with it the Mini takes no more claws than its memory holds. */
const ClawMemoryMb = z.coerce.number().int().min(64).max(1_048_576);

export const RegisterMiniInput = z
  .object({
    hostname: Hostname,
    agentUrl: AgentUrl,
    /** The agent's certificate (`npm run agent -- fingerprint` on the Mini); required for https. */
    agentCertFingerprint: CertFingerprint.optional(),
    agentToken: AgentToken,
    tunnelSuffix: TunnelSuffix,
    portRangeStart: Port,
    portRangeEnd: Port,
    capacity: z.coerce.number().int().min(1).max(1000),
    edgePort: Port.optional(),
    portStride: PortStride.optional(),
    clawMemoryMb: ClawMemoryMb.optional(),
  })
  .superRefine(withRange)
  .superRefine(withPin);

export const UpdateMiniInput = z
  .object({
    hostname: Hostname.optional(),
    agentUrl: AgentUrl.optional(),
    /** Re-keying: the agent's new certificate. */
    agentCertFingerprint: CertFingerprint.optional(),
    agentToken: AgentToken.optional(),
    tunnelSuffix: TunnelSuffix.optional(),
    portRangeStart: Port.optional(),
    portRangeEnd: Port.optional(),
    capacity: z.coerce.number().int().min(1).max(1000).optional(),
    edgePort: Port.nullable().optional(),
    portStride: PortStride.optional(),
    clawMemoryMb: ClawMemoryMb.nullable().optional(),
  })
  .superRefine(withRange)
  .superRefine(withPin);

/**
 * Whether the control plane may call this agent so: an https agent with its certificate pinned,
 * and, in production, nothing else (no plain HTTP, no dev token). Checked on what the Mini will
 * be after the change, so an update cannot leave an https Mini without a pin either.
 */
export function agentAccessProblem(
  agent: { agentUrl: string; agentCertFingerprint?: string | null; agentToken: string | null },
  production: boolean,
): string | null {
  const https = agent.agentUrl.startsWith('https://');
  if (https && !agent.agentCertFingerprint)
    return 'agentCertFingerprint is required for an https agent (the Mini prints it: npm run agent -- fingerprint)';
  if (!production) return null;
  if (!https) return 'agentUrl must be https in production (plain HTTP is for a local dev agent only)';
  if (agent.agentToken === DEV_AGENT_TOKEN)
    return 'agentToken is the public dev token, which production refuses; give the agent a real one';
  return null;
}

function parse<T extends z.ZodType>(schema: T, input: unknown, what: string): z.infer<T> {
  const r = schema.safeParse(input);
  if (!r.success) {
    const summary = r.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ');
    throw badRequest(`Invalid ${what}: ${summary}`, { issues: r.error.issues });
  }
  return r.data;
}

const hostnameTaken = (hostname: string) =>
  conflict(`A Mini with the hostname ${hostname} is already registered`);

/** Adds a Mini to the fleet. Its agent token is stored encrypted; the event carries a fingerprint. */
export async function registerMini(
  ctx: FleetCommandContext,
  input: z.input<typeof RegisterMiniInput>,
): Promise<MiniState> {
  const m = parse(RegisterMiniInput, input, 'Mini');
  const problem = agentAccessProblem(m, ctx.production);
  if (problem) throw badRequest(`Invalid Mini: ${problem}`);
  if (await miniByHostname(ctx.store.db, m.hostname)) throw hostnameTaken(m.hostname);
  const miniId = randomUUID();
  const { agentToken, ...data } = m;
  await ctx.secrets.put(agentTokenSecret(miniId), agentToken);
  try {
    const r = await ctx.store.append(
      minisProjection,
      miniId,
      [{ type: 'MiniRegistered', data: { miniId, ...data, agentTokenFingerprint: fingerprint(agentToken) } }],
      { expected: 0, known: null, meta: metaOf(ctx) },
    );
    return r.state;
  } catch (err) {
    await ctx.secrets.delete(agentTokenSecret(miniId));
    if (isConflict(err, minisProjection, 'hostname_taken')) throw hostnameTaken(m.hostname);
    throw err;
  }
}

/** Loads a live Mini, decides, and appends what was decided (nothing, when the decision is a no-op). */
async function decideOn(
  ctx: CommandContext,
  miniId: string,
  decide: (mini: MiniState) => MiniEvent[] | Promise<MiniEvent[]>,
): Promise<MiniState> {
  const mini = liveMini(
    z.uuid().safeParse(miniId).success ? await ctx.store.load(minisProjection, miniId) : null,
  );
  const events = await decide(mini);
  if (events.length === 0) return mini;
  try {
    const r = await ctx.store.append(minisProjection, mini.id, events, {
      expected: mini.version,
      known: mini,
      meta: metaOf(ctx),
    });
    return r.state;
  } catch (err) {
    if (isConflict(err, minisProjection, 'hostname_taken')) throw conflict(err.message);
    throw err;
  }
}

export async function updateMini(
  ctx: FleetCommandContext,
  miniId: string,
  input: z.input<typeof UpdateMiniInput>,
): Promise<MiniState> {
  const changes = parse(UpdateMiniInput, input, 'Mini update');
  return decideOn(ctx, miniId, async (mini) => {
    const { agentToken, ...rest } = changes;
    const problem = agentAccessProblem(
      {
        agentUrl: changes.agentUrl ?? mini.agentUrl,
        agentCertFingerprint: changes.agentCertFingerprint ?? mini.agentCertFingerprint,
        agentToken: agentToken ?? (ctx.production ? await ctx.secrets.get(agentTokenSecret(mini.id)) : null),
      },
      ctx.production,
    );
    if (problem) throw badRequest(`Invalid Mini update: ${problem}`);
    const events = decideUpdate(
      mini,
      { ...rest, agentTokenFingerprint: agentToken ? fingerprint(agentToken) : undefined },
      await portsInUse(ctx.store.db, mini.id),
    );
    if (agentToken) await ctx.secrets.put(agentTokenSecret(mini.id), agentToken);
    return events;
  });
}

export const cordonMini = (ctx: CommandContext, miniId: string, reason?: string) =>
  decideOn(ctx, miniId, (m) => decideCordon(m, reason));

export const uncordonMini = (ctx: CommandContext, miniId: string) => decideOn(ctx, miniId, decideUncordon);

/** Lets the allocator use a port again that was found held by another process. */
export const unblockPort = (ctx: CommandContext, miniId: string, port: number) =>
  decideOn(ctx, miniId, (m) => decidePortUnblocked(m, port));

/** Takes a Mini out of the fleet; only an empty one (no claw holds a port on it). */
export async function removeMini(ctx: CommandContext, miniId: string): Promise<MiniState> {
  const r = await decideOn(ctx, miniId, decideRemoval);
  await ctx.secrets.delete(agentTokenSecret(miniId));
  return r;
}
