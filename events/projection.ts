import type { Kysely, RawBuilder } from 'kysely';
import type { Database } from '../db/types';
import type { StreamType } from './stream';
import type { Envelope, Event } from './types';

/**
 * What an inline projection is. The store knows no particular read model: projections are handed
 * to it where the runtime is built, and every append joins their writes into its one statement,
 * so a read model is never behind the log. Rebuild folds the log through the same projections.
 */

/** One data-modifying statement a projection adds to an append (as a CTE), and the rows it must touch. */
export interface ProjectionWrite {
  sql: RawBuilder<unknown>;
  /** Rows the statement must return; any other count aborts the append as a concurrency error (null: any). */
  rows: number | null;
  /** Says what a different count means, for that error. */
  mismatch: string;
}

/** The typed conflict an append raises when it would break a read model's constraint. */
export interface Conflict<C extends string> {
  conflict: C;
  message: string;
}
/** Constraint name → conflict. */
export type Conflicts<C extends string> = Readonly<Record<string, Conflict<C>>>;

interface ProjectionBase<C extends string> {
  readonly name: string;
  readonly conflicts?: Conflicts<C>;
}

/**
 * A read model with one row per stream of one stream type, kept by that stream's own events: its
 * state is the fold of the stream, which is what `append` returns and what commands decide on.
 */
export interface StreamProjection<
  E extends Event,
  S extends { version: number },
  C extends string = string,
> extends ProjectionBase<C> {
  readonly kind: 'stream';
  readonly stream: StreamType<E>;
  evolve(state: S | null, event: Envelope<E>): S;
  /** The row as a state, or null when the stream is empty. */
  load(db: Kysely<Database>, id: string): Promise<S | null>;
  /** Writes the row: `before` is what it holds now (null: no row yet), `after` the evolved state. */
  write(before: S | null, after: S): ProjectionWrite;
  /** Rebuild: empties the read model. */
  reset(db: Kysely<Database>): Promise<void>;
  /** Rebuild: inserts the final state of every stream. */
  insertAll(db: Kysely<Database>, states: readonly S[]): Promise<void>;
}

/**
 * A projection of some event types (of any stream) onto rows it does not own, such as a Mini's
 * allocated count moved by claw events. It has no state of its own in an append.
 */
export interface EventProjection<E extends Event, A, C extends string = string> extends ProjectionBase<C> {
  readonly kind: 'events';
  readonly eventTypes: readonly E['type'][];
  /** The write for the events of one append to `streamId` that it handles (only those are passed), or null. */
  write(events: readonly Envelope<E>[], streamId: string): ProjectionWrite | null;
  /** Rebuild: an accumulator folded over the log in global order… */
  initial(): A;
  fold(acc: A, event: Envelope<E>, streamId: string): void;
  /** …and written once every stream projection has inserted its rows. */
  flush(db: Kysely<Database>, acc: A): Promise<void>;
}

// The registry holds projections of many event and state types. Their members are methods, which
// TypeScript compares bivariantly, so each one is a `StreamProjection<Event, {version}>` as it
// stands; the store narrows them again through the target a caller passes.
export type AnyStreamProjection = StreamProjection<Event, { version: number }>;
export type AnyEventProjection = EventProjection<Event, unknown>;
export type InlineProjection = AnyStreamProjection | AnyEventProjection;

/** The state type of a stream projection. */
export type StateOf<P> = P extends StreamProjection<Event, infer S, string> ? S : never;
/** The event type of a stream projection. */
export type EventOf<P> = P extends StreamProjection<infer E, { version: number }, string> ? E : never;
/** The conflict names of a projection. */
export type ConflictOf<P> = P extends ProjectionBase<infer C> ? C : never;
