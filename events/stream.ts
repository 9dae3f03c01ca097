import type { z } from 'zod';
import { sharedAcrossModuleGraphs } from './errors';
import type { Event } from './types';

/**
 * A kind of stream (`claw-<id>`, `mini-<id>`): its category and the schema of every event it may
 * hold. The store validates each appended event against it; an event type belongs to exactly one
 * stream type, so a stream's events can be told from any other's by their type alone.
 */
export interface StreamType<E extends Event = Event> {
  readonly category: string;
  readonly eventTypes: readonly E['type'][];
  streamId(id: string): string;
  /** Validates an event's data against its schema; returns the parsed (stripped) event. */
  parse(event: { type: string; data: unknown }): E;
  /** Whether `event` is one of this stream type's events (by type; the data was validated on append). */
  owns(event: { type: string }): event is E;
}

type Schemas = Record<string, z.ZodType>;
/** The event union a map of schemas describes: `{type: 'A', data: z.infer<A>} | …`. */
export type EventsOf<S extends Schemas> = {
  [K in keyof S & string]: { type: K; data: z.output<S[K]> };
}[keyof S & string];

export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
  constructor(
    readonly eventType: string,
    readonly issues: readonly z.core.$ZodIssue[],
    /** Set when the type is not one of the stream's. */
    category?: string,
  ) {
    super(
      category !== undefined
        ? `${eventType} does not belong on ${category} streams`
        : `Invalid ${eventType} event: ` +
            issues.map((i) => `${i.path.join('.') || '(data)'}: ${i.message}`).join('; '),
    );
  }
}

sharedAcrossModuleGraphs(InvalidEventError, 'InvalidEventError');

export function defineStream<S extends Schemas>(category: string, schemas: S): StreamType<EventsOf<S>> {
  type E = EventsOf<S>;
  const prefix = `${category}-`;
  const owns = (event: { type: string }): event is E => Object.hasOwn(schemas, event.type);
  return {
    category,
    eventTypes: Object.keys(schemas) as E['type'][],
    streamId: (id) => `${prefix}${id}`,
    owns,
    parse(event) {
      if (!owns(event)) throw new InvalidEventError(event.type, [], category);
      const result = schemas[event.type]!.safeParse(event.data);
      if (!result.success) throw new InvalidEventError(event.type, result.error.issues);
      return { type: event.type, data: result.data } as E;
    },
  };
}

/** The id of the entity a stream is about: `claw-<uuid>` → `<uuid>`. */
export const streamEntityId = (streamId: string) => streamId.slice(streamId.indexOf('-') + 1);
/** The category of a stream id: `claw-<uuid>` → `claw`. */
export const streamCategoryOf = (streamId: string) => streamId.slice(0, streamId.indexOf('-'));
