import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../server/log';
import type { SupervisorTuning } from './config';
import { GatewayConnectError, probeHelloOk } from './gateway-protocol';
import { pairControlPlaneDevice } from './pairing';
import { isAlive, isGatewayArgv, portInUse, processArgv, signalGroup, tail } from './processes';
import type { ClawRecord } from './state-store';

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
 * - `stop()` sends SIGTERM to the group, SIGKILL after the grace period, and waits for the exit.
 */

export type ClawPhase = 'starting' | 'running' | 'stopped' | 'failed';

export interface ClawSnapshot {
  clawId: string;
  port: number;
  status: ClawPhase;
  paired: boolean;
  deviceId?: string;
  pairingError?: string;
  pid?: number;
  restarts: number;
  error?: string;
}

export interface SupervisorDeps {
  gatewayCommand: string[];
  /** `gateway.trustedProxies` to merge into the gateway's openclaw.json; empty: leave config alone. */
  trustedProxies: string[];
  /** The claw's own directory: HOME, OPENCLAW_STATE_DIR and the gateway log live under it. */
  clawDir: string;
  /** Environment the gateway inherits (without the agent's own secrets). */
  baseEnv: Record<string, string | undefined>;
  tuning: SupervisorTuning;
  log: Logger;
  /** Called whenever the durable part (the record's pid) changed. */
  persist: () => void;
}

const MAX_LOG_BYTES = 5 * 1024 * 1024;
const PROBE_TIMEOUT_MS = 3000;

export class ClawSupervisor {
  phase: ClawPhase = 'starting';
  restarts = 0;
  error: string | undefined;
  paired = false;
  pairingError: string | undefined;

  #child: ChildProcess | undefined;
  /** Resolves when the current process is gone; set for every launched or adopted process. */
  #gone: Promise<void> | undefined;
  #run = 0;
  #runAbort = new AbortController();
  #stopping = false;
  #quickCrashes = 0;
  #startedAt = 0;
  #readyAt: number | undefined;
  #pairing: AbortController | undefined;
  #pairingFinal = false;

  constructor(
    readonly record: ClawRecord,
    private readonly deps: SupervisorDeps,
  ) {}

  get logFile(): string {
    return path.join(this.deps.clawDir, 'gateway.log');
  }

