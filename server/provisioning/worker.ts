import { randomUUID } from 'node:crypto';
import { clawStream, type DomainEvent, type ProvisioningStep } from '../../events/catalog';
import { ConcurrencyError } from '../../events/errors';
import type { EventStore } from '../../events/store';
import type { EventMetadata } from '../../events/types';
import type { ClawState } from '../../projections/claws';
import type { MiniState } from '../../projections/minis';
import type { AccessResult } from '../gateway/verify-access';
import type { BucketStore } from '../buckets';
import { bucketNameForClaw } from '../buckets';
import type { ClawDeploymentService } from '../deployment/types';
import { allocateClaw } from '../fleet/allocator';
import type { Logger } from '../log';
import { gatewayTokenSecret, type SecretStore } from '../secrets/secret-store';
import { claimDueClaws, pruneLeases, releaseLease } from './leases';
import { backoffMs, isForwardStep, nextAction, type Action } from './plan';

export interface WorkerOptions {
  workerId?: string;
  pollMs: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  readyTimeoutMs: number;
  readyPollMs?: number;
  leaseMs?: number;
  concurrency?: number;
}

export interface WorkerDeps {
  store: EventStore;
  secrets: SecretStore;
  buckets: BucketStore;
  deploymentFor(target: string): ClawDeploymentService;
  /** Connects to the gateway as the chat proxy will; active means this succeeds with chat's scopes. */
  verifyAccess(claw: ClawState, mini: MiniState | null): Promise<AccessResult>;
  log: Logger;
}

/** The outcome of one step: events to append, and when to look at the claw again. */
interface StepOutcome {
  events: DomainEvent[];
  notBeforeMs?: number;
}

class StepError extends Error {
  constructor(
    readonly kind: 'retryable' | 'permanent',
    message: string,
  ) {
    super(message);
  }
}

const errorKind = (err: unknown): 'retryable' | 'permanent' =>
  typeof err === 'object' && err !== null && (err as { kind?: unknown }).kind === 'permanent'
    ? 'permanent'
    : 'retryable';
const errorText = (err: unknown) =>
  (err instanceof Error ? err.message : String(err)).slice(0, 500) || 'unknown error';

/**
 * The provisioning process manager. It advances every claw with pending work one step at a time,
 * from the claw's projected state: claim (lease) → run the step's side effect → append the step's
 * event with the version it read → release. A crash anywhere leaves at most a side effect that the
 * next attempt repeats harmlessly (every step is idempotent per claw), and a lease that expires.
 */
