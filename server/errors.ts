/**
 * Failures a command reports to its caller, with a code the API layer maps onto tRPC codes and the
 * CLI prints. Messages are meant for people and never contain secrets.
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

export const notFound = (what: string) => new CommandError('NOT_FOUND', `${what} not found`);
export const conflict = (message: string) => new CommandError('CONFLICT', message);
export const badRequest = (message: string, details?: Record<string, unknown>) =>
  new CommandError('BAD_REQUEST', message, details);
export const preconditionFailed = (message: string) => new CommandError('PRECONDITION_FAILED', message);