  snapshot(): ClawSnapshot {
    const device = this.record.controlPlaneDevice;
    return {
      clawId: this.record.clawId,
      port: this.record.port,
      status: this.phase,
      paired: this.paired,
      ...(device ? { deviceId: device.deviceId } : {}),
      ...(this.pairingError && !this.paired ? { pairingError: this.pairingError } : {}),
      ...(this.record.pid ? { pid: this.record.pid } : {}),
      restarts: this.restarts,
      ...(this.error ? { error: this.error } : {}),
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
      let ours = argv !== null && isGatewayArgv(argv, this.deps.gatewayCommand, this.record.port);
      // A gateway may rewrite its process title; then the live pid plus our token on its port will do.
      if (!ours && argv !== null)
        ours = await probeHelloOk(this.record.port, this.record.gatewayToken, 2000).then(
          () => true,
          () => false,
        );
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

  /** POST of a claw the agent already has: restart it if it failed, look for pairing again. */
  ensureRunning(): void {
    if (this.#stopping) return;
    if (this.phase === 'failed') {
      this.deps.log.info('restarting a failed claw on request');
      this.start();
    }
    this.requestPairing();
  }

  setControlPlaneDevice(device: ClawRecord['controlPlaneDevice']): void {
    const same = device?.deviceId === this.record.controlPlaneDevice?.deviceId;
    this.record.controlPlaneDevice = device;
    if (same) return;
    this.paired = false;
    this.pairingError = undefined;
    this.#pairingFinal = false;
    this.#pairing?.abort();
    this.#pairing = undefined;
    this.requestPairing();
  }

  /** Looks for the control plane's pairing request again, unless paired, already looking, or pointless. */
  requestPairing(): void {
    const device = this.record.controlPlaneDevice;
    if (!device || this.paired || this.#pairing || this.#pairingFinal || this.phase !== 'running') return;
    const ac = new AbortController();
    this.#pairing = ac;
    void pairControlPlaneDevice({
      port: this.record.port,
      token: this.record.gatewayToken,
      deviceId: device.deviceId,
      windowMs: this.deps.tuning.pairingWindowMs,
      intervalMs: this.deps.tuning.pairingIntervalMs,
      signal: ac.signal,
    }).then((outcome) => {
      if (this.#pairing !== ac) return;
      this.#pairing = undefined;
      if (outcome.paired) {
        this.paired = true;
        this.pairingError = undefined;
        this.deps.log.info('control plane device paired', { deviceId: outcome.deviceId });
      } else {
        this.pairingError = outcome.reason;
        this.#pairingFinal = outcome.final;
        if (outcome.final) this.deps.log.warn('pairing unavailable', { reason: outcome.reason });
      }
    });
  }

  /** Stops the gateway: SIGTERM to its group, SIGKILL after the grace period; resolves once it is gone. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.phase = 'stopped';
    this.#cancel();
    const pid = this.record.pid;
    if (pid) {
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
      this.deps.log.info('gateway stopped', { pid });
    }
    this.record.pid = undefined;
    this.#child = undefined;
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
    this.#pairing?.abort();
    this.#pairing = undefined;
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

    const home = path.join(this.deps.clawDir, 'home');
    const stateDir = path.join(this.deps.clawDir, 'state');
    let logFd: number;
    try {
      fs.mkdirSync(home, { recursive: true, mode: 0o700 });
      fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
      if (this.deps.trustedProxies.length) writeTrustedProxies(stateDir, this.deps.trustedProxies);
      rotateLog(this.logFile);
      logFd = fs.openSync(this.logFile, 'a', 0o600);
    } catch (err) {
      this.#fail(`Cannot prepare the claw directory: ${(err as Error).message}`);
      return;
    }

    const [program, ...programArgs] = this.deps.gatewayCommand;
    const args = [
      ...programArgs,
      ...[
        'gateway',
        'run',
        '--port',
        String(port),
        '--bind',
        'loopback',
        '--auth',
        'token',
        '--allow-unconfigured',
      ],
    ];
    let child: ChildProcess;
    try {
      child = spawn(program!, args, {
        // The agent's own working directory, so a relative path in the configured command means what
        // it meant where the agent was started.
        cwd: process.cwd(),
        detached: true,
        stdio: ['ignore', logFd, logFd],
        env: {
          ...this.deps.baseEnv,
          HOME: home,
          OPENCLAW_STATE_DIR: stateDir,
          OPENCLAW_GATEWAY_TOKEN: this.record.gatewayToken,
          OPENCLAW_DISABLE_BONJOUR: '1',
          // The dev gateway takes its trusted proxies from the environment; the real one from openclaw.json.
          ...(this.deps.trustedProxies.length
            ? { CLAWS_DEV_GATEWAY_TRUSTED_PROXIES: this.deps.trustedProxies.join(',') }
            : {}),
        } as unknown as NodeJS.ProcessEnv,
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
      if (!child.pid)
        this.#fail(`Cannot start the gateway (${this.deps.gatewayCommand[0]}): ${err.code ?? err.message}`);
    });
    child.once('exit', (code, sig) => {
      if (run !== this.#run) return;
      void this.#onExit(run, code !== null ? `exit code ${code}` : `signal ${sig ?? 'unknown'}`, child.pid);
    });
    if (!child.pid) return;

    this.record.pid = child.pid;
    this.deps.persist();
    this.deps.log.info('gateway started', { pid: child.pid, port });
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

  async #onExit(run: number, why: string, pid: number | undefined): Promise<void> {
    if (run !== this.#run || this.#stopping) return;
    this.#runAbort.abort();
    this.#pairing?.abort();
    this.#pairing = undefined;
    if (pid) killGroupOnly(pid);
    this.record.pid = undefined;
    this.#child = undefined;
    this.deps.persist();

    const wasStable =
      this.#readyAt !== undefined && Date.now() - this.#startedAt >= this.deps.tuning.stableMs;
    this.#quickCrashes = wasStable ? 1 : this.#quickCrashes + 1;
    const output = tail(this.logFile, 400).split(this.record.gatewayToken).join('[redacted]');
    const timedOut = this.error?.startsWith('The gateway did not answer') ? `${this.error}; ` : '';
    const reason = `${timedOut}gateway ${why}${output ? `: …${output.slice(-300)}` : ''}`;
    this.deps.log.warn('gateway exited unexpectedly', { pid, why, crashesInARow: this.#quickCrashes });

    if (this.#quickCrashes >= this.deps.tuning.maxQuickCrashes) {
      this.#fail(`The gateway crashed ${this.#quickCrashes} times in a row; last: ${reason}`);
      return;
    }
    const { tuning } = this.deps;
    const delay = Math.min(
      tuning.restartBackoffMaxMs,
      tuning.restartBackoffMs * 2 ** (this.#quickCrashes - 1),
    );
    this.phase = 'starting';
    this.error = `Restarting in ${delay} ms after: ${reason}`;
    const { run: waitRun, signal } = this.#newRun();
    await sleep(delay, signal);
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

/** SIGKILL to whatever is left in a dead leader's process group; never to a lone pid. */
function killGroupOnly(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* the group is empty */
  }
}

/** Merges `gateway.trustedProxies` into `<stateDir>/openclaw.json`, keeping whatever else is there. */
function writeTrustedProxies(stateDir: string, proxies: string[]): void {
  const file = path.join(stateDir, 'openclaw.json');
  let config: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      config = parsed as Record<string, unknown>;
  } catch {
    /* none yet */
  }
  const gateway = (config.gateway && typeof config.gateway === 'object' ? config.gateway : {}) as Record<
    string,
    unknown
  >;
  config.gateway = { ...gateway, trustedProxies: proxies };
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, file);
}

function rotateLog(file: string): void {
  try {
    if (fs.statSync(file).size > MAX_LOG_BYTES) fs.renameSync(file, `${file}.1`);
  } catch {
    /* no log yet */
  }
}

/** Resolves once `pid` is gone; stops watching (without resolving) when `signal` aborts. */
function waitForPidExit(pid: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (signal.aborted) return;
      if (!isAlive(pid)) return resolve();
      setTimeout(check, 50).unref();
    };
    check();
  });
}

async function within(p: Promise<void>, ms: number): Promise<boolean> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (t = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([p.then(() => true as const), timeout]);
  } finally {
    clearTimeout(t);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
