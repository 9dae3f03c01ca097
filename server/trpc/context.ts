import { randomUUID } from 'node:crypto';
import { isConnectionError } from '../../db/errors';
import { authenticateCookieHeader, type SessionInfo, type SessionUser } from '../auth/session';
import { getRuntime, type Runtime } from '../runtime';

/**
 * What every procedure sees. The inner context is what tests and server-side callers build
 * directly; the outer one reads the request (the session cookie) and carries the response headers
 * the auth procedures set the cookie on (fetchRequestHandler's `resHeaders`).
 */
export interface ContextInner {
  runtime: Runtime;
  user: SessionUser | null;
  session: SessionInfo | null;
  /** Short id in every log line about this request and in every INTERNAL_SERVER_ERROR message. */
  requestId: string;
  headers: Headers;
  /** Response headers, when there is a response (HTTP); `Set-Cookie` goes here. */
  resHeaders?: Headers;
  /**
   * The database could not be reached while the request was authenticated: every procedure then
   * answers SERVICE_UNAVAILABLE (init.ts). Carried in the context rather than thrown, because a
   * context that throws becomes a plain JSON 500, which an EventSource takes as fatal, while a
   * procedure's error reaches a subscription as an SSE error event the client retries after.
   */
  databaseUnavailable?: boolean;
}

export const newRequestId = () => randomUUID().slice(0, 8);

export async function createContextInner(opts: {
  runtime: Runtime;
  user?: SessionUser | null;
  session?: SessionInfo | null;
  headers?: Headers;
  resHeaders?: Headers;
  requestId?: string;
  databaseUnavailable?: boolean;
}): Promise<ContextInner> {
  return {
    runtime: opts.runtime,
    user: opts.user ?? null,
    session: opts.session ?? null,
    requestId: opts.requestId ?? newRequestId(),
    headers: opts.headers ?? new Headers(),
    resHeaders: opts.resHeaders,
    databaseUnavailable: opts.databaseUnavailable,
  };
}

export async function createTRPCContext(opts: {
  headers: Headers;
  resHeaders?: Headers;
  requestId?: string;
  /** Defaults to the process-wide runtime (tests pass their own). */
  runtime?: Runtime;
}): Promise<ContextInner> {
  const runtime = opts.runtime ?? (await getRuntime());
  let auth: Awaited<ReturnType<typeof authenticateCookieHeader>> = null;
  let databaseUnavailable = false;
  try {
    auth = await authenticateCookieHeader(runtime.database.db, opts.headers.get('cookie'));
  } catch (err) {
    if (!isConnectionError(err)) throw err;
    databaseUnavailable = true;
  }
  return createContextInner({
    runtime,
    user: auth?.user ?? null,
    session: auth?.session ?? null,
    headers: opts.headers,
    resHeaders: opts.resHeaders,
    requestId: opts.requestId,
    databaseUnavailable,
  });
}

export type Context = ContextInner;
