import { randomUUID } from 'node:crypto';
import { isConnectionError } from '../../db/errors';
import { authenticateBearer, type ApiTokenPrincipal } from '../auth/api-tokens';
import { authenticateCookieHeader, sessionPolicy, type SessionInfo, type SessionUser } from '../auth/session';
import { CLIENT_ADDRESS_HEADER } from '../limits/client-address';
import { getRuntime, type Runtime } from '../runtime';

/**
 * What every procedure sees. The inner context is what tests and server-side callers build
 * directly; the outer one reads the request (the session cookie, or an API token) and carries the
 * response headers the auth procedures set the cookie on (fetchRequestHandler's `resHeaders`).
 */
export interface ContextInner {
  runtime: Runtime;
  /** The signed-in user (a session cookie); null for anonymous callers and API tokens. */
  user: SessionUser | null;
  session: SessionInfo | null;
  /** An organization's API token (`Authorization: Bearer claws_…`); it is never also a user. */
  apiToken: ApiTokenPrincipal | null;
  /**
   * The client's address as server/main.ts saw it (the socket's, or a trusted proxy's header),
   * stamped on the request over anything the client sent; 'unknown' for in-process callers.
   */
  clientAddress: string;
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
  apiToken?: ApiTokenPrincipal | null;
  clientAddress?: string;
  headers?: Headers;
  resHeaders?: Headers;
  requestId?: string;
  databaseUnavailable?: boolean;
}): Promise<ContextInner> {
  const headers = opts.headers ?? new Headers();
  return {
    runtime: opts.runtime,
    user: opts.user ?? null,
    session: opts.session ?? null,
    apiToken: opts.apiToken ?? null,
    clientAddress: opts.clientAddress ?? headers.get(CLIENT_ADDRESS_HEADER) ?? 'unknown',
    requestId: opts.requestId ?? newRequestId(),
    headers,
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
  const db = runtime.database.db;
  const authorization = opts.headers.get('authorization');
  let apiToken: ApiTokenPrincipal | null = null;
  let auth: Awaited<ReturnType<typeof authenticateCookieHeader>> = null;
  let databaseUnavailable = false;
  try {
    // A request that names a token is judged by that token alone, never by a cookie beside it.
    if (authorization) apiToken = await authenticateBearer(db, authorization);
    else auth = await authenticateCookieHeader(db, opts.headers.get('cookie'), sessionPolicy(runtime.config));
  } catch (err) {
    if (!isConnectionError(err)) throw err;
    databaseUnavailable = true;
  }
  return createContextInner({
    runtime,
    user: auth?.user ?? null,
    session: auth?.session ?? null,
    apiToken,
    headers: opts.headers,
    resHeaders: opts.resHeaders,
    requestId: opts.requestId,
    databaseUnavailable,
  });
}

export type Context = ContextInner;
