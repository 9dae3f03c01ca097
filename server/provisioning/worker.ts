import { randomUUID } from 'node:crypto';
import {
  clawStream,
  decideStepFailure,
  nextStep,
  type ClawEvent,
  type ClawState,
  type RetryPolicy,
  type WorkerStep,
} from '../../events/claw';
import { ConcurrencyError } from '../../events/errors';
import type { EventMetadata } from '../../events/types';
import { clawsProjection } from '../../projections/claws';
import { isConnectionError } from '../../db/errors';
import { asFailure } from '../failure';
import type { Logger } from '../log';
import { claimDueClaws, pruneLeases, releaseLease, renewLease } from './leases';
import { steps, type StepDeps } from './steps';

export interface WorkerOptions extends RetryPolicy {
  workerId?: string;
  pollMs: number;
  readyTimeoutMs: number;
  readyPollMs?: number;
  leaseMs?: number;
  concurrency?: number;
}

export type WorkerDeps = Omit<StepDeps, 'readyTimeoutMs' | 'readyPollMs'> & { log: Logger };

/**
 * The provisioning process manager's loop. It advances every claw with pending work one step at a
 * time, from the claw's projected state: claim (lease) → run the step the lifecycle names
 * (steps.ts) → append its events with the version it read → release. A crash anywhere leaves at
 * most a side effect that the next attempt repeats harmlessly, and a lease that expires.
 */
export class ProvisioningWorker {
  readonly id: string;
  readonly #opts: Required<WorkerOptions>;
  readonly #steps: StepDeps;
  #stopped = true;
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #running: Promise<void> | undefined;
  #again = false;

  constructor(
    private readonly deps: WorkerDeps,
    options: WorkerOptions,
  ) {
    this.id = options.workerId ?? `worker-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.#opts = { readyPollMs: 250, leaseMs: 10_000, concurrency: 8, workerId: this.id, ...options };
    this.#steps = { ...deps, readyTimeoutMs: this.#opts.readyTimeoutMs, readyPollMs: this.#opts.readyPollMs };
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#unsubscribe = this.deps.store.onAppended(() => this.wake());
    this.#timer = setInterval(() => this.wake(), this.#opts.pollMs);
    this.#timer.unref();
    this.wake();
  }

  /** Runs claim rounds until there is nothing due; a wake during a round runs one more. */
  wake(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#drain()
      .catch((err) => this.deps.log.error('provisioning round failed', { error: asFailure(err).message }))
      .finally(() => {
        this.#running = undefined;
        if (this.#again && !this.#stopped) {
          this.#again = false;
          this.wake();
        }
      });
  }

  async #drain(): Promise<void> {
    const db = this.deps.store.db;
    await pruneLeases(db, new Date());
    for (;;) {
      this.#again = false;
      const ids = await claimDueClaws(db, this.id, new Date(), this.#opts.leaseMs, this.#opts.concurrency);
      if (ids.length === 0 || this.#stopped) return;
      await Promise.all(ids.map((id) => this.runOnce(id)));
    }
  }

  /**
   * Runs the next step of one claw this worker holds the lease of. The lease is short and renewed
   * while the step runs, so a worker that dies mid-step hands its claws on within one lease.
   */
  async runOnce(clawId: string): Promise<void> {
    let notBefore = new Date();
    const { leaseMs } = this.#opts;
    const renew = setInterval(() => {
      renewLease(this.deps.store.db, clawId, this.id, new Date(Date.now() + leaseMs)).catch(() => {
        // A lost renewal only risks a second worker repeating an idempotent step.
      });
    }, leaseMs / 3);
    renew.unref();
    try {
      const claw = await this.deps.store.load(clawsProjection, clawId);
      const step = claw?.workPending ? nextStep(claw) : null;
      if (!claw || !step) return;
      const meta = await this.#metaFor(claw);
      try {
        const outcome = await steps[step](this.#steps, claw, meta);
        if (outcome.events.length) {
          await this.#append(claw, outcome.events, meta);
          this.deps.log.info('claw step done', { clawId, step, events: outcome.events.map((e) => e.type) });
        }
        if (outcome.notBeforeMs) notBefore = new Date(Date.now() + outcome.notBeforeMs);
      } catch (err) {
        if (err instanceof ConcurrencyError) return; // someone else moved the claw on: re-read next round
        await this.#recordFailure(claw, step, err, meta);
      }
    } catch (err) {
      this.deps.log.error('claw step crashed', { clawId, error: asFailure(err).message });
      notBefore = new Date(Date.now() + this.#opts.backoffBaseMs);
    } finally {
      clearInterval(renew);
      await this.#release(clawId, notBefore);
    }
  }

  /**
   * Gives the claim back. Retried while the database is restarting: a release lost to a restart
   * would otherwise hold the claw until its lease runs out.
   */
  async #release(clawId: string, notBefore: Date): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await releaseLease(this.deps.store.db, clawId, this.id, notBefore);
        return;
      } catch (err) {
        if (!isConnectionError(err) || attempt >= 10 || this.#stopped) return; // the lease expires
        await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
      }
    }
  }

  #append(claw: ClawState, events: ClawEvent[], meta: EventMetadata) {
    return this.deps.store.append(clawsProjection, claw.id, events, {
      expected: claw.version,
      known: claw,
      meta,
    });
  }

  async #recordFailure(claw: ClawState, step: WorkerStep, err: unknown, meta: EventMetadata): Promise<void> {
    const failure = asFailure(err);
    const events = decideStepFailure(claw, step, failure, this.#opts, new Date());
    const gaveUp = events.some((e) => e.type === 'ProvisioningFailed');
    this.deps.log.warn(gaveUp ? 'claw failed' : 'claw step failed, will retry', {
      clawId: claw.id,
      step,
      attempt: claw.failedStep === step ? claw.attempts + 1 : 1,
      error: failure.message,
    });
    // A step that only writes the database records nothing: the next round runs it again.
    if (events.length === 0) return;
    try {
      await this.#append(claw, events, meta);
    } catch (appendErr) {
      if (!(appendErr instanceof ConcurrencyError)) throw appendErr;
    }
  }

  /** Worker events continue the correlation of the request that caused them. */
  async #metaFor(claw: ClawState): Promise<EventMetadata> {
    const last = await this.deps.store.lastEvent(clawStream, claw.id);
    return {
      actor: 'system:provisioner',
      correlationId: last?.correlationId ?? randomUUID(),
      causationId: last?.eventId ?? null,
    };
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#unsubscribe?.();
    await this.#running;
  }
}
