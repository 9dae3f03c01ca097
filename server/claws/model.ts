import { z } from 'zod';
import { MODEL_PROVIDERS, type ModelProvider } from '../../db/types';
import type { ClawState } from '../../events/claw';
import { badRequest, notFound, preconditionFailed } from '../../events/errors';
import type { MiniState } from '../../events/mini';
import { clawsProjection, liveClaws } from '../../projections/claws';
import { minisProjection } from '../../projections/minis';
import type { GatewayModel } from '../fleet/agent-api';
import { fingerprint } from '../secrets/keyring';
import type { SecretStore } from '../secrets/secret-store';
import { metaOf, requester, type CommandContext, type InitialSetting } from './commands';

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
/** The organization's default model, which every claw of it without its own inherits. */
export const orgModelSecret = (orgId: string) => `org-model:${orgId}`;

async function readStored(secrets: SecretStore, key: string): Promise<StoredModel | null> {
  const raw = await secrets.get(key);
  return raw === null ? null : StoredModel.parse(JSON.parse(raw));
}

/** The model a claw answers with: its own, else its organization's default. */
async function effectiveModel(
  secrets: SecretStore,
  claw: Pick<ClawState, 'id' | 'orgId'>,
): Promise<{ model: StoredModel; inherited: boolean } | null> {
  const own = await readStored(secrets, clawModelSecret(claw.id));
  if (own) return { model: own, inherited: false };
  const org = await readStored(secrets, orgModelSecret(claw.orgId));
  return org ? { model: org, inherited: true } : null;
}

/** What the agent gets for the claw's gateway; undefined when neither the claw nor its org has a model. */
export async function gatewayModelOf(
  secrets: SecretStore,
  claw: Pick<ClawState, 'id' | 'orgId'>,
): Promise<GatewayModel | undefined> {
  const m = (await effectiveModel(secrets, claw))?.model;
  return m
    ? { api: PROVIDERS[m.provider].api, baseUrl: m.baseUrl, model: m.model, apiKey: m.apiKey }
    : undefined;
}

const viewOf = (m: StoredModel) => ({
  provider: m.provider,
  providerLabel: PROVIDERS[m.provider].label,
  model: m.model,
  baseUrl: m.baseUrl,
  keyFingerprint: fingerprint(m.apiKey),
  setAt: new Date(m.setAt),
});
export type ModelView = ReturnType<typeof viewOf>;

/** The claw's model as its page shows it (its own, or the org's it inherits): never the key, its fingerprint. */
export async function clawModelView(secrets: SecretStore, claw: Pick<ClawState, 'id' | 'orgId'>) {
  const m = await effectiveModel(secrets, claw);
  return m ? { ...viewOf(m.model), inherited: m.inherited } : null;
}
export type ClawModelView = NonNullable<Awaited<ReturnType<typeof clawModelView>>>;

/** The organization's default model as its settings page shows it. */
export async function orgModelView(secrets: SecretStore, orgId: string): Promise<ModelView | null> {
  const m = await readStored(secrets, orgModelSecret(orgId));
  return m ? viewOf(m) : null;
}

/** The agent call that applies a claw's settings: it restarts a gateway whose model or secrets changed. */
export interface SettingsAgents {
  start(claw: ClawState, mini: MiniState | null): Promise<void>;
}

/** A claw whose gateway should run now: a change is applied to it at once, with a restart. */
const runsNow = (c: ClawState) =>
  (c.status === 'active' || c.status === 'degraded') && c.target === 'mac-mini' && c.miniId !== null;

export async function loadChangeable(ctx: CommandContext, clawId: string): Promise<ClawState> {
  const claw = await ctx.store.load(clawsProjection, clawId);
  if (!claw || claw.status === 'deleted') throw notFound('Claw');
  if (claw.status === 'deleting') throw preconditionFailed('The claw is being deleted');
  return claw;
}

/** The settings a change starts from, and the stored value the change writes. */
function nextModel(input: ModelSettingsInput, stored: StoredModel | null): StoredModel {
  // The same provider keeps its key unless a new one is given; another provider needs its own.
  const apiKey = input.apiKey ?? (stored?.provider === input.provider ? stored.apiKey : undefined);
  if (!apiKey) throw badRequest(`An API key for ${PROVIDERS[input.provider].label} is required`);
  return {
    provider: input.provider,
    model: input.model,
    baseUrl: input.baseUrl ?? PROVIDERS[input.provider].baseUrl!,
    apiKey,
    setAt: new Date().toISOString(),
  };
}

const modelSetEvent = (m: StoredModel, restarted: boolean, by: string, inherited?: true) =>
  ({
    type: 'ClawModelSet',
    data: {
      provider: m.provider,
      model: m.model,
      baseUrl: m.baseUrl,
      keyFingerprint: fingerprint(m.apiKey),
      restarted,
      requestedBy: by,
      ...(inherited ? { inherited } : {}),
    },
  }) as const;

