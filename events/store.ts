import { EventEmitter } from 'node:events';
import type { Kysely, Transaction } from 'kysely';
import type { ClawsDatabase } from '../db/client';
import type { Database } from '../db/types';
import { appendToStream, type AppendOptions, type AppendResult } from './append';
import { ConcurrencyError } from './errors';
import type { InlineProjection, StreamProjection } from './projection';
import { lastEventOf, readAll, readStream, type Checkpoint } from './read';
import { rebuildProjections, type RebuildResult } from './rebuild';
import type { StreamType } from './stream';
import type { Event, RecordedEvent } from './types';

export const EVENTS_CHANNEL = 'claws_events';
const NOTIFY_COALESCE_MS = 10;
const ANY_VERSION_RETRIES = 20;

export interface Appended {
  streamId: string;
  lastPosition: number;
  types: string[];
}

type Append = <E extends Event, S extends { version: number }>(
  target: StreamProjection<E, S>,
  id: string,
  events: readonly E[],
  options: AppendOptions<S>,
) => Promise<AppendResult<E, S>>;

/** Appending inside a caller's transaction; notifications go out once it commits. */
export interface EventStoreTransaction {
  readonly db: Transaction<Database>;
  readonly append: Append;
}

export interface EventStoreOptions {
  /** The inline projections every append applies (each stream type has at most one stream projection). */
  projections: readonly InlineProjection[];
}

/**
 * The event store: appends with the inline projections registered with it, stream and global
 * reads, and "something was appended" signals. Listeners get a signal right after commit in this
 * process, and through a coalesced NOTIFY (sent after commit, never inside the append) in every
 * other process.
 */
export class EventStore {
  readonly db: Kysely<Database>;
  readonly projections: readonly InlineProjection[];
  readonly #emitter = new EventEmitter();
  #notifyTimer: NodeJS.Timeout | undefined;
  #pendingNotify = 0;
  #unlisten: Promise<() => Promise<void>> | undefined;

  constructor(
    readonly database: ClawsDatabase,
    options: EventStoreOptions,
  ) {
    this.db = database.db;
    this.projections = options.projections;
    const categories = new Set<string>();
    for (const p of this.projections) {
      if (p.kind !== 'stream') continue;
      if (categories.has(p.stream.category))
        throw new Error(`Two stream projections for ${p.stream.category} streams`);
      categories.add(p.stream.category);
    }
    this.#emitter.setMaxListeners(0);
  }

  readonly append: Append = async (target, id, events, options) => {
    this.#registered(target);
    let result;
    for (let attempt = 0; !result; attempt++) {
      try {
        result = await appendToStream(this.db, this.projections, target, id, events, {
          ...options,
          known: attempt === 0 ? options.known : undefined,
        });
      } catch (err) {
        // 'any' means "at the end, whatever the version": on a race, read the new end and go again.
        if (
          !(err instanceof ConcurrencyError) ||
          options.expected !== 'any' ||
          attempt >= ANY_VERSION_RETRIES
        )
          throw err;
      }
    }
    this.#published([result]);
    return result;
  };

  async transaction<T>(fn: (tx: EventStoreTransaction) => Promise<T>): Promise<T> {
    const appended: AppendResult<Event, unknown>[] = [];
    const value = await this.db.transaction().execute((trx) =>
      fn({
        db: trx,
        append: async (target, id, events, options) => {
          this.#registered(target);
          const r = await appendToStream(trx, this.projections, target, id, events, options);
          appended.push(r);
          return r;
        },
      }),
    );
    this.#published(appended);
    return value;
  }

  /** The state a stream projection holds for `id` (null: no such stream). */
  load<S extends { version: number }>(target: StreamProjection<Event, S>, id: string): Promise<S | null> {
    return target.load(this.db, id);
  }

  /** A stream's events in version order, optionally a version window (inclusive). */
  async readStream<E extends Event>(
    stream: StreamType<E>,
    id: string,
    range?: { fromVersion?: number; toVersion?: number },
  ): Promise<RecordedEvent<E>[]> {
    // Every event of the stream was validated against this stream type when it was appended.
    return (await readStream(this.db, stream.streamId(id), range)) as RecordedEvent<E>[];
  }

  /** The state as it was right after event `version`: the same evolve, folded in memory. */
  async stateAt<E extends Event, S extends { version: number }>(
    target: StreamProjection<E, S>,
    id: string,
    version: number,
  ): Promise<S | null> {
    let state: S | null = null;
    for (const e of await this.readStream(target.stream, id, { toVersion: version }))
      state = target.evolve(state, e);
    return state;
  }

  /** The newest event of a stream (what an event it causes records as causation and correlation). */
  lastEvent(stream: StreamType, id: string) {
    return lastEventOf(this.db, stream.streamId(id));
  }

  readAll(after: Checkpoint | null, limit: number) {
    return readAll(this.db, after, limit);
  }

  /** Replays the whole log into fresh read models through the registered projections. */
  rebuild(options?: { batchSize?: number }): Promise<RebuildResult> {
    return rebuildProjections(this.db, this.projections, options);
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

  // By name: Next bundles its route handlers into a module graph of their own, so the projection a
  // route passes is another instance of the one registered here (the same code).
  #registered(target: StreamProjection<Event, { version: number }>) {
    if (!this.projections.some((p) => p.name === target.name))
      throw new Error(`The ${target.name} projection is not registered with this event store`);
  }

  #published(results: AppendResult<Event, unknown>[]) {
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
    this.#notifyTimer ??= setTimeout(() => void this.#notify(), NOTIFY_COALESCE_MS);
    this.#notifyTimer.unref();
  }

  #notify(): Promise<void> {
    this.#notifyTimer = undefined;
    return this.database.notify(EVENTS_CHANNEL, String(this.#pendingNotify)).catch(() => {
      // Lost wake-ups are covered by the readers' polling fallback.
    });
  }

  /** Closes the store; a wake-up still waiting for its coalescing window is sent first. */
  async close(): Promise<void> {
    if (this.#notifyTimer) {
      clearTimeout(this.#notifyTimer);
      await this.#notify();
    }
    const unlisten = await this.#unlisten?.catch(() => undefined);
    await unlisten?.();
    this.#emitter.removeAllListeners();
  }
}
