import { randomUUID } from 'node:crypto';
import { authenticateCookieHeader, type SessionUser } from '../auth/session';
import { getRuntime, type Runtime } from '../runtime';

/**
 * What every procedure sees. The inner context is what tests build directly; the outer one reads
 * the request (cookie) and can set response headers (the session cookie on login).
 */
export interface ContextInner {
  runtime: Runtime;
  user: SessionUser | null;
  sessionToken?: string;
  requestId: string;
  headers: Headers;
  resHeaders?: Headers;
}

export async function createContextInner(opts: {
  runtime: Runtime;
  user?: SessionUser | null;
  headers?: Headers;
  resHeaders?: Headers;
}): Promise<ContextInner> {
  return {
    runtime: opts.runtime,
    user: opts.user ?? null,
    requestId: randomUUID().slice(0, 8),
    headers: opts.headers ?? new Headers(),
    resHeaders: opts.resHeaders,
  };
}

export async function createTRPCContext(opts: {
  headers: Headers;
  resHeaders?: Headers;
}): Promise<ContextInner> {
  const runtime = await getRuntime();
  const auth = await authenticateCookieHeader(runtime.database.db, opts.headers.get('cookie'));
  return createContextInner({
    runtime,
    user: auth?.user ?? null,
    headers: opts.headers,
    resHeaders: opts.resHeaders,
  });
}

export type Context = ContextInner;
