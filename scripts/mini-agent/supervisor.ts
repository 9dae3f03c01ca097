import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type { ClawStatus, ClawSummary, ControlPlaneDevice, GatewayExit } from '../../server/fleet/agent-api';
import type { Logger } from '../../server/log';
import type { SupervisorTuning } from './config';
import { GatewayConnectError, probeHelloOk } from './gateway-protocol';
import { openGatewayLog, prepareGatewayFiles } from './gateway-files';
import { killUserProcesses, type ClawIsolation, type ClawUser } from './isolation';
import {
  gatewayDirs,
  gatewayLaunchSpec,
  isGatewayArgv,
  type GatewayLaunchInput,
  type GatewayLaunchSpec,
} from './launch-spec';
import { DevicePairing } from './pairing';
import {
  isAlive,
  killGroupOnly,
  portInUse,
  processArgv,
  processUids,
  signalGroup,
  tail,
  waitForPidExit,
} from './processes';
import { afterUnexpectedExit } from './restart-policy';
import { secretsOf, type ClawRecord } from './state-store';
import { sleep, within } from './timing';

/**
 * Supervises one claw's gateway process.
 *
 * - `starting` until the gateway answers a real handshake (`hello-ok`) with the claw's token, then
 *   `running`. Readiness is polled with backoff; a gateway that never answers within
 *   `readyTimeoutMs` is killed and counts as a crash.
 * - An unexpected exit restarts the gateway after an exponential backoff; `maxQuickCrashes`
 *   crashes in a row (each before the gateway stayed up `stableMs`) make the claw `failed`, as does
 *   a port another process holds. A later POST of the claw starts it afresh.
 * - Gateways run detached, in their own process group, with output to a log file, so they outlive
 *   the agent; a restarted agent adopts them and watches the pid instead of the child handle.
 * - With claw users (isolation.ts), the gateway runs as its claw's user, created before its first
 *   start; an adopted gateway must still run as that user.
 * - `stop()` sends SIGTERM to the group, SIGKILL after the grace period, and waits for the exit;
 *   then it ends every process left of the claw's user (the gateway's helpers put themselves in
 *   their own sessions, out of reach of a group signal), as it does after a crash.
 *
 * How the gateway is started is the launch spec (launch-spec.ts); when to restart it after a crash
 * is the restart policy (restart-policy.ts); the control plane's device is paired by DevicePairing
 * (pairing.ts). This class holds the process, its phase and the timers between them.
 */

/** What GET /claws reports of a claw; its status report is this without clawId and port. */
export type ClawSnapshot = ClawSummary;

export interface SupervisorDeps {
  /** Everything the launch spec needs but the claw's record and user. */
  launch: Omit<GatewayLaunchInput, 'claw' | 'user'>;
  isolation: ClawIsolation;
  tuning: SupervisorTuning;
  log: Logger;
  /** Called whenever the durable part (the record's pid) changed. */
  persist: () => void;
}

const PROBE_TIMEOUT_MS = 3000;

export class ClawSupervisor {
  phase: ClawStatus = 'starting';
  restarts = 0;
  /** The last unexpected exit, for the control plane's timeline. */
  lastExit: GatewayExit | undefined;
  error: string | undefined;

  #child: ChildProcess | undefined;
  /** Resolves when the current process is gone; set for every launched or adopted process. */
  #gone: Promise<void> | undefined;
  #run = 0;
  #runAbort = new AbortController();
  #stopping = false;
  #quickCrashes = 0;
  #startedAt = 0;
  #readyAt: number | undefined;
  /** The claw's own user, once created or found (claw users only). */
  #user: ClawUser | undefined;
  readonly #pairing: DevicePairing;

