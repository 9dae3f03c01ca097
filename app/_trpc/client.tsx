'use client';

import { QueryClientProvider, type QueryClient } from '@tanstack/react-query';
import { createTRPCClient, httpBatchLink, httpLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import { createTRPCContext } from '@trpc/tanstack-react-query';
import { useState, type ReactNode } from 'react';
import superjson from 'superjson';
import type { AppRouter } from '@/server/trpc/routers/_app';
import { makeQueryClient } from './query-client';

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

let browserQueryClient: QueryClient | undefined;
function getQueryClient() {
  if (typeof window === 'undefined') return makeQueryClient();
  return (browserQueryClient ??= makeQueryClient());
}

// Relative on the server too: every query a page suspends on is prefetched by its server component
// (app/_trpc/server.tsx), so this client never fetches while rendering there (it would carry no
// session cookie if it did).
const url = () => '/api/trpc';
/** server/trpc/http.ts UNBATCHABLE (not imported: that module is server-only). */
const ALONE = new Set(['auth.login', 'auth.signup', 'account.changePassword', 'platform.redeemBootstrap']);

export function TRPCReactProvider({ children }: { children: ReactNode }) {
  const queryClient = getQueryClient();
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [
        splitLink({
          condition: (op) => op.type === 'subscription',
          true: httpSubscriptionLink({ url: url(), transformer: superjson }),
          // Mutations carry the header a cross-site page cannot send (see server/trpc/init.ts).
          // Calls that check a password or code travel alone (the server refuses them batched).
          false: splitLink({
            condition: (op) => ALONE.has(op.path),
            true: httpLink({ url: url(), transformer: superjson, headers: () => ({ 'x-claws-csrf': '1' }) }),
            false: httpBatchLink({
              url: url(),
              transformer: superjson,
              headers: () => ({ 'x-claws-csrf': '1' }),
            }),
          }),
        }),
      ],
    }),
  );
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}
