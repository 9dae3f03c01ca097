import 'server-only';

import {
  defaultShouldDehydrateQuery,
  dehydrate,
  HydrationBoundary,
  matchQuery,
  QueryCache,
  type FetchQueryOptions,
  type QueryKey,
} from '@tanstack/react-query';
import { TRPCError } from '@trpc/server';
import { createTRPCOptionsProxy } from '@trpc/tanstack-react-query';
import { headers } from 'next/headers';
import { notFound } from 'next/navigation';
import { cache, type ReactNode } from 'react';
import { config } from '@/server/config';
import { createLogger, type Logger } from '@/server/log';
import { createTRPCContext } from '@/server/trpc/context';
import { internalRequestId } from '@/server/trpc/init';
import { appRouter } from '@/server/trpc/routers/_app';
import { makeQueryClient } from './query-client';

/**
 * tRPC for server components (STACK.md §2.3): pages prefetch through the router in-process, into
 * a query cache that lives for one request, and hand it to their client islands dehydrated
 * (<HydrateClient>). The islands read the same query keys with the browser's tRPC hooks.
 */

// Read on first use, not at import: `next build` imports this module to collect page data, with
// NODE_ENV=production and no CLAWS_SECRET_KEYS, which the configuration refuses.
let logger: Logger | undefined;
const log = () => (logger ??= createLogger(config().LOG_LEVEL, { component: 'rsc' }));

/**
 * The request's tRPC context, built once per request exactly as the HTTP handler builds it
 * (server/trpc/http.ts): createTRPCContext reads the session cookie from the request's headers and
 * takes the process-wide runtime (on globalThis, shared with server/main.ts; server/runtime.ts).
 */
const createContext = cache(async () => createTRPCContext({ headers: new Headers(await headers()) }));

/** What the HTTP handler's onError logs, for the calls made here (they have no HTTP handler). */
function logInternal(error: Error, queryKey: QueryKey) {
  if (!(error instanceof TRPCError) || error.code !== 'INTERNAL_SERVER_ERROR') return;
  const cause = error.cause ?? error;
  log().error('request failed', {
    requestId: internalRequestId(error.message) ?? 'unknown',
    path: Array.isArray(queryKey[0]) ? queryKey[0].join('.') : String(queryKey[0]),
    type: 'query',
    error: cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause),
    stack: cause instanceof Error ? cause.stack?.split('\n').slice(1, 6).join(' | ') : undefined,
  });
}

/** The request's query cache: one per request (React `cache`), shared by its layouts and pages. */
export const getQueryClient = cache(() =>
  makeQueryClient({
    queryCache: new QueryCache({ onError: (error, query) => logInternal(error, query.queryKey) }),
  }),
);

export const trpc = createTRPCOptionsProxy({
  router: appRouter,
  ctx: createContext,
  queryClient: getQueryClient,
});

/**
 * The request's query cache, dehydrated (pending queries too), for the client components below.
 * `queryKeys` limits it to those queries: the root layout hands over only its own, not the ones the
 * page (rendered at the same time) has started.
 */
export function HydrateClient({ queryKeys, children }: { queryKeys?: QueryKey[]; children: ReactNode }) {
  const qc = getQueryClient();
  const base = qc.getDefaultOptions().dehydrate?.shouldDehydrateQuery ?? defaultShouldDehydrateQuery;
  const state = dehydrate(qc, {
    shouldDehydrateQuery: (q) =>
      base(q) && (!queryKeys || queryKeys.some((queryKey) => matchQuery({ queryKey }, q))),
  });
  return <HydrationBoundary state={state}>{children}</HydrationBoundary>;
}

/** Starts a query without waiting for it: its result streams to the island that reads it. */
export function prefetch<TQueryFnData, TError, TData, TQueryKey extends QueryKey>(
  options: FetchQueryOptions<TQueryFnData, TError, TData, TQueryKey>,
): void {
  void getQueryClient().prefetchQuery(options);
}

/** The codes of a caller who may not see something: not signed in, not a member, no such thing, bad address. */
const REFUSALS = new Set<TRPCError['code']>(['UNAUTHORIZED', 'FORBIDDEN', 'NOT_FOUND', 'BAD_REQUEST']);

/**
 * Runs a query into the request's cache and waits for it. A refusal comes back as its error (the
 * page says so); any other failure is thrown, to the nearest error.tsx.
 */
export async function prefetchOrRefusal<TQueryFnData, TError, TData, TQueryKey extends QueryKey>(
  options: FetchQueryOptions<TQueryFnData, TError, TData, TQueryKey>,
): Promise<TRPCError | null> {
  try {
    await getQueryClient().fetchQuery(options);
    return null;
  } catch (err) {
    if (err instanceof TRPCError && REFUSALS.has(err.code)) return err;
    throw err;
  }
}

/** Like prefetchOrRefusal, but a refusal renders the segment's not-found.tsx. */
export async function prefetchOrNotFound<TQueryFnData, TError, TData, TQueryKey extends QueryKey>(
  options: FetchQueryOptions<TQueryFnData, TError, TData, TQueryKey>,
): Promise<void> {
  if (await prefetchOrRefusal(options)) notFound();
}
