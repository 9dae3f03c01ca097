import type { InlineProjection } from './projection';

/**
 * Makes `instanceof` of an error class hold across module graphs: Next bundles route handlers
 * apart from server/main.ts, so an error thrown by the process-wide runtime's store is an instance
 * of another copy of its class than the one a route imported. A registered symbol on the
 * prototype is the same in every copy.
 */
export function sharedAcrossModuleGraphs(cls: abstract new (...args: never[]) => Error, name: string): void {
  const key = Symbol.for(`claws.error.${name}`);
  Object.defineProperty(cls.prototype, key, { value: true });
  Object.defineProperty(cls, Symbol.hasInstance, {
    value: (x: unknown) => typeof x === 'object' && x !== null && key in x,
  });
}

/** Typed failures of an append. Nothing is written when any of them is thrown. */
export class ConcurrencyError extends Error {
  override name = 'ConcurrencyError';
  constructor(
    readonly streamId: string,
    readonly expected: number | 'any',
    readonly actual: number | null,
  ) {
    super(
      `Stream ${streamId} is not at version ${expected}${actual === null ? '' : ` (it is at ${actual})`}`,
    );
  }
}

sharedAcrossModuleGraphs(ConcurrencyError, 'ConcurrencyError');

/** A read model's constraint refused the append: a port taken twice, a Mini over capacity, a slug reused. */
export class ProjectionConflictError<C extends string = string> extends Error {
  override name = 'ProjectionConflictError';
  constructor(
    readonly projection: string,
    readonly conflict: C,
    message: string,
  ) {
    super(message);
  }
}

sharedAcrossModuleGraphs(ProjectionConflictError, 'ProjectionConflictError');

/** Whether `err` is the conflict `conflict` of projection `p` (typed by the projection's conflicts). */
export function isConflict<C extends string>(
  err: unknown,
  p: { name: string; conflicts?: Readonly<Record<string, { conflict: C }>> },
  ...conflicts: C[]
): err is ProjectionConflictError<C> {
  return (
    err instanceof ProjectionConflictError &&
    err.projection === p.name &&
    (conflicts.length === 0 || conflicts.includes(err.conflict as C))
  );
}

/**
 * Failures a command reports to its caller: a decision refused, with a code the API layer maps
 * onto tRPC codes and the CLI prints. Messages are meant for people and never contain secrets.
 */
export type CommandErrorCode = 'BAD_REQUEST' | 'NOT_FOUND' | 'CONFLICT' | 'PRECONDITION_FAILED';

export class CommandError extends Error {
  override name = 'CommandError';
  constructor(
    readonly code: CommandErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

sharedAcrossModuleGraphs(CommandError, 'CommandError');

export const notFound = (what: string) => new CommandError('NOT_FOUND', `${what} not found`);
export const conflict = (message: string) => new CommandError('CONFLICT', message);
export const badRequest = (message: string, details?: Record<string, unknown>) =>
  new CommandError('BAD_REQUEST', message, details);
export const preconditionFailed = (message: string) => new CommandError('PRECONDITION_FAILED', message);

interface PgError {
  code?: string;
  constraint?: string;
  message?: string;
}
export const asPgError = (err: unknown): PgError =>
  typeof err === 'object' && err !== null ? (err as PgError) : {};

// A unique violation on the events' (stream, version) key, or a projection's version guard
// (claws_assert raises serialization_failure), means another writer got there first.
const UNIQUE_VIOLATION = '23505';
const CHECK_VIOLATION = '23514';
const SERIALIZATION_FAILURE = '40001';
const EVENTS_VERSION_KEY = 'events_stream_version_unique';

/** Maps a database error raised by an append onto the typed errors above (or returns it unchanged). */
export function classifyAppendError(
  err: unknown,
  streamId: string,
  expected: number | 'any',
  projections: readonly InlineProjection[],
): unknown {
  const e = asPgError(err);
  // PGlite reports the constraint in the message only; pg sets `constraint`.
  const about = (name: string) => e.constraint === name || (e.message ?? '').includes(`"${name}"`);
  if (e.code === SERIALIZATION_FAILURE || (e.code === UNIQUE_VIOLATION && about(EVENTS_VERSION_KEY)))
    return new ConcurrencyError(streamId, expected, null);
  if (e.code !== UNIQUE_VIOLATION && e.code !== CHECK_VIOLATION) return err;
  for (const p of projections)
    for (const [constraint, c] of Object.entries(p.conflicts ?? {}))
      if (about(constraint)) return new ProjectionConflictError(p.name, c.conflict, c.message);
  return err;
}
