/**
 * Limits say no in two ways, each with a message a person can act on: a throttle or a cap on
 * open connections ("try again in N s", TOO_MANY_REQUESTS), and a quota that only an operator or
 * a deletion lifts (FORBIDDEN). server/trpc/init.ts maps both.
 */
export class TooManyRequestsError extends Error {
  override name = 'TooManyRequestsError';
  constructor(
    message: string,
    /** Seconds until a retry can succeed, when known. */
    readonly retryAfterS?: number,
  ) {
    super(retryAfterS === undefined ? message : `${message}; try again in ${retryAfterS} s`);
  }
}

export class QuotaExceededError extends Error {
  override name = 'QuotaExceededError';
}

/** A role that may not do this (FORBIDDEN), with the reason in words. */
export class ForbiddenError extends Error {
  override name = 'ForbiddenError';
}
