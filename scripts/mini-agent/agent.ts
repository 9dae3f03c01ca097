import { createHash, timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import type {
  BackupClawRequest,
  ClawLogs,
  ClawUsage,
  GatewayModel,
  GatewaySecrets,
  RefusalCode,
  RestoreClawRequest,
  StartClawRequest,
} from '../../server/fleet/agent-api';
import type { Logger } from '../../server/log';
import { backupClaw, restoreClaw, type BackupOutcome, type ClawBackupContext } from './backup';
import type { AgentConfig } from './config';
import { removeGatewayFiles } from './gateway-files';
import { readGatewayLog } from './gateway-logs';
import type { ClawIsolation } from './isolation';
import { isolationDriver } from './isolation-drivers';
import { gatewayDirs, gatewayLaunchSpec, type GatewayLaunchInput } from './launch-spec';
import { prepareClawsDir } from './preflight';
import { portInUse } from './processes';
import { secretsOf, StateStore, type ClawRecord } from './state-store';
import { ClawSupervisor, type ClawSnapshot } from './supervisor';
import { UsageSampler } from './usage';

/** How often what each claw uses is sampled (its page shows the last 60 samples). */
const USAGE_INTERVAL_MS = 10_000;

/**
 * The claws this Mini runs: one supervisor each, the durable record of them, and the rules of the
 * API (idempotent start per claw, one claw per port, idempotent stop). Operations on one claw are
 * serialized; different claws proceed independently. Each claw's files live in
 * `<clawsDir>/<clawId>`, and with claw users (`--isolation linux|macos`) it has its own OS user.
 */

export type StartClawResult =
  { ok: true; created: boolean } | { ok: false; conflict: string; code?: RefusalCode };

export class MiniAgent {
  readonly store: StateStore;
  readonly isolation: ClawIsolation;
  #claws = new Map<string, ClawSupervisor>();
  #locks = new Map<string, Promise<void>>();
  readonly #usage = new UsageSampler();
  #usageTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: AgentConfig,
    private readonly log: Logger,
  ) {
    this.store = new StateStore(config.stateDir);
    this.isolation = isolationDriver(config.isolation);
  }

  get size(): number {
    return this.#claws.size;
  }

  clawDir(clawId: string): string {
    return path.join(this.config.clawsDir, clawId);
  }

  /** At agent start: adopt every recorded gateway that still runs, restart the others. */
  async resume(): Promise<{ adopted: number; started: number }> {
    prepareClawsDir(this.config);
    const records = this.store.load();
    let adopted = 0;
    let started = 0;
    for (const record of records) {
      const s = this.#supervisor(record);
      this.#claws.set(record.clawId, s);
    }
    for (const s of this.#claws.values()) {
      if (s.record.stopped) s.keepStopped();
      else if ((await s.resume()) === 'adopted') adopted++;
      else started++;
    }
    this.persist();
    this.#sampleUsage();
    return { adopted, started };
  }

  /** Samples what every claw uses, now and every `USAGE_INTERVAL_MS` (usage.ts). */
  #sampleUsage(): void {
    const round = () =>
      this.#usage
        .sample(
          [...this.#claws.values()].map((s) => ({
            clawId: s.record.clawId,
            dir: this.clawDir(s.record.clawId),
            ...(this.isolation.separateUsers && s.user ? { uid: s.user.uid } : {}),
            ...(s.record.pid ? { gatewayPid: s.record.pid } : {}),
          })),
        )
        .catch((err: unknown) => this.log.warn('cannot sample what the claws use', { error: String(err) }));
    void round();
    this.#usageTimer ??= setInterval(() => void round(), USAGE_INTERVAL_MS);
    this.#usageTimer.unref();
  }

  /** The claw's recent memory and CPU, and its disk; undefined for an unknown claw (or before the first sample). */
  usage(clawId: string): ClawUsage | undefined {
    return this.#claws.has(clawId) ? this.#usage.usage(clawId) : undefined;
  }

  /** What all claws' processes held resident at their latest sample. */
  residentBytes(): number {
    let total = 0;
    for (const id of this.#claws.keys()) total += this.#usage.usage(id)?.samples.at(-1)?.rssBytes ?? 0;
    return total;
  }

  persist(): void {
    this.store.save([...this.#claws.values()].map((s) => ({ ...s.record })));
  }

  startClaw(req: StartClawRequest): Promise<StartClawResult> {
    return this.#withLock(req.clawId, async () => {
      const hostname = this.#hostnameFor(req);
      if (!hostname.ok) return { ok: false, conflict: hostname.conflict };
      const existing = this.#claws.get(req.clawId);
      if (existing) {
        if (existing.record.port !== req.port)
          return {
            ok: false,
            conflict: `Claw ${req.clawId} already runs on port ${existing.record.port}, not ${req.port}`,
          };
        const newToken = !sameSecret(existing.record.gatewayToken, req.gatewayToken);
        if (newToken && !req.replaceToken)
          return { ok: false, conflict: `Claw ${req.clawId} already runs with a different gateway token` };
        const newModel = !sameModel(existing.record.model, req.model);
        const newSecrets = !sameSecrets(existing.record.secrets, req.secrets);
        const wasStopped = existing.record.stopped === true;
        if (newToken || newModel || newSecrets || wasStopped) {
          // Token rotation, a new model or secrets, or a stopped claw started again: the same claw,
          // port and state directory; a new gateway process, whose openclaw.json is written afresh.
          const { model: _previous, secrets: _secrets, stopped: _stopped, ...kept } = existing.record;
          this.#replace(existing, {
            ...kept,
            gatewayToken: req.gatewayToken,
            controlPlaneDevice: req.controlPlaneDevice ?? existing.record.controlPlaneDevice,
            ...(hostname.name ? { hostname: hostname.name } : {}),
            ...(req.model ? { model: req.model } : {}),
            ...(req.secrets ? { secrets: req.secrets } : {}),
          });
          const why = newToken
            ? 'gateway token rotated'
            : newModel
              ? 'model changed'
              : newSecrets
                ? 'secrets changed'
                : 'started again';
          this.log.info(`${why}; restarting the gateway`, { clawId: req.clawId });
          return { ok: true, created: false };
        }
        existing.setControlPlaneDevice(req.controlPlaneDevice ?? existing.record.controlPlaneDevice);
        if (hostname.name) existing.record.hostname = hostname.name;
        this.persist();
        existing.ensureRunning();
        return { ok: true, created: false };
      }
      if (req.port === this.config.port)
        return { ok: false, conflict: `Port ${req.port} is the agent's own port` };
      for (const other of this.#claws.values())
        if (other.record.port === req.port)
          return { ok: false, conflict: `Port ${req.port} is already used by claw ${other.record.clawId}` };
      // Refused before anything is recorded: the control plane then places the claw elsewhere and
      // remembers the port as blocked, instead of a gateway failing to listen later.
      if (await portInUse(req.port))
        return {
          ok: false,
          conflict: `Port ${req.port} is in use by another process on this Mini`,
          code: 'port_in_use',
        };
      const s = this.#supervisor({
        clawId: req.clawId,
        port: req.port,
        gatewayToken: req.gatewayToken,
        ...(req.controlPlaneDevice ? { controlPlaneDevice: req.controlPlaneDevice } : {}),
        ...(hostname.name ? { hostname: hostname.name } : {}),
        ...(req.model ? { model: req.model } : {}),
        ...(req.secrets ? { secrets: req.secrets } : {}),
      });
      this.#claws.set(req.clawId, s);
      this.persist(); // durable before we answer, and before the gateway exists
      s.start();
      return { ok: true, created: true };
    });
  }

  /**
   * Stops a claw's gateway and keeps the claw: its record (marked stopped, so neither the
   * supervisor nor the next agent starts it), files and user stay until a POST /claws starts it
   * again or a DELETE removes it. An unknown claw has nothing running: done.
   */
  pauseClaw(clawId: string): Promise<void> {
    return this.#withLock(clawId, async () => {
      const s = this.#claws.get(clawId);
      if (!s || s.record.stopped) return;
      await s.stop();
      s.record.stopped = true;
      this.persist();
      this.log.info('gateway stopped on request; the claw is kept', { clawId });
    });
  }

  /** A new gateway process for a running claw, its state kept. */
  restartClaw(clawId: string): Promise<'restarted' | 'unknown' | 'stopped'> {
    return this.#withLock(clawId, async () => {
      const existing = this.#claws.get(clawId);
      if (!existing) return 'unknown';
      if (existing.record.stopped) return 'stopped';
      this.#replace(existing, { ...existing.record });
      this.log.info('restarting the gateway on request', { clawId });
      return 'restarted';
    });
  }

  /**
   * A new supervisor for the claw, with `record` (durable before the answer), and its gateway
   * restarted: the old process is stopped, then the new one launched, in the claw's lock but after
   * the answer, since a real gateway takes seconds to stop and the control plane's call would time
   * out. Until the old process is gone the record keeps its pid, so an agent that dies meanwhile
   * adopts (and a later round replaces) it instead of leaving it running unseen.
   */
  #replace(existing: ClawSupervisor, record: ClawRecord): void {
    const s = this.#supervisor({ ...record, ...(existing.record.pid ? { pid: existing.record.pid } : {}) });
    this.#claws.set(record.clawId, s);
    this.persist();
    void this.#withLock(record.clawId, async () => {
      await existing.stop();
      if (this.#claws.get(record.clawId) !== s) return; // deleted meanwhile
      s.record.pid = undefined;
      this.persist();
      s.start();
    }).catch((err: unknown) =>
      this.log.error('could not restart the gateway', { clawId: record.clawId, error: String(err) }),
    );
  }

  // ─── Durable claws (backup.ts) ─────────────────────────────────────────────────────────────

  /**
   * The claw's gateway backs its state up (running or stopped) and the agent uploads the archive.
   * In the claw's lock: no start, stop or restore of the claw interleaves with it.
   */
  backupClaw(clawId: string, req: BackupClawRequest): Promise<BackupOutcome | 'unknown'> {
    return this.#withLock(clawId, async () => {
      const s = this.#claws.get(clawId);
      if (!s) return 'unknown';
      return backupClaw(await this.#backupContext(s.record), req);
    });
  }

  /**
   * The claw's state becomes the backup's. Its gateway is stopped only once the backup passed every
   * check, and started again afterwards (a new supervisor, as a restart makes) if it ran before.
   */
  restoreClaw(clawId: string, req: RestoreClawRequest): Promise<'restored' | 'unknown'> {
    return this.#withLock(clawId, async () => {
      const s = this.#claws.get(clawId);
      if (!s) return 'unknown';
      await restoreClaw(await this.#backupContext(s.record), req, {
        pause: async () => {
          if (s.record.stopped) return false;
          await s.stop();
          this.persist();
          return true;
        },
        resume: () => {
          const fresh = this.#supervisor({ ...s.record });
          this.#claws.set(clawId, fresh);
          this.persist();
          fresh.start();
        },
      });
      return 'restored';
    });
  }

  async #backupContext(record: ClawRecord): Promise<ClawBackupContext> {
    const launch = this.#launchInput(record);
    // The claw's user exists once its gateway ever started; ensureUser is idempotent and cheap then.
    const user = this.isolation.separateUsers
      ? await this.isolation.ensureUser(record.clawId, gatewayDirs(launch.clawDir).home)
      : undefined;
    return {
      clawId: record.clawId,
      gatewayCommand: this.config.gatewayCommand,
      spec: gatewayLaunchSpec({ ...launch, claw: record, ...(user ? { user } : {}) }),
      secrets: secretsOf(record),
      log: this.log.child({ clawId: record.clawId }),
    };
  }

  /** The claw's gateway output, its secrets redacted (gateway-logs.ts); undefined for an unknown claw. */
  logs(clawId: string, query: { after?: number; limit: number }): ClawLogs | undefined {
    const s = this.#claws.get(clawId);
    if (!s) return undefined;
    const r = s.record;
    const spec = gatewayLaunchSpec({ ...this.#launchInput(r), claw: r });
    return readGatewayLog(spec.logFile, query, secretsOf(r));
  }

  status(clawId: string): ClawSnapshot | undefined {
    const s = this.#claws.get(clawId);
    if (!s) return undefined;
    s.requestPairing(); // the control plane may have tried to connect since the last look
    return s.snapshot();
  }

  list(): ClawSnapshot[] {
    return [...this.#claws.values()].map((s) => s.snapshot());
  }

  /**
   * Stops and forgets a claw, then deletes its files and its user; resolves once its gateway is
   * gone. An unknown claw is already stopped, but what a failed earlier DELETE left of its files and
   * user is removed all the same, so the control plane's retry finishes the job.
   */
  stopClaw(clawId: string): Promise<void> {
    return this.#withLock(clawId, async () => {
      const s = this.#claws.get(clawId);
      if (s) {
        await s.stop();
        this.#claws.delete(clawId);
        this.persist();
        for (const listener of this.#removed) listener(clawId);
      }
      // Before the files: removing the user first ends whatever still runs as it.
      await this.isolation.removeUser(clawId);
      removeGatewayFiles(this.clawDir(clawId));
      if (s) this.log.info('claw removed', { clawId });
    });
  }

  // ─── The edge's routes (edge.ts) ───────────────────────────────────────────────────────────

  #removed = new Set<(clawId: string) => void>();

  /** Called once a claw is stopped and forgotten (the edge cuts what is left of its connections). */
  onClawRemoved(listener: (clawId: string) => void): void {
    this.#removed.add(listener);
  }

  /**
   * The claw served as `hostname`, read from the records on every call, so a claw started or
   * stopped is routed or unrouted at once, with nothing to restart or resynchronize.
   */
  route(hostname: string): { clawId: string; port: number } | undefined {
    for (const s of this.#claws.values())
      if (this.#servedAs(s.record) === hostname) return { clawId: s.record.clawId, port: s.record.port };
    return undefined;
  }

  #servedAs(record: ClawRecord): string | undefined {
    const suffix = this.config.tunnelSuffix;
    return record.hostname ?? (suffix ? `claw-${record.clawId}.${suffix}`.toLowerCase() : undefined);
  }

  /** The name a start request gives its claw, unless it is not one of this Mini's (a misregistered Mini). */
  #hostnameFor(req: StartClawRequest): { ok: true; name?: string } | { ok: false; conflict: string } {
    const suffix = this.config.tunnelSuffix;
    if (!req.hostname) return { ok: true };
    if (suffix && !req.hostname.endsWith(`.${suffix}`))
      return {
        ok: false,
        conflict: `This Mini serves *.${suffix}; ${req.hostname} is not one of its names (check the Mini's tunnel suffix)`,
      };
    return { ok: true, name: req.hostname };
  }

  /**
   * Agent shutdown. By default the gateways keep running (an agent restart or crash must not take
   * every claw on the Mini down); the next agent adopts them from claws.json.
   */
  async shutdown(stopGateways: boolean): Promise<void> {
    if (this.#usageTimer) clearInterval(this.#usageTimer);
    this.#usageTimer = undefined;
    if (stopGateways) {
      await Promise.allSettled([...this.#claws.values()].map((s) => s.stop()));
      for (const s of this.#claws.values()) s.record.pid = undefined;
    } else for (const s of this.#claws.values()) s.detach();
    this.persist();
  }

  #supervisor(record: ClawRecord): ClawSupervisor {
    const s: ClawSupervisor = new ClawSupervisor(record, {
      launch: this.#launchInput(record),
      isolation: this.isolation,
      tuning: this.config.tuning,
      log: this.log.child({ clawId: record.clawId, port: record.port }),
      persist: () => {
        if (this.#claws.get(record.clawId) === s) this.persist();
      },
    });
    return s;
  }

  /** Everything a claw's launch spec needs but its record and user: the supervisor's and backup's alike. */
  #launchInput(record: ClawRecord): Omit<GatewayLaunchInput, 'claw' | 'user'> {
    return {
      gatewayCommand: this.config.gatewayCommand,
      trustedProxies: this.config.trustedProxies,
      clawDir: this.clawDir(record.clawId),
      agentEnv: process.env,
      passEnv: this.config.gatewayPassEnv,
      ...(this.config.gatewayBaseConfig ? { baseConfig: this.config.gatewayBaseConfig } : {}),
    };
  }

  async #withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.#locks.set(key, settled);
    try {
      return await run;
    } finally {
      if (this.#locks.get(key) === settled) this.#locks.delete(key);
    }
  }
}

/** Constant-time equality of two secrets of any length. */
export function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** Whether two sets of secrets are the same (names, and values compared like secrets); none equals {}. */
export function sameSecrets(a: GatewaySecrets | undefined, b: GatewaySecrets | undefined): boolean {
  const x = Object.entries(a ?? {}).sort(([m], [n]) => m.localeCompare(n));
  const y = Object.entries(b ?? {}).sort(([m], [n]) => m.localeCompare(n));
  return x.length === y.length && x.every(([k, v], i) => k === y[i]![0] && sameSecret(v, y[i]![1]));
}

/** Whether two models are the same (the key compared like a secret); none equals none. */
export function sameModel(a: GatewayModel | undefined, b: GatewayModel | undefined): boolean {
  if (!a || !b) return !a && !b;
  return a.api === b.api && a.baseUrl === b.baseUrl && a.model === b.model && sameSecret(a.apiKey, b.apiKey);
}
