import type { Actor } from '../db/types';

export type { Actor };

export interface EventMetadata {
  actor: Actor;
  correlationId: string;
  causationId?: string | null;
}

/** An event as a command decides it: a type and its data. */
export interface Event<T extends string = string, D = unknown> {
  type: T;
  data: D;
}

/** What an evolve function needs of a recorded event: its content, its version, and when it happened. */
export type Envelope<E extends Event = Event> = E & { streamVersion: number; createdAt: Date };

/** An event as stored: its domain content plus position, version and metadata. */
export type RecordedEvent<E extends Event = Event> = Envelope<E> & {
  globalPosition: number;
  transactionId: string;
  streamId: string;
  eventId: string;
  actor: Actor;
  correlationId: string;
  causationId: string | null;
};

/** `'any'` appends at the end whatever the version; a number is the version the stream must be at (0 = new). */
export type ExpectedVersion = number | 'any';

/** Why something failed, and whether trying again can help. */
export interface Failure {
  kind: 'retryable' | 'permanent';
  message: string;
}
