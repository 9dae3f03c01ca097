import { randomUUID } from 'node:crypto';
import { miniStream } from '../../events/catalog';
import { ConcurrencyError } from '../../events/errors';
import type { EventStore } from '../../events/store';
import { rowToMini } from '../../projections/rows';
import type { MiniState } from '../../projections/minis';
import type { Logger } from '../log';

export interface HealthProbe {
  /** Resolves when the Mini's agent answers GET /health; rejects with the reason otherwise. */
  check(mini: MiniState): Promise<void>;
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
    private readonly options: { intervalMs: number; failuresToOffline?: number },
  ) {}

  start(): void {
    this.#timer ??= setInterval(() => void this.runOnce(), this.options.intervalMs);
    this.#timer.unref();
    void this.runOnce();
  }

  runOnce(): Promise<void> {
    this.#running ??= this.#round().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #round(): Promise<void> {
    const minis = (
      await this.store.db.selectFrom('mac_minis').selectAll().where('status', '<>', 'removed').execute()
    ).map(rowToMini);
    await Promise.all(minis.map((m) => this.#checkOne(m)));
  }

  async #checkOne(mini: MiniState): Promise<void> {
    const meta = { actor: 'system:health' as const, correlationId: randomUUID() };
    try {
      await this.probe.check(mini);
      this.#failures.delete(mini.id);
      if (mini.status === 'offline') {
        await this.store.append(
          miniStream(mini.id),
          mini.version,
          [{ type: 'MiniCameOnline', data: {} }],
          meta,
          mini,
        );
        this.log.info('mini came online', { miniId: mini.id, hostname: mini.hostname });
      }
    } catch (err) {
      if (err instanceof ConcurrencyError) return;
      const failures = (this.#failures.get(mini.id) ?? 0) + 1;
      this.#failures.set(mini.id, failures);
      if (mini.status !== 'online' || failures < (this.options.failuresToOffline ?? 2)) return;
      const error = (err instanceof Error ? err.message : String(err)).slice(0, 500) || 'health check failed';
      try {
        await this.store.append(
          miniStream(mini.id),
          mini.version,
          [{ type: 'MiniWentOffline', data: { error } }],
          meta,
          mini,
        );
        this.log.warn('mini went offline', { miniId: mini.id, hostname: mini.hostname, error });
      } catch (appendErr) {
        if (!(appendErr instanceof ConcurrencyError)) throw appendErr;
      }
    }
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
