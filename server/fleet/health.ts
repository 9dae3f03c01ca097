import { randomUUID } from 'node:crypto';
import { ConcurrencyError } from '../../events/errors';
import { decideHealth, type MiniState } from '../../events/mini';
import type { EventStore } from '../../events/store';
import { fleetMinis, minisProjection } from '../../projections/minis';
import { asFailure } from '../failure';
import type { Logger } from '../log';

export interface HealthProbe {
  /** Resolves when the Mini's agent answers GET /health (with its memory); rejects with the reason otherwise. */
  check(mini: MiniState): Promise<{ memoryMb?: number } | void>;
}

/**
 * Polls every Mini's agent and records transitions only (MiniWentOffline after `failuresToOffline`
 * consecutive failures, MiniCameOnline on the first success), so the log holds changes, not pings.
 * Several servers may run this loop: the expected version makes only one of them record a change.
 */
export class MiniHealthLoop {
  #failures = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(
    private readonly store: EventStore,
    private readonly probe: HealthProbe,
    private readonly log: Logger,
    private readonly options: { intervalMs: number; failuresToOffline?: number; lostAfterMs: number },
  ) {}

  start(): void {
    this.#timer ??= setInterval(() => void this.runOnce(), this.options.intervalMs);
    this.#timer.unref();
    void this.runOnce();
  }

  runOnce(): Promise<void> {
    // A round that fails (the database away) is logged; the next tick tries again.
    this.#running ??= this.#round()
      .catch((err) => this.log.error('health round failed', { error: asFailure(err).message }))
      .finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #round(): Promise<void> {
    const minis = await fleetMinis(this.store.db);
    await Promise.all(minis.map((m) => this.#checkOne(m)));
  }

  async #checkOne(mini: MiniState): Promise<void> {
    let check: Parameters<typeof decideHealth>[1];
    try {
      const seen = await this.probe.check(mini);
      this.#failures.delete(mini.id);
      check = { ok: true, ...(seen?.memoryMb !== undefined ? { memoryMb: seen.memoryMb } : {}) };
    } catch (err) {
      const failuresInARow = (this.#failures.get(mini.id) ?? 0) + 1;
      this.#failures.set(mini.id, failuresInARow);
      const error = (err instanceof Error ? err.message : String(err)).slice(0, 500) || 'health check failed';
      check = { ok: false, error, failuresInARow };
    }
    const policy = {
      failuresToOffline: this.options.failuresToOffline ?? 2,
      lostAfterMs: this.options.lostAfterMs,
    };
    const events = decideHealth(mini, check, policy, new Date());
    if (events.length === 0) return;
    try {
      await this.store.append(minisProjection, mini.id, events, {
        expected: mini.version,
        known: mini,
        meta: { actor: 'system:health', correlationId: randomUUID() },
      });
    } catch (err) {
      if (err instanceof ConcurrencyError) return;
      throw err;
    }
    this.log[check.ok ? 'info' : 'warn'](events.map((e) => e.type).join(', '), {
      miniId: mini.id,
      hostname: mini.hostname,
      ...(check.ok ? {} : { error: check.error }),
    });
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