  constructor(
    readonly record: ClawRecord,
    private readonly deps: SupervisorDeps,
  ) {
    this.#pairing = new DevicePairing({
      port: record.port,
      token: record.gatewayToken,
      windowMs: deps.tuning.pairingWindowMs,
      intervalMs: deps.tuning.pairingIntervalMs,
      log: deps.log,
    });
  }

  /** How this claw's gateway starts; pure, so it is built afresh for every launch. */
  /** The claw's own OS user, once known (claw users only). */
  get user(): ClawUser | undefined {
    return this.#user;
  }

  get launchSpec(): GatewayLaunchSpec {
    return gatewayLaunchSpec({
      ...this.deps.launch,
      claw: this.record,
      ...(this.#user ? { user: this.#user } : {}),
    });
  }

  snapshot(): ClawSnapshot {
    const device = this.record.controlPlaneDevice;
    return {
      clawId: this.record.clawId,
      port: this.record.port,
      status: this.phase,
      paired: this.#pairing.paired,
      ...(this.#pairing.approving ? { pairingApproving: true } : {}),
      ...(device ? { deviceId: device.deviceId } : {}),
      ...(this.#pairing.error && !this.#pairing.paired ? { pairingError: this.#pairing.error } : {}),
      ...(this.record.pid ? { pid: this.record.pid } : {}),
      restarts: this.restarts,
      ...(this.error ? { error: this.error } : {}),
      ...(this.lastExit ? { lastExit: this.lastExit } : {}),
    };
  }

  /** Starts the gateway afresh (a new claw, or a failed one asked for again). */
  start(): void {
    this.#quickCrashes = 0;
    this.error = undefined;
    void this.#launch();
  }

  /** After an agent restart: adopt the recorded gateway if it is still ours and alive, else start it. */
  async resume(): Promise<'adopted' | 'started'> {
    const pid = this.record.pid;
    if (pid && isAlive(pid)) {
      const argv = await processArgv(pid);
      let ours = argv !== null && isGatewayArgv(argv, this.deps.launch.gatewayCommand, this.record.port);
      // A gateway may rewrite its process title (the real one does); then the live pid plus our
      // token on its port will do.
      if (!ours && argv !== null)
        ours = await probeHelloOk(this.record.port, this.record.gatewayToken, 2000).then(
          () => true,
          () => false,
        );
      // With claw users it must also run as the claw's user, and only as it. One that does not
      // (started before the agent ran with claw users) is stopped and started again as it.
      if (ours && this.deps.isolation.separateUsers) {
        const user = await this.deps.isolation.findUser(this.record.clawId).catch(() => undefined);
        const uids = await processUids(pid);
        if (user && uids?.length && uids.every((u) => u === user.uid)) this.#user = user;
        else {
          this.deps.log.warn('the claw’s gateway does not run as the claw’s user; restarting it as it', {
            pid,
            uids,
          });
          await this.#terminate(pid).catch((err: unknown) =>
            this.deps.log.error('cannot stop it', { pid, error: String(err) }),
          );
          this.record.pid = undefined;
          this.start();
          return 'started';
        }
      }
      if (ours) {
        this.#adopt(pid);
        return 'adopted';
      }
      this.deps.log.warn('recorded pid is no longer this claw’s gateway', { pid });
    }
    this.record.pid = undefined;
    this.start();
    return 'started';
  }

  /** After an agent restart, a claw stopped on request stays stopped: nothing is launched. */
  keepStopped(): void {
    this.#stopping = true;
    this.phase = 'stopped';
    this.record.pid = undefined;
  }

  /** POST of a claw the agent already has: restart it if it failed, look for pairing again. */
  ensureRunning(): void {
    if (this.#stopping) return;
    if (this.phase === 'failed') {
      this.deps.log.info('restarting a failed claw on request');
      this.start();
    }
    this.requestPairing();
  }

  setControlPlaneDevice(device: ControlPlaneDevice | undefined): void {
    const same = device?.deviceId === this.record.controlPlaneDevice?.deviceId;
    this.record.controlPlaneDevice = device;
    if (same) return;
    this.#pairing.reset();
    this.requestPairing();
  }

  /** Looks for the control plane's pairing request again, once the gateway runs. */
  requestPairing(): void {
    const device = this.record.controlPlaneDevice;
    if (device && this.phase === 'running') this.#pairing.look(device.deviceId);
  }

  /** Stops the gateway: SIGTERM to its group, SIGKILL after the grace period; resolves once it is gone. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.phase = 'stopped';
    this.#cancel();
    const pid = this.record.pid;
    if (pid) {
      await this.#terminate(pid);
      this.deps.log.info('gateway stopped', { pid });
    }
    await this.#endUserProcesses();
    this.record.pid = undefined;
    this.#child = undefined;
  }

  /** SIGTERM to the gateway's group, SIGKILL after the grace period; resolves once it is gone. */
  async #terminate(pid: number): Promise<void> {
    // Our own child reports its exit; an adopted gateway is watched by pid.
    const watch = new AbortController();
    const gone = this.#child && this.#gone ? this.#gone : waitForPidExit(pid, watch.signal);
    try {
      signalGroup(pid, 'SIGTERM');
      if (!(await within(gone, this.deps.tuning.stopGraceMs))) {
        this.deps.log.warn('gateway ignored SIGTERM; killing it', {
          pid,
          graceMs: this.deps.tuning.stopGraceMs,
        });
        signalGroup(pid, 'SIGKILL');
        if (!(await within(gone, 5000)))
          throw new Error(`The gateway (pid ${pid}) did not exit after SIGKILL`);
      }
    } finally {
      watch.abort();
    }
    killGroupOnly(pid); // helpers it left behind
  }

  /** Every process of the claw's user (claw users only): a helper in its own session, a stray child. */
  async #endUserProcesses(): Promise<void> {
    const isolation = this.deps.isolation;
    if (!isolation.separateUsers) return;
    const user = this.#user ?? (await isolation.findUser(this.record.clawId));
    if (!user) return;
    const ended = await killUserProcesses(isolation, user);
    if (ended)
      this.deps.log.info('ended what the claw user still ran', { user: user.name, processes: ended });
  }

  /** Stops supervising and leaves the gateway running (agent shutdown): the next agent adopts it. */
  detach(): void {
    this.#cancel();
    if (this.#child) {
      this.#child.removeAllListeners('exit');
      this.#child.removeAllListeners('error');
      this.#child.unref();
    }
  }

  #cancel(): void {
    this.#run++;
    this.#runAbort.abort();
    this.#pairing.cancel();
  }

  #newRun(): { run: number; signal: AbortSignal } {
    this.#runAbort.abort();
    this.#runAbort = new AbortController();
    return { run: ++this.#run, signal: this.#runAbort.signal };
  }

  async #launch(): Promise<void> {
    const { run, signal } = this.#newRun();
    const { port } = this.record;
    this.phase = 'starting';
    this.#readyAt = undefined;
    this.#child = undefined;
    this.#gone = undefined;

    if (await portInUse(port)) {
      if (signal.aborted) return;
      this.#fail(`Port ${port} is already in use by another process; the gateway cannot listen on it`);
      return;
    }
    if (signal.aborted) return;

    if (this.deps.isolation.separateUsers) {
      try {
        this.#user = await this.deps.isolation.ensureUser(
          this.record.clawId,
          gatewayDirs(this.deps.launch.clawDir).home,
        );
      } catch (err) {
        if (!signal.aborted) this.#fail(`Cannot create the claw's user: ${(err as Error).message}`);
        return;
      }
      if (signal.aborted) return;
    }

    let spec: GatewayLaunchSpec;
    let logFd: number;
    try {
      spec = this.launchSpec;
      prepareGatewayFiles(spec);
      logFd = openGatewayLog(spec);
    } catch (err) {
      this.#fail(`Cannot prepare the claw directory: ${(err as Error).message}`);
      return;
    }

    let child: ChildProcess;
    try {
      child = spawn(spec.program, spec.args, {
        cwd: spec.cwd,
        detached: true,
        stdio: ['ignore', logFd, logFd],
        // Next's types declare NODE_ENV required in ProcessEnv; a gateway's environment need not set it.
        env: spec.env as NodeJS.ProcessEnv,
        // Node drops the agent's supplementary groups (setgroups) along with uid and gid.
        ...(spec.uid !== undefined && spec.gid !== undefined ? { uid: spec.uid, gid: spec.gid } : {}),
      });
    } catch (err) {
      fs.closeSync(logFd);
      this.#fail(`Cannot start the gateway: ${(err as Error).message}`);
      return;
    }
    fs.closeSync(logFd); // the child holds its own copy
    child.unref();
    this.#child = child;
    this.#startedAt = Date.now();
    this.#gone = new Promise((resolve) => child.once('exit', () => resolve()));

    child.once('error', (err: NodeJS.ErrnoException) => {
      if (run !== this.#run) return;
      // Spawning failed (no such program, not executable): restarting will not help.
      if (!child.pid) this.#fail(`Cannot start the gateway (${spec.program}): ${err.code ?? err.message}`);
    });
    child.once('exit', (code, sig) => {
      if (run !== this.#run) return;
      void this.#onExit(run, code !== null ? `exit code ${code}` : `signal ${sig ?? 'unknown'}`, child.pid, {
        code,
        signal: sig,
      });
    });
    if (!child.pid) return;

    this.record.pid = child.pid;
    this.deps.persist();
    this.deps.log.info('gateway started', {
      pid: child.pid,
      port,
      ...(this.#user ? { user: this.#user.name } : {}),
    });
    void this.#watchReady(run, signal);
  }

  #adopt(pid: number): void {
    const { run, signal } = this.#newRun();
    this.phase = 'starting';
    this.#child = undefined;
    this.#readyAt = undefined;
    this.#startedAt = Date.now();
    this.#gone = undefined;
    this.deps.log.info('adopted a running gateway', { pid, port: this.record.port });
    void (async () => {
      while (!signal.aborted) {
        await sleep(500, signal);
        if (!signal.aborted && !isAlive(pid)) {
          await this.#onExit(run, 'the process disappeared', pid);
          return;
        }
      }
    })();
    void this.#watchReady(run, signal);
  }

  async #watchReady(run: number, signal: AbortSignal): Promise<void> {
    const deadline = this.#startedAt + this.deps.tuning.readyTimeoutMs;
    let delay = 100;
    let last = 'no answer yet';
    while (!signal.aborted) {
      try {
        await probeHelloOk(this.record.port, this.record.gatewayToken, PROBE_TIMEOUT_MS);
        if (signal.aborted) return;
        this.phase = 'running';
        this.#readyAt = Date.now();
        this.error = undefined;
        this.deps.log.info('gateway ready', {
          pid: this.record.pid,
          warmupMs: this.#readyAt - this.#startedAt,
        });
        this.requestPairing();
        // Staying up this long wipes the crash streak.
        void sleep(this.deps.tuning.stableMs, signal).then(() => {
          if (!signal.aborted) this.#quickCrashes = 0;
        });
        return;
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
        // Someone answers on the port but refuses our token: say so while we keep trying.
        if (err instanceof GatewayConnectError && err.failure === 'rejected')
          this.error = `Gateway handshake: ${last}`;
      }
      if (Date.now() > deadline) {
        if (signal.aborted || run !== this.#run) return;
        this.error = `The gateway did not answer hello-ok within ${this.deps.tuning.readyTimeoutMs} ms (${last})`;
        this.deps.log.warn('gateway not ready in time; killing it', { pid: this.record.pid });
        if (this.record.pid) signalGroup(this.record.pid, 'SIGKILL');
        return; // the exit (child event or pid watch) restarts it
      }
      await sleep(delay, signal);
      delay = Math.min(1000, Math.round(delay * 1.5));
    }
  }

  async #onExit(
    run: number,
    why: string,
    pid: number | undefined,
    exit?: { code: number | null; signal: NodeJS.Signals | null },
  ): Promise<void> {
    if (run !== this.#run || this.#stopping) return;
    this.#runAbort.abort();
    this.#pairing.cancel();
    if (pid) killGroupOnly(pid);
    this.record.pid = undefined;
    this.#child = undefined;
    this.deps.persist();
    // What the dead gateway left (its helpers keep the port or the state otherwise).
    await this.#endUserProcesses().catch((err: unknown) =>
      this.deps.log.warn('cannot end the claw user’s processes', { error: String(err) }),
    );
    if (run !== this.#run || this.#stopping) return;

    const verdict = afterUnexpectedExit(
      {
        quickCrashes: this.#quickCrashes,
        wasReady: this.#readyAt !== undefined,
        upMs: Date.now() - this.#startedAt,
      },
      this.deps.tuning,
    );
    this.#quickCrashes = verdict.quickCrashes;
    const output = secretsOf(this.record).reduce(
      (text, secret) => text.split(secret).join('[redacted]'),
      tail(this.launchSpec.logFile, 400),
    );
    const timedOut = this.error?.startsWith('The gateway did not answer') ? `${this.error}; ` : '';
    const reason = `${timedOut}gateway ${why}${output ? `: …${output.slice(-300)}` : ''}`;
    this.deps.log.warn('gateway exited unexpectedly', { pid, why, crashesInARow: this.#quickCrashes });
    this.lastExit = {
      code: exit?.code ?? null,
      signal: exit?.signal ?? null,
      at: new Date().toISOString(),
      crashesInARow: this.#quickCrashes,
      gaveUp: verdict.action === 'fail',
    };

    if (verdict.action === 'fail') {
      this.#fail(`The gateway crashed ${this.#quickCrashes} times in a row; last: ${reason}`);
      return;
    }
    this.phase = 'starting';
    this.error = `Restarting in ${verdict.delayMs} ms after: ${reason}`;
    const { run: waitRun, signal } = this.#newRun();
    await sleep(verdict.delayMs, signal);
    if (signal.aborted || waitRun !== this.#run || this.#stopping) return;
    this.restarts++;
    await this.#launch();
  }

  #fail(error: string): void {
    this.#runAbort.abort();
    this.phase = 'failed';
    this.error = error;
    this.deps.log.error('claw failed', { error });
  }
}
