import type { ClawState } from '../../events/claw';
import type { MiniState } from '../../events/mini';
import type { ClawLogs, ClawLogsQuery, ClawSummary, ClawUsage, ControlPlaneDevice } from '../fleet/agent-api';
import { createAgentClient, type AgentClient } from '../fleet/agent-client';
import type { HealthProbe } from '../fleet/health';
import type { MiniAgents } from '../fleet/reconciler';
import type { PresignedRequest } from '../buckets';
import type { BackupAgent } from '../claws/backups';
import { gatewayModelOf } from '../claws/model';
import { gatewaySecretsOf } from '../claws/secrets';
import { agentTokenSecret, gatewayTokenSecret, type SecretStore } from '../secrets/secret-store';
import { permanent } from '../failure';
import { type ClawDeploymentService, type GatewayStatusReport } from './types';

/**
 * Runs claws on Mac Minis through each Mini's agent. The gateway token is decrypted here, only to
 * hand it to the agent that starts the gateway; the agent token only to authenticate to the agent.
 */
export class MacMiniDeploymentService implements ClawDeploymentService, HealthProbe, MiniAgents, BackupAgent {
  readonly target = 'mac-mini' as const;
  #clients = new Map<string, { key: string; client: AgentClient }>();

  constructor(
    private readonly secrets: SecretStore,
    private readonly device: () => Promise<ControlPlaneDevice>,
    private readonly timeoutMs: number,
    private readonly backupTimeoutMs: number = 600_000,
  ) {}

  async #client(mini: MiniState | null): Promise<AgentClient> {
    if (!mini || mini.status === 'removed') throw permanent('The claw has no Mini');
    // A Mini's version changes when its URL, token or certificate changes; the cached client goes
    // with it.
    const key = `${mini.version}`;
    const cached = this.#clients.get(mini.id);
    if (cached?.key === key) return cached.client;
    const token = await this.secrets.get(agentTokenSecret(mini.id));
    if (!token) throw permanent(`No agent token is stored for Mini ${mini.hostname}`);
    const client = createAgentClient({
      baseUrl: mini.agentUrl,
      token,
      certFingerprint: mini.agentCertFingerprint,
      timeoutMs: this.timeoutMs,
    });
    this.#clients.set(mini.id, { key, client });
    return client;
  }

  /**
   * Starts the claw's gateway, or makes the running one match: the agent restarts a gateway whose
   * model or secrets differ from the claw's settings (which is how a change is applied).
   */
  async start(claw: ClawState, mini: MiniState | null): Promise<void> {
    const gatewayToken = await this.secrets.get(gatewayTokenSecret(claw.id));
    if (!gatewayToken) throw permanent('The claw has no gateway token');
    await this.#startClaw(claw, mini, gatewayToken, false);
  }

  /** Restarts the claw's gateway with `gatewayToken` (rotation), keeping its state on the Mini. */
  async replaceToken(claw: ClawState, mini: MiniState | null, gatewayToken: string): Promise<void> {
    await this.#startClaw(claw, mini, gatewayToken, true);
  }

  async #startClaw(claw: ClawState, mini: MiniState | null, gatewayToken: string, replaceToken: boolean) {
    if (claw.miniPort === null) throw permanent('The claw holds no port');
    const client = await this.#client(mini);
    const model = await gatewayModelOf(this.secrets, claw);
    const secrets = await gatewaySecretsOf(this.secrets, claw.id);
    await client.startClaw({
      clawId: claw.id,
      port: claw.miniPort,
      gatewayToken,
      controlPlaneDevice: await this.device(),
      // The Mini's edge serves the claw under this name (tunnel and direct mode alike).
      ...(claw.tunnelHostname ? { hostname: claw.tunnelHostname } : {}),
      ...(replaceToken ? { replaceToken: true } : {}),
      ...(model ? { model } : {}),
      ...(secrets ? { secrets } : {}),
    });
  }

  async status(claw: ClawState, mini: MiniState | null): Promise<GatewayStatusReport> {
    const client = await this.#client(mini);
    const s = await client.clawStatus(claw.id);
    if (s.status === 'unknown') return s;
    return {
      status: s.status,
      error: s.error,
      paired: s.paired,
      ...(s.pairingApproving ? { pairingApproving: true } : {}),
    };
  }

  async stop(claw: ClawState, mini: MiniState | null): Promise<void> {
    const client = await this.#client(mini);
    await client.stopClaw(claw.id);
  }

  async pause(claw: ClawState, mini: MiniState | null): Promise<void> {
    await (await this.#client(mini)).pauseClaw(claw.id);
  }

  /** A new gateway process for a running claw, its state kept (`claws claw restart`, the page). */
  async restart(claw: ClawState, mini: MiniState | null): Promise<void> {
    await (await this.#client(mini)).restartClaw(claw.id);
  }

  /** The agent archives the claw's state with the gateway's own command and uploads it to `upload`. */
  async backup(
    claw: ClawState,
    mini: MiniState | null,
    request: { backupId: string; upload: PresignedRequest },
  ): Promise<{ bytes: number; sha256: string; createdAt: string }> {
    const upload = { ...request.upload, method: 'PUT' as const };
    return (await this.#client(mini)).backupClaw(
      claw.id,
      { ...request, upload },
      { timeoutMs: this.backupTimeoutMs },
    );
  }

  /** The agent downloads, checks and puts a backup in place; a gateway that ran runs again. */
  async restore(
    claw: ClawState,
    mini: MiniState | null,
    request: { backupId: string; download: PresignedRequest; sha256: string; bytes: number },
  ): Promise<void> {
    const download = { ...request.download, method: 'GET' as const };
    await (
      await this.#client(mini)
    ).restoreClaw(claw.id, { ...request, download }, { timeoutMs: this.backupTimeoutMs });
  }

  /** The claw's gateway output on its Mini, redacted there; null when the agent does not know the claw. */
  async logs(claw: ClawState, mini: MiniState | null, query: ClawLogsQuery): Promise<ClawLogs | null> {
    return (await this.#client(mini)).clawLogs(claw.id, query);
  }

  /** What the claw's processes used lately on its Mini, and its disk; null when the agent does not know it. */
  async usage(claw: ClawState, mini: MiniState | null): Promise<ClawUsage | null> {
    return (await this.#client(mini)).clawUsage(claw.id);
  }

  async check(mini: MiniState): Promise<{ memoryMb?: number }> {
    const h = await (await this.#client(mini)).health();
    return h.memoryMb !== undefined ? { memoryMb: h.memoryMb } : {};
  }

  /** The agent's health with what its claws hold resident now (the fleet page's memory gauge). */
  async health(mini: MiniState) {
    return (await this.#client(mini)).health();
  }

  async list(mini: MiniState): Promise<ClawSummary[]> {
    return (await this.#client(mini)).listClaws();
  }

  async stopById(mini: MiniState, clawId: string): Promise<'stopped' | 'unknown'> {
    const client = await this.#client(mini);
    if ((await client.clawStatus(clawId)).status === 'unknown') return 'unknown';
    await client.stopClaw(clawId);
    return 'stopped';
  }
}