/**
 * Stores the settings, then (for a running claw) has its agent restart the gateway with them, then
 * records ClawModelSet with what was observed. If the agent cannot be asked, the previous settings
 * are put back and nothing is recorded; a claw that is not running gets them at its next start.
 */
export async function setClawModel(
  ctx: CommandContext,
  agents: SettingsAgents,
  clawId: string,
  input: ModelSettingsInput,
): Promise<{ claw: ClawState; restarted: boolean }> {
  const claw = await loadChangeable(ctx, clawId);
  const previous = await ctx.secrets.get(clawModelSecret(clawId));
  const next = nextModel(input, previous === null ? null : StoredModel.parse(JSON.parse(previous)));
  const restarted = await storeAndApply(ctx, agents, claw, clawModelSecret(clawId), JSON.stringify(next));
  const r = await ctx.store.append(
    clawsProjection,
    clawId,
    [modelSetEvent(next, restarted, requester(ctx.actor))],
    { expected: 'any', meta: metaOf(ctx) },
  );
  return { claw: r.state, restarted };
}

/**
 * A new claw's model, given with its request: stored with its token before the claw exists, and
 * recorded as ClawModelSet in the same append as ClawRequested, so its first gateway answers.
 */
export function initialModel(input: ModelSettingsInput, by: string): InitialSetting {
  const next = nextModel(input, null);
  return { secret: clawModelSecret, value: JSON.stringify(next), event: modelSetEvent(next, false, by) };
}

/** Removes the claw's own model; a running gateway restarts without it (or with the org's default). */
export async function clearClawModel(
  ctx: CommandContext,
  agents: SettingsAgents,
  clawId: string,
): Promise<{ claw: ClawState; restarted: boolean }> {
  const claw = await loadChangeable(ctx, clawId);
  if ((await ctx.secrets.get(clawModelSecret(clawId))) === null)
    throw preconditionFailed('The claw has no model of its own');
  const restarted = await storeAndApply(ctx, agents, claw, clawModelSecret(clawId), null);
  const r = await ctx.store.append(
    clawsProjection,
    clawId,
    [{ type: 'ClawModelCleared', data: { restarted, requestedBy: requester(ctx.actor) } }],
    { expected: 'any', meta: metaOf(ctx) },
  );
  return { claw: r.state, restarted };
}

/**
 * Sets (or with `input` null, removes) the organization's default model, then applies it to every
 * running claw of the organization that inherits it: each is restarted and records ClawModelSet
 * (`inherited`). A claw whose agent cannot be reached records `restarted: false`: it takes the
 * default at its next start. Returns how many claws were restarted.
 */
export async function setOrgModel(
  ctx: CommandContext,
  agents: SettingsAgents,
  orgId: string,
  input: ModelSettingsInput | null,
): Promise<{ restarted: number; inheriting: number }> {
  const previous = await readStored(ctx.secrets, orgModelSecret(orgId));
  if (input === null && previous === null) throw preconditionFailed('The organization has no default model');
  const next = input === null ? null : nextModel(input, previous);
  if (next) await ctx.secrets.put(orgModelSecret(orgId), JSON.stringify(next));
  else await ctx.secrets.delete(orgModelSecret(orgId));
  const by = requester(ctx.actor);
  let restarted = 0;
  let inheriting = 0;
  for (const claw of await liveClaws(ctx.store.db, orgId)) {
    if (claw.status === 'deleting') continue;
    if ((await ctx.secrets.get(clawModelSecret(claw.id))) !== null) continue;
    inheriting++;
    let applied = false;
    if (runsNow(claw)) {
      applied = await agents.start(claw, await ctx.store.load(minisProjection, claw.miniId!)).then(
        () => true,
        () => false,
      );
      if (applied) restarted++;
    }
    const event = next
      ? modelSetEvent(next, applied, by, true)
      : ({ type: 'ClawModelCleared', data: { restarted: applied, requestedBy: by } } as const);
    await ctx.store.append(clawsProjection, claw.id, [event], { expected: 'any', meta: metaOf(ctx) });
  }
  return { restarted, inheriting };
}

/**
 * Writes one of the claw's stored settings (`value` null removes it), then restarts a running
 * gateway with it. If its agent cannot be asked, the previous value is put back and the error
 * thrown: nothing is recorded of a change that did not take.
 */
export async function storeAndApply(
  ctx: CommandContext,
  agents: SettingsAgents,
  claw: ClawState,
  key: string,
  value: string | null,
): Promise<boolean> {
  const previous = await ctx.secrets.get(key);
  if (value === null) await ctx.secrets.delete(key);
  else await ctx.secrets.put(key, value);
  if (!runsNow(claw)) return false;
  try {
    await agents.start(claw, await ctx.store.load(minisProjection, claw.miniId!));
    return true;
  } catch (err) {
    if (previous === null) await ctx.secrets.delete(key);
    else await ctx.secrets.put(key, previous);
    throw err;
  }
}

/** The claw's model goes with the claw (finish_delete). */
export const deleteClawModel = (secrets: SecretStore, clawId: string) =>
  secrets.delete(clawModelSecret(clawId));