export class ProvisioningWorker {
  readonly id: string;
  readonly #opts: Required<WorkerOptions>;
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
    this.#opts = { readyPollMs: 250, leaseMs: 30_000, concurrency: 8, workerId: this.id, ...options };
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
      .catch((err) => this.deps.log.error('provisioning round failed', { error: errorText(err) }))
      .finally(() => {
        this.#running = undefined;
        if (this.#again && !this.#stopped) {
          this.#again = false;
          this.wake();
        }
      });
  }

  async #drain(): Promise<void> {
    await pruneLeases(this.deps.store.db, new Date());
    for (;;) {
      this.#again = false;
      const ids = await claimDueClaws(
        this.deps.store.db,
        this.id,
        new Date(),
        this.#opts.leaseMs,
        this.#opts.concurrency,
      );
      if (ids.length === 0 || this.#stopped) return;
      await Promise.all(ids.map((id) => this.runOnce(id)));
    }
  }

  /** Runs the next step of one claw this worker holds the lease of. */
  async runOnce(clawId: string): Promise<void> {
    let notBefore = new Date();
    try {
      const claw = await this.deps.store.loadClaw(clawId);
      const action = claw?.workPending ? nextAction(claw) : null;
      if (!claw || !action) return;
      const meta = await this.#metaFor(claw);
      try {
        const outcome = await this.#execute(action, claw, meta);
        if (outcome.events.length)
          await this.deps.store.append(clawStream(claw.id), claw.version, outcome.events, meta, claw);
        if (outcome.notBeforeMs) notBefore = new Date(Date.now() + outcome.notBeforeMs);
        if (outcome.events.length)
          this.deps.log.info('claw step done', {
            clawId,
            step: action,
            events: outcome.events.map((e) => e.type),
          });
      } catch (err) {
        if (err instanceof ConcurrencyError) return; // someone else moved the claw on: re-read next round
        await this.#recordFailure(claw, action, err, meta);
      }
    } catch (err) {
      this.deps.log.error('claw step crashed', { clawId, error: errorText(err) });
      notBefore = new Date(Date.now() + this.#opts.backoffBaseMs);
    } finally {
      await releaseLease(this.deps.store.db, clawId, this.id, notBefore).catch(() => {});
    }
  }

  async #execute(action: Action, claw: ClawState, meta: EventMetadata): Promise<StepOutcome> {
    const { store, buckets, secrets } = this.deps;
    const deployment = this.deps.deploymentFor(claw.target);
    const mini = claw.miniId ? await store.loadMini(claw.miniId) : null;
    switch (action) {
      case 'allocate': {
        const r = await allocateClaw(store, claw, meta);
        // allocateClaw appends MiniAllocated itself, inside the transaction that locks the Mini.
        if (r.ok) return { events: [] };
        return { events: [{ type: 'ProvisioningFailed', data: { step: 'allocate', error: r.message } }] };
      }
      case 'start_agent':
        await deployment.start(claw, mini);
        return { events: [{ type: 'AgentStarted', data: { miniId: claw.miniId!, port: claw.miniPort! } }] };
      case 'create_bucket': {
        const bucket = bucketNameForClaw(claw.id);
        await buckets.create(bucket);
        return { events: [{ type: 'BucketCreated', data: { bucket } }] };
      }
      case 'wait_ready': {
        const report = await deployment.status(claw, mini);
        const waited = Date.now() - claw.updatedAt.getTime();
        const notReady = (why: string): StepOutcome => {
          if (waited > this.#opts.readyTimeoutMs)
            throw new StepError(
              'retryable',
              `The gateway did not become ready within ${Math.round(waited / 1000)} s (${why})`,
            );
          return { events: [], notBeforeMs: this.#opts.readyPollMs };
        };
        if (report.status === 'running') {
          // Running on the Mini is not enough: the control plane must get in with chat's scopes.
          const access = await this.deps.verifyAccess(claw, mini);
          if (!access.ok && access.retry === 'never') throw new StepError('permanent', access.reason);
          if (!access.ok) return notReady(access.reason);
          const events: DomainEvent[] = [];
          if (access.deviceId !== claw.pairedDeviceId)
            events.push({ type: 'GatewayPaired', data: { deviceId: access.deviceId } });
          events.push({
            type: 'ClawActive',
            data: { warmupMs: Math.max(0, Date.now() - claw.createdAt.getTime()) },
          });
          return { events };
        }
        if (report.status === 'starting') return notReady('still starting');
        if (report.status === 'failed')
          throw new StepError('retryable', `The gateway failed: ${report.error ?? 'no detail'}`);
        // stopped/unknown: the agent no longer runs it (restarted Mini?). Ask again, count an attempt.
        await deployment.start(claw, mini);
        throw new StepError(
          'retryable',
          `The gateway was not running on its Mini (${report.status}); restarted it`,
        );
      }
      case 'stop_agent':
        await deployment.stop(claw, mini);
        return { events: [{ type: 'AgentStopped', data: { miniId: claw.miniId! } }] };
      case 'delete_bucket':
        await buckets.delete(claw.bucket!);
        return { events: [{ type: 'BucketDeleted', data: { bucket: claw.bucket! } }] };
      case 'release':
        return {
          events: [{ type: 'AllocationReleased', data: { miniId: claw.miniId!, port: claw.miniPort! } }],
        };
      case 'finish_delete':
        // The token goes before the event that ends the claw: a crash in between repeats this step
        // (deleting is idempotent), where the other order could leave a token nobody deletes.
        await secrets.delete(gatewayTokenSecret(claw.id));
        return { events: [{ type: 'ClawDeleted', data: {} }] };
    }
  }

  async #recordFailure(claw: ClawState, action: Action, err: unknown, meta: EventMetadata): Promise<void> {
    const error = errorText(err);
    if (action === 'release' || action === 'finish_delete' || action === 'allocate') {
      // Database-only steps: nothing outside to retry against; the next round tries again.
      this.deps.log.warn('claw step failed', { clawId: claw.id, step: action, error });
      return;
    }
    const step: ProvisioningStep = action;
    const attempt = claw.failedStep === step ? claw.attempts + 1 : 1;
    const giveUp =
      isForwardStep(action) && (errorKind(err) === 'permanent' || attempt >= this.#opts.maxAttempts);
    const event: DomainEvent = giveUp
      ? { type: 'ProvisioningFailed', data: { step, error } }
      : {
          type: 'ProvisioningStepFailed',
          data: {
            step,
            attempt,
            error,
            retryAt: new Date(
              Date.now() + backoffMs(attempt, this.#opts.backoffBaseMs, this.#opts.backoffMaxMs),
            ).toISOString(),
          },
        };
    this.deps.log.warn(giveUp ? 'claw failed' : 'claw step failed, will retry', {
      clawId: claw.id,
      step,
      attempt,
      error,
    });
    try {
      await this.deps.store.append(clawStream(claw.id), claw.version, [event], meta, claw);
    } catch (appendErr) {
      if (!(appendErr instanceof ConcurrencyError)) throw appendErr;
    }
  }

  /** Worker events continue the correlation of the request that caused them. */
  async #metaFor(claw: ClawState): Promise<EventMetadata> {
    const last = await this.deps.store.db
      .selectFrom('events')
      .select(['event_id', 'correlation_id'])
      .where('stream_id', '=', clawStream(claw.id))
      .orderBy('stream_version', 'desc')
      .limit(1)
      .executeTakeFirst();
    return {
      actor: 'system:provisioner',
      correlationId: last?.correlation_id ?? randomUUID(),
      causationId: last?.event_id ?? null,
    };
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#unsubscribe?.();
    await this.#running;
  }
}
