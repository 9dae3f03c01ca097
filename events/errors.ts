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

/** A projection invariant refused the append: a port taken twice, a Mini over capacity, a slug reused. */
export class ProjectionConflictError extends Error {
  override name = 'ProjectionConflictError';
  constructor(
    readonly conflict: 'port_taken' | 'capacity_exceeded' | 'slug_taken' | 'hostname_taken',
    message: string,
  ) {
    super(message);
  }
}

interface PgError {
  code?: string;
  constraint?: string;
  message?: string;
}

export function asPgError(err: unknown): PgError {
  return typeof err === 'object' && err !== null ? (err as PgError) : {};
}

/** Maps a database error raised by an append onto the typed errors above (or returns it unchanged). */
export function classifyAppendError(err: unknown, streamId: string, expected: number | 'any'): unknown {
  const e = asPgError(err);
  // PGlite reports the constraint in the message only; pg sets `constraint`.
  const about = (name: string) => e.constraint === name || (e.message ?? '').includes(`"${name}"`);
  if (e.code === '23505' && about('events_stream_version_unique'))
    return new ConcurrencyError(streamId, expected, null);
  if (e.code === '40001') return new ConcurrencyError(streamId, expected, null);
  if (e.code === '23505' && about('claws_live_port'))
    return new ProjectionConflictError('port_taken', 'That port is already allocated on this Mini');
  if (e.code === '23505' && about('claws_live_slug'))
    return new ProjectionConflictError(
      'slug_taken',
      'A claw with this slug already exists in the organization',
    );
  if (e.code === '23505' && about('mac_minis_live_hostname'))
    return new ProjectionConflictError('hostname_taken', 'A Mini with this hostname is already registered');
  if (e.code === '23514' && about('mac_minis_allocated_within_capacity'))
    return new ProjectionConflictError('capacity_exceeded', 'The Mini has no free capacity');
  return err;
}
