import { EventEmitter } from 'node:events';
import type { Kysely, Transaction } from 'kysely';
import type { ClawsDatabase } from '../db/client';
import type { Database } from '../db/types';
import type { ClawState } from '../projections/claws';
import type { MiniState } from '../projections/minis';
import { appendToStream, loadProjectedState, type AppendResult, type ProjectedState } from './append';
import type { DomainEvent } from './catalog';
import { ConcurrencyError } from './errors';
import { readAll, readStream, type Checkpoint } from './read';
import type { EventMetadata, ExpectedVersion, RecordedEvent } from './types';

export const EVENTS_CHANNEL = 'claws_events';
const NOTIFY_COALESCE_MS = 10;
const ANY_VERSION_RETRIES = 20;

export interface Appended {
  streamId: string;
  lastPosition: number;
  types: string[];
}

/** Appending inside a caller's transaction; notifications go out once it commits. */
export interface EventStoreTransaction {
  readonly db: Transaction<Database>;
  append(
    streamId: string,
    expected: ExpectedVersion,
    events: readonly DomainEvent[],
    meta: EventMetadata,
    known?: ProjectedState | null,
  ): Promise<AppendResult>;
}

/**
 * The event store: appends with inline projections, stream and global reads, and "something was
 * appended" signals. Listeners get a signal right after commit in this process, and through a
 * coalesced NOTIFY (sent after commit, never inside the append) in every other process.
 */
export class EventStore {
  readonly db: Kysely<Database>;
  readonly #emitter = new EventEmitter();
  #notifyTimer: NodeJS.Timeout | undefined;
  #pendingNotify = 0;
  #unlisten: Promise<() => Promise<void>> | undefined;

  constructor(readonly database: ClawsDatabase) {
    this.db = database.db;
    this.#emitter.setMaxListeners(0);
  }

  async append(
    streamId: string,
    expected: ExpectedVersion,
    events: readonly DomainEvent[],
    meta: EventMetadata,
    known?: ProjectedState | null,
  ): Promise<AppendResult> {
    let result: AppendResult | undefined;
    for (let attempt = 0; !result; attempt++) {
      try {
        result = await appendToStream(
          this.db,
          streamId,
          expected,
          events,
          meta,
          attempt === 0 ? known : undefined,
        );
      } catch (err) {
        // 'any' means "at the end, whatever the version": on a race, read the new end and go again.
        if (!(err instanceof ConcurrencyError) || expected !== 'any' || attempt >= ANY_VERSION_RETRIES)
          throw err;
      }
    }
    this.#published([result]);
    return result;
  }

  async transaction<T>(fn: (tx: EventStoreTransaction) => Promise<T>): Promise<T> {
    const appended: AppendResult[] = [];
    const value = await this.db.transaction().execute((trx) =>
      fn({
        db: trx,
        append: async (streamId, expected, events, meta, known) => {
          const r = await appendToStream(trx, streamId, expected, events, meta, known);
          appended.push(r);
          return r;
        },
      }),
    );
    this.#published(appended);
    return value;
  }

  readStream(
    streamId: string,
    range?: { fromVersion?: number; toVersion?: number },
  ): Promise<RecordedEvent[]> {
    return readStream(this.db, streamId, range);
  }

  readAll(after: Checkpoint | null, limit: number) {
    return readAll(this.db, after, limit);
  }

  loadClaw(clawId: string): Promise<ClawState | null> {
    return loadProjectedState(this.db, `claw-${clawId}`) as Promise<ClawState | null>;
  }

  loadMini(miniId: string): Promise<MiniState | null> {
    return loadProjectedState(this.db, `mini-${miniId}`) as Promise<MiniState | null>;
  }

  /**
   * Calls `cb` whenever events may have been appended (here or, on PostgreSQL, by another process).
   * A signal carries no guarantee of content: readers re-read from their checkpoint.
   */
  onAppended(cb: (info: Appended | null) => void): () => void {
    this.#emitter.on('appended', cb);
    if (this.database.kind === 'pg' && !this.#unlisten) {
      this.#unlisten = this.database.listen(EVENTS_CHANNEL, () => this.#emitter.emit('appended', null));
      this.#unlisten.catch(() => (this.#unlisten = undefined));
    }
    return () => this.#emitter.off('appended', cb);
  }

  #published(results: AppendResult[]) {
    if (results.length === 0) return;
    for (const r of results) {
      this.#emitter.emit('appended', {
        streamId: r.streamId,
        lastPosition: r.lastPosition,
        types: r.events.map((e) => e.type),
      } satisfies Appended);
    }
    if (this.database.kind !== 'pg') return;
    this.#pendingNotify = Math.max(this.#pendingNotify, ...results.map((r) => r.lastPosition));
    this.#notifyTimer ??= setTimeout(() => {
      this.#notifyTimer = undefined;
      const payload = String(this.#pendingNotify);
      this.database.notify(EVENTS_CHANNEL, payload).catch(() => {
        // Lost wake-ups are covered by the readers' polling fallback.
      });
    }, NOTIFY_COALESCE_MS);
    this.#notifyTimer.unref();
  }

  async close(): Promise<void> {
    if (this.#notifyTimer) clearTimeout(this.#notifyTimer);
    this.#notifyTimer = undefined;
    const unlisten = await this.#unlisten?.catch(() => undefined);
    await unlisten?.();
    this.#emitter.removeAllListeners();
  }
}
