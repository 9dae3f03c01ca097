import { z } from 'zod';
import type { ClawState } from '../../events/claw';
import { badRequest, notFound } from '../../events/errors';
import { clawsProjection } from '../../projections/claws';
import { GatewaySecrets, SecretName } from '../fleet/agent-api';
import { fingerprint } from '../secrets/keyring';
import type { SecretStore } from '../secrets/secret-store';
import { metaOf, requester, type CommandContext } from './commands';
import { loadChangeable, storeAndApply, type SettingsAgents } from './model';

/**
 * A claw's named secrets: values its gateway reads from its environment (a channel's bot token, a
 * tool's API key). Write-only like the model's key: stored encrypted with the key ring, all of a
 * claw's under one secret; the page lists names, fingerprints and when each was set; events carry
 * the fingerprint. The agent writes them into `env.vars` of the claw's own openclaw.json.
 */

export const MAX_SECRETS_PER_CLAW = 50;

export const SecretInput = z.object({
  name: SecretName,
  value: z
    .string()
    .min(1, 'Enter the value')
    .max(16_384, 'A secret value is at most 16 KiB')
    .refine((v) => !v.includes('\0'), 'A secret value cannot contain a NUL byte'),
});
export type SecretInput = z.infer<typeof SecretInput>;

const Stored = z.record(z.string(), z.object({ value: z.string(), setAt: z.iso.datetime() }));
type Stored = z.infer<typeof Stored>;

export const clawSecretsSecret = (clawId: string) => `claw-secrets:${clawId}`;

async function readStored(secrets: SecretStore, clawId: string): Promise<Stored> {
  const raw = await secrets.get(clawSecretsSecret(clawId));
  return raw === null ? {} : Stored.parse(JSON.parse(raw));
}

/** What the agent gets for the claw's gateway; undefined when it has none. */
export async function gatewaySecretsOf(
  secrets: SecretStore,
  clawId: string,
): Promise<GatewaySecrets | undefined> {
  const stored = Object.entries(await readStored(secrets, clawId));
  return stored.length ? Object.fromEntries(stored.map(([name, s]) => [name, s.value])) : undefined;
}

/** The claw's secrets as its page lists them: names, fingerprints, when set; never a value. */
export async function clawSecretsView(secrets: SecretStore, clawId: string) {
  return Object.entries(await readStored(secrets, clawId))
    .map(([name, s]) => ({ name, fingerprint: fingerprint(s.value), setAt: new Date(s.setAt) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}
export type ClawSecretView = Awaited<ReturnType<typeof clawSecretsView>>[number];

/** Sets one secret (a new one or a new value); a running gateway restarts with it. */
export async function setClawSecret(
  ctx: CommandContext,
  agents: SettingsAgents,
  clawId: string,
  input: SecretInput,
): Promise<{ claw: ClawState; restarted: boolean }> {
  const claw = await loadChangeable(ctx, clawId);
  const stored = await readStored(ctx.secrets, clawId);
  if (!(input.name in stored) && Object.keys(stored).length >= MAX_SECRETS_PER_CLAW)
    throw badRequest(`A claw has at most ${MAX_SECRETS_PER_CLAW} secrets`);
  const next: Stored = { ...stored, [input.name]: { value: input.value, setAt: new Date().toISOString() } };
  const restarted = await storeAndApply(ctx, agents, claw, clawSecretsSecret(clawId), JSON.stringify(next));
  const r = await ctx.store.append(
    clawsProjection,
    clawId,
    [
      {
        type: 'ClawSecretSet',
        data: {
          name: input.name,
          fingerprint: fingerprint(input.value),
          restarted,
          requestedBy: requester(ctx.actor),
        },
      },
    ],
    { expected: 'any', meta: metaOf(ctx) },
  );
  return { claw: r.state, restarted };
}

/** Removes one secret; a running gateway restarts without it. */
export async function removeClawSecret(
  ctx: CommandContext,
  agents: SettingsAgents,
  clawId: string,
  name: string,
): Promise<{ claw: ClawState; restarted: boolean }> {
  const claw = await loadChangeable(ctx, clawId);
  const { [name]: removed, ...rest } = await readStored(ctx.secrets, clawId);
  if (!removed) throw notFound('Secret');
  const value = Object.keys(rest).length ? JSON.stringify(rest) : null;
  const restarted = await storeAndApply(ctx, agents, claw, clawSecretsSecret(clawId), value);
  const r = await ctx.store.append(
    clawsProjection,
    clawId,
    [{ type: 'ClawSecretRemoved', data: { name, restarted, requestedBy: requester(ctx.actor) } }],
    { expected: 'any', meta: metaOf(ctx) },
  );
  return { claw: r.state, restarted };
}

/** The claw's secrets go with the claw (finish_delete). */
export const deleteClawSecrets = (secrets: SecretStore, clawId: string) =>
  secrets.delete(clawSecretsSecret(clawId));
