import type { DomainEvent } from './catalog';

/** Who caused an event: a user, or a component of the system. */
export type Actor = `user:${string}` | `system:${string}`;

export interface EventMetadata {
  actor: Actor;
  correlationId: string;
  causationId?: string | null;
}

/** An event as stored: its domain content plus position, version and metadata. */
export type RecordedEvent<E extends DomainEvent = DomainEvent> = E & {
  globalPosition: number;
  transactionId: string;
  streamId: string;
  streamVersion: number;
  eventId: string;
  actor: Actor;
  correlationId: string;
  causationId: string | null;
  createdAt: Date;
};

/** `'any'` appends at the end whatever the version; a number is the version the stream must be at (0 = new). */
export type ExpectedVersion = number | 'any';
