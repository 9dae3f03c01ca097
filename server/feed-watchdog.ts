import type { Kysely } from 'kysely';
import type { Database } from '../db/types';
import { horizonHolder, type HorizonHolder } from '../events/horizon';
import type { Logger } from './log';

export interface FeedWatchdogOptions {
  checkMs: number;
  /** Held back this long, the holder is named in a warning, and again each time as long again passes. */
  warnMs: number;
  /** Receives how long the feeds have been held back, in seconds, after every check. */
  gauge: { set(seconds: number): void };
  log: Logger;
}

interface Tracked {
  key: string;
  pid: number | null;
  xid: string;
  firstSeen: Date;
  warnedAtMs: number | null;
}

/**
 * Makes a stalled live feed visible. The commit-safe reader waits below the oldest open
 * transaction by design (it never skips an event that commits late), so a forgotten
 * `BEGIN` in a psql session, a stuck migration or a long batch job anywhere in the cluster pauses
 * every subscription with no error anywhere. This names the transaction that does it: its pid,
 * role, database, application, state and a redacted snippet of its statement, which is what an
 * operator needs to end it (pg_terminate_backend). PostgreSQL only.
 *
 * The age is measured from the transaction's start when the role may see it (its own sessions,
 * or pg_read_all_stats), else from when this watchdog first saw it.
 */
export class FeedWatchdog {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #tracked: Tracked | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: FeedWatchdogOptions,
  ) {}

  start(): void {
    this.#timer ??= setInterval(() => void this.check(), this.options.checkMs);
    this.#timer.unref();
    void this.check();
  }

  /** One look; never rejects (a database that is away is the readiness probe's to report). */
  check(): Promise<void> {
    this.#running ??= this.#check()
      .catch((err: unknown) =>
        this.options.log.debug('feed watchdog check failed', {
          error: err instanceof Error ? err.message : String(err),
        }),
      )
      .finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #check(): Promise<void> {
    const holder = await horizonHolder(this.db);
    if (!holder) return this.#released();
    const key = `${holder.xid}:${holder.pid ?? 'prepared'}`;
    if (this.#tracked?.key !== key) {
      this.#released();
      this.#tracked = { key, pid: holder.pid, xid: holder.xid, firstSeen: holder.now, warnedAtMs: null };
    }
    const tracked = this.#tracked!;
    const heldMs = Math.max(0, holder.now.getTime() - (holder.xactStart ?? tracked.firstSeen).getTime());
    this.options.gauge.set(heldMs / 1000);
    if (heldMs < this.options.warnMs) return;
    if (tracked.warnedAtMs !== null && heldMs - tracked.warnedAtMs < this.options.warnMs) return;
    tracked.warnedAtMs = heldMs;
    this.options.log.warn('live feeds held back by an open transaction', describe(holder, heldMs));
  }

  #released(): void {
    const tracked = this.#tracked;
    this.#tracked = undefined;
    this.options.gauge.set(0);
    if (tracked?.warnedAtMs != null)
      this.options.log.info('live feeds released: the transaction holding them back ended', {
        pid: tracked.pid,
        xid: tracked.xid,
      });
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}

function describe(h: HorizonHolder, heldMs: number): Record<string, unknown> {
  return {
    pid: h.pid,
    xid: h.xid,
    user: h.user,
    database: h.database,
    application: h.application,
    state: h.state,
    xactStart: h.xactStart?.toISOString() ?? null,
    heldForMs: heldMs,
    heldBackEvents: h.heldBackEvents,
    query: h.query,
    hint:
      h.pid === null
        ? 'a prepared transaction: COMMIT PREPARED or ROLLBACK PREPARED it'
        : `SELECT pg_terminate_backend(${h.pid}) ends it` +
          (h.state === null ? '; GRANT pg_read_all_stats to this role to see what it runs' : ''),
  };
}
