import { clawsProjection } from '../../projections/claws';
import { minisProjection } from '../../projections/minis';
import { CommandError, notFound } from '../../events/errors';
import type { ClawState } from '../../events/claw';
import { fingerprint, generateSecretToken } from '../secrets/keyring';
import { gatewayTokenSecret } from '../secrets/secret-store';
import type { MacMiniDeploymentService } from '../deployment/mac-mini';
import { metaOf, type CommandContext } from './commands';

/**
 * A new gateway token for one claw: stored (encrypted) first, so anything that starts the gateway
 * from now on (the reconciler too) uses it; then the claw's agent restarts the gateway with it,
 * keeping its state; then, observed, GatewayTokenRotated records the new fingerprint. If the agent
 * cannot be asked, the old token is put back and nothing is recorded. Open chats drop with the
 * restart and reconnect (the browser never had either token).
 */
export async function rotateGatewayToken(
  ctx: CommandContext,
  agents: Pick<MacMiniDeploymentService, 'replaceToken' | 'status'>,
  clawId: string,
  opts: { waitMs?: number } = {},
): Promise<{ claw: ClawState; fingerprint: string; status: string }> {
  const claw = await ctx.store.load(clawsProjection, clawId);
  if (!claw || claw.status === 'deleted') throw notFound('Claw');
  if (claw.status !== 'active' && claw.status !== 'degraded')
    throw new CommandError(
      'PRECONDITION_FAILED',
      `The claw is ${claw.status}; only a running claw's token rotates`,
    );
  if (claw.target !== 'mac-mini' || !claw.miniId || claw.miniPort === null)
    throw new CommandError('PRECONDITION_FAILED', 'The claw does not run on a Mini');
  const mini = await ctx.store.load(minisProjection, claw.miniId);
  const name = gatewayTokenSecret(claw.id);
  const previous = await ctx.secrets.get(name);
  const token = generateSecretToken(32);
  await ctx.secrets.put(name, token);
  try {
    await agents.replaceToken(claw, mini, token);
  } catch (err) {
    if (previous) await ctx.secrets.put(name, previous);
    throw err;
  }
  const fp = fingerprint(token);
  const r = await ctx.store.append(
    clawsProjection,
    claw.id,
    [
      {
        type: 'GatewayTokenRotated',
        data: { tokenFingerprint: fp, requestedBy: ctx.actor.slice(ctx.actor.indexOf(':') + 1) },
      },
    ],
    { expected: 'any', meta: metaOf(ctx) },
  );
  // Wait for the restarted gateway, so the operator learns here whether it came back.
  const deadline = Date.now() + (opts.waitMs ?? 60_000);
  let status = 'unknown';
  while (Date.now() < deadline) {
    status = (await agents.status(r.state, mini).catch(() => ({ status: 'unknown' }))).status;
    if (status === 'running' || status === 'failed') break;
    await new Promise((res) => setTimeout(res, 500));
  }
  return { claw: r.state, fingerprint: fp, status };
}
