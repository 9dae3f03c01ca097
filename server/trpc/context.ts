import { randomUUID } from 'node:crypto';
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
}

export const newRequestId = () => randomUUID().slice(0, 8);

export async function createContextInner(opts: {
  runtime: Runtime;
  user?: SessionUser | null;
  session?: SessionInfo | null;
  headers?: Headers;
  resHeaders?: Headers;
  requestId?: string;
}): Promise<ContextInner> {
  return {
    runtime: opts.runtime,
    user: opts.user ?? null,
    session: opts.session ?? null,
    requestId: opts.requestId ?? newRequestId(),
    headers: opts.headers ?? new Headers(),
    resHeaders: opts.resHeaders,
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
  const auth = await authenticateCookieHeader(runtime.database.db, opts.headers.get('cookie'));
  return createContextInner({
    runtime,
    user: auth?.user ?? null,
    session: auth?.session ?? null,
    headers: opts.headers,
    resHeaders: opts.resHeaders,
    requestId: opts.requestId,
  });
}

export type Context = ContextInner;
