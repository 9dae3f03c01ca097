/**
 * Errors that say "the database could not be reached or dropped the connection", as opposed to
 * "the database refused this statement". Only the first kind is worth waiting out: a restart, a
 * failover or a dropped connection heals by itself, a constraint violation never does.
 */

/** SQLSTATEs of a lost or refused connection (class 08) and of a server shutting down or starting. */
const CONNECTION_SQLSTATES = new Set([
  '57P01', // admin_shutdown: pg_ctl stop/restart -m fast, pg_terminate_backend
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: the database system is starting up / shutting down
  '53300', // too_many_connections
]);

/** Socket errors of a connection that never opened or was cut. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** What node-postgres says when a connection ended under a query, or when it could not open one. */
const DRIVER_MESSAGES = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect/,
  /is not queryable$/,
];

export function isConnectionError(err: unknown, depth = 0): boolean {
  if (!(err instanceof Error) || depth > 4) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (code.startsWith('08') || CONNECTION_SQLSTATES.has(code) || SOCKET_CODES.has(code)) return true;
  }
  if (DRIVER_MESSAGES.some((re) => re.test(err.message))) return true;
  // net.connect to a name with several addresses (localhost: ::1 and 127.0.0.1) fails with all of them.
  if (err instanceof AggregateError && err.errors.some((e) => isConnectionError(e, depth + 1))) return true;
  return isConnectionError(err.cause, depth + 1);
}
