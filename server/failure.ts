import { sharedAcrossModuleGraphs } from '../events/errors';
import type { Failure } from '../events/types';

/**
 * The one failure type of calls to the outside world (a Mini's agent, a bucket store, a gateway):
 * its message is meant for people and never holds a secret, and its kind says whether trying
 * again can help. The provisioning worker decides on the kind (events/claw.ts decideStepFailure).
 */
export class FailureError extends Error implements Failure {
  override name = 'FailureError';
  constructor(
    readonly kind: Failure['kind'],
    message: string,
    /** The HTTP status, when the other side answered at all. */
    readonly status?: number,
    /** A reason the caller acts on (the agent's `RefusalCode`, e.g. `port_in_use`). */
    readonly code?: string,
  ) {
    super(message);
  }
}

sharedAcrossModuleGraphs(FailureError, 'FailureError');

export const retryable = (message: string, status?: number) => new FailureError('retryable', message, status);
export const permanent = (message: string, status?: number) => new FailureError('permanent', message, status);

/** Any error as a Failure: a FailureError says its kind; anything else (a bug, a dropped connection) may pass if retried. */
export function asFailure(err: unknown): Failure {
  const message = (err instanceof Error ? err.message : String(err)).slice(0, 500) || 'unknown error';
  return { kind: err instanceof FailureError ? err.kind : 'retryable', message };
}
