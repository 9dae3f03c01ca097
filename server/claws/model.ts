import { z } from 'zod';
import { MODEL_PROVIDERS, type ModelProvider } from '../../db/types';
import type { ClawState } from '../../events/claw';
import { badRequest, notFound, preconditionFailed } from '../../events/errors';
import type { MiniState } from '../../events/mini';
import { clawsProjection } from '../../projections/claws';
import { minisProjection } from '../../projections/minis';
import type { GatewayModel } from '../fleet/agent-api';
import { fingerprint } from '../secrets/keyring';
import type { SecretStore } from '../secrets/secret-store';
import { metaOf, type CommandContext } from './commands';

/**
 * A claw's model: which provider, which model, and the API key, set on the claw's page. The key is
 * write-only: stored encrypted with the key ring (with the rest of the settings, under one secret),
 * never returned (the page shows its fingerprint), never in an event or a log. The agent writes it
 * into the claw's own openclaw.json (scripts/mini-agent/gateway-config.ts, modelConfig), which only
 * that claw's OS user can read, and restarts the gateway with it.
 */

/** Each provider's OpenClaw request adapter and API base; an OpenAI-compatible one names its own. */
export const PROVIDERS: Record<
  ModelProvider,
  { label: string; api: GatewayModel['api']; baseUrl: string | null; example: string }
> = {
  openai: {
    label: 'OpenAI',
    api: 'openai-completions',
    baseUrl: 'https://api.openai.com/v1',
    example: 'gpt-4.1-mini',
  },
  anthropic: {
    label: 'Anthropic',
    api: 'anthropic-messages',
    baseUrl: 'https://api.anthropic.com',
    example: 'claude-sonnet-4-5',
  },
  openrouter: {
    label: 'OpenRouter',
    api: 'openai-completions',
    baseUrl: 'https://openrouter.ai/api/v1',
    example: 'anthropic/claude-sonnet-4.5',
  },
  'openai-compatible': {
    label: 'OpenAI-compatible',
    api: 'openai-completions',
    baseUrl: null,
    example: 'llama-3.1-8b',
  },
};

const printable = /^[\x21-\x7e]+$/;

/**
 * An API base URL: http(s), and nothing secret-shaped in it (no user:password, no query or
 * fragment): it is shown on the page and recorded in the timeline, so the key has its own field.
 */
const BaseUrl = z
  .url({ protocol: /^https?$/, error: 'Base URL must be an http:// or https:// URL' })
  .max(2048)
  .refine((u) => {
    const url = new URL(u);
    return !url.username && !url.password && !url.search && !url.hash;
  }, 'Base URL must not carry credentials, a query or a fragment: the key goes in the API key field');

export const ModelSettingsInput = z
  .object({
    provider: z.enum(MODEL_PROVIDERS),
    model: z.string().trim().min(1, 'Name the model').max(200).regex(printable, 'Model ids have no spaces'),
    baseUrl: BaseUrl.optional(),
    /** Omitted: the stored key stays (changing the model of the same provider). */
    apiKey: z.string().trim().min(1).max(4096).regex(printable, 'API keys have no spaces').optional(),
  })
  .superRefine((v, ctx) => {
    if (v.provider === 'openai-compatible' && !v.baseUrl)
      ctx.addIssue({
        code: 'custom',
        path: ['baseUrl'],
        message: 'An OpenAI-compatible provider needs its base URL',
      });
    if (v.provider !== 'openai-compatible' && v.baseUrl)
      ctx.addIssue({
        code: 'custom',
        path: ['baseUrl'],
        message: `${PROVIDERS[v.provider].label} has a fixed base URL; choose OpenAI-compatible for another one`,
      });
  });
export type ModelSettingsInput = z.infer<typeof ModelSettingsInput>;

const StoredModel = z.object({
  provider: z.enum(MODEL_PROVIDERS),
  model: z.string(),
  baseUrl: z.string(),
  apiKey: z.string(),
  setAt: z.iso.datetime(),
});
type StoredModel = z.infer<typeof StoredModel>;

export const clawModelSecret = (clawId: string) => `claw-model:${clawId}`;

async function readStored(secrets: SecretStore, clawId: string): Promise<StoredModel | null> {
  const raw = await secrets.get(clawModelSecret(clawId));
  return raw === null ? null : StoredModel.parse(JSON.parse(raw));
}

/** What the agent gets for the claw's gateway; undefined when the claw has no model of its own. */
export async function gatewayModelOf(
  secrets: SecretStore,
  clawId: string,
): Promise<GatewayModel | undefined> {
  const m = await readStored(secrets, clawId);
  return m
    ? { api: PROVIDERS[m.provider].api, baseUrl: m.baseUrl, model: m.model, apiKey: m.apiKey }
    : undefined;
}

