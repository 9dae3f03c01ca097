import { TRPCError } from '@trpc/server';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { FailureError } from '../failure';
import { config } from '../config';
import { createLogger, type Logger } from '../log';
import type { Runtime } from '../runtime';
import { createTRPCContext, newRequestId, type Context } from './context';
import { internalMessage, internalRequestId } from './init';
import { appRouter } from './routers/_app';

/** Request bodies above this are refused with 413 before tRPC reads them. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Calls in one batched request; the dashboard's largest page batches a handful. */
export const MAX_BATCH_SIZE = 50;

/**
 * Procedures that check a password or a one-time code travel alone: batched, one request could
 * carry dozens of guesses past a throttle that counts requests, and hash them all at once.
 */
export const UNBATCHABLE = new Set([
  'auth.login',
  'auth.signup',
  'account.changePassword',
  'platform.redeemBootstrap',
]);

/** The procedure paths a request names (`/api/trpc/a.b,c.d?batch=1`). */
function pathsOf(req: Request, endpoint: string): string[] {
  const { pathname } = new URL(req.url);
  const rest = pathname.startsWith(`${endpoint}/`) ? pathname.slice(endpoint.length + 1) : '';
  try {
    return decodeURIComponent(rest).split(',');
  } catch {
    return [];
  }
}

const error = (status: number, code: string, message: string) =>
  new Response(JSON.stringify({ error: { message, code } }), {
    status,
    headers: { 'content-type': 'application/json' },
  });

const tooLarge = () =>
  new Response(JSON.stringify({ error: { message: 'Request body too large', code: 'PAYLOAD_TOO_LARGE' } }), {
    status: 413,
    headers: { 'content-type': 'application/json' },
  });

/** The request with its body read up to MAX_BODY_BYTES, or null when it is larger. */
async function boundedRequest(req: Request): Promise<Request | null> {
  if (req.method !== 'POST' || !req.body) return req;
  const declared = Number(req.headers.get('content-length') ?? NaN);
  if (declared > MAX_BODY_BYTES) return null;
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return new Request(req.url, {
    method: req.method,
    headers: req.headers,
    body: Buffer.concat(chunks),
    signal: req.signal,
  });
}

/**
 * The tRPC HTTP endpoint (queries and mutations over POST/GET, subscriptions over SSE). Next's
 * route handler (app/api/trpc/[trpc]/route.ts) is a one-line wrapper; tests call it directly.
 * `runtime` defaults to the process-wide one (getRuntime()).
 */
export async function handleTrpcRequest(
  req: Request,
  opts: { runtime?: Runtime; log?: Logger; endpoint?: string } = {},
): Promise<Response> {
  const log = opts.log ?? createLogger(config().LOG_LEVEL, { component: 'trpc' });
  const endpoint = opts.endpoint ?? '/api/trpc';
  const paths = pathsOf(req, endpoint);
  const alone = paths.find((p) => UNBATCHABLE.has(p));
  if (alone && paths.length > 1)
    return error(400, 'BAD_REQUEST', `${alone} cannot be batched with other calls`);
  const bounded = await boundedRequest(req);
  if (!bounded) return tooLarge();
  return fetchRequestHandler({
    endpoint,
    req: bounded,
    router: appRouter,
    maxBatchSize: MAX_BATCH_SIZE,
    async createContext({ resHeaders }): Promise<Context> {
      const requestId = newRequestId();
      try {
        return await createTRPCContext({
          headers: bounded.headers,
          resHeaders,
          requestId,
          runtime: opts.runtime,
        });
      } catch (cause) {
        // No database, no runtime: only a request id to the caller; onError logs the cause.
        throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: internalMessage(requestId), cause });
      }
    },
    onError({ error, path, type, ctx }) {
      if (error.code !== 'INTERNAL_SERVER_ERROR' && !(error.cause instanceof FailureError)) return;
      const cause = error.cause ?? error;
      log.error('request failed', {
        requestId: ctx?.requestId ?? internalRequestId(error.message) ?? 'unknown',
        path,
        type,
        error: describe(cause),
        stack: cause instanceof Error ? cause.stack?.split('\n').slice(1, 6).join(' | ') : undefined,
      });
    },
  });
}

const describe = (err: unknown) => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));