/** The claw's model as its page shows it: everything but the key, which is a fingerprint. */
export async function clawModelView(secrets: SecretStore, clawId: string) {
  const m = await readStored(secrets, clawId);
  if (!m) return null;
  return {
    provider: m.provider,
    providerLabel: PROVIDERS[m.provider].label,
    model: m.model,
    baseUrl: m.baseUrl,
    keyFingerprint: fingerprint(m.apiKey),
    setAt: new Date(m.setAt),
  };
}
export type ClawModelView = NonNullable<Awaited<ReturnType<typeof clawModelView>>>;

/** The agent call that applies a claw's settings: it restarts a gateway whose model changed. */
export interface ModelAgents {
  start(claw: ClawState, mini: MiniState | null): Promise<void>;
}

/** A claw whose gateway should run now: a change is applied to it at once, with a restart. */
const runsNow = (c: ClawState) =>
  (c.status === 'active' || c.status === 'degraded') && c.target === 'mac-mini' && c.miniId !== null;

async function loadChangeable(ctx: CommandContext, clawId: string): Promise<ClawState> {
  const claw = await ctx.store.load(clawsProjection, clawId);
  if (!claw || claw.status === 'deleted') throw notFound('Claw');
  if (claw.status === 'deleting') throw preconditionFailed('The claw is being deleted');
  return claw;
}

/**
 * Stores the settings, then (for a running claw) has its agent restart the gateway with them, then
 * records ClawModelSet with what was observed. If the agent cannot be asked, the previous settings
 * are put back and nothing is recorded; a claw that is not running gets them at its next start.
 */
export async function setClawModel(
  ctx: CommandContext,
  agents: ModelAgents,
  clawId: string,
  input: ModelSettingsInput,
): Promise<{ claw: ClawState; restarted: boolean }> {
  const claw = await loadChangeable(ctx, clawId);
  const previous = await ctx.secrets.get(clawModelSecret(clawId));
  const stored = previous === null ? null : StoredModel.parse(JSON.parse(previous));
  // The same provider keeps its key unless a new one is given; another provider needs its own.
  const apiKey = input.apiKey ?? (stored?.provider === input.provider ? stored.apiKey : undefined);
  if (!apiKey) throw badRequest(`An API key for ${PROVIDERS[input.provider].label} is required`);
  const next: StoredModel = {
    provider: input.provider,
    model: input.model,
    baseUrl: input.baseUrl ?? PROVIDERS[input.provider].baseUrl!,
    apiKey,
    setAt: new Date().toISOString(),
  };
  await ctx.secrets.put(clawModelSecret(clawId), JSON.stringify(next));
  const restarted = await applyOrRestore(ctx, agents, claw, previous);
  const r = await ctx.store.append(
    clawsProjection,
    clawId,
    [
      {
        type: 'ClawModelSet',
        data: {
          provider: next.provider,
          model: next.model,
          baseUrl: next.baseUrl,
          keyFingerprint: fingerprint(apiKey),
          restarted,
          requestedBy: requester(ctx),
        },
      },
    ],
    { expected: 'any', meta: metaOf(ctx) },
  );
  return { claw: r.state, restarted };
}

/** Removes the claw's own model; a running gateway restarts without it. */
export async function clearClawModel(
  ctx: CommandContext,
  agents: ModelAgents,
  clawId: string,
): Promise<{ claw: ClawState; restarted: boolean }> {
  const claw = await loadChangeable(ctx, clawId);
  const previous = await ctx.secrets.get(clawModelSecret(clawId));
  if (previous === null) throw preconditionFailed('The claw has no model of its own');
  await ctx.secrets.delete(clawModelSecret(clawId));
  const restarted = await applyOrRestore(ctx, agents, claw, previous);
  const r = await ctx.store.append(
    clawsProjection,
    clawId,
    [{ type: 'ClawModelCleared', data: { restarted, requestedBy: requester(ctx) } }],
    { expected: 'any', meta: metaOf(ctx) },
  );
  return { claw: r.state, restarted };
}

async function applyOrRestore(
  ctx: CommandContext,
  agents: ModelAgents,
  claw: ClawState,
  previous: string | null,
): Promise<boolean> {
  if (!runsNow(claw)) return false;
  try {
    await agents.start(claw, await ctx.store.load(minisProjection, claw.miniId!));
    return true;
  } catch (err) {
    if (previous === null) await ctx.secrets.delete(clawModelSecret(claw.id));
    else await ctx.secrets.put(clawModelSecret(claw.id), previous);
    throw err;
  }
}

const requester = (ctx: CommandContext) => ctx.actor.slice(ctx.actor.indexOf(':') + 1);

/** The claw's model goes with the claw (finish_delete). */
export const deleteClawModel = (secrets: SecretStore, clawId: string) =>
  secrets.delete(clawModelSecret(clawId));
