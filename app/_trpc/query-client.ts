import { defaultShouldDehydrateQuery, QueryClient, type QueryCache } from '@tanstack/react-query';
import superjson from 'superjson';

/**
 * The query cache of one browser tab, of one server-side render, or of one request's server
 * components (`server` set: app/_trpc/server.tsx). Dehydrated data crosses to the browser through
 * superjson (Dates survive), and pending queries are dehydrated too, so a server component can
 * start a query and let the client island it renders stream the result.
 */
export function makeQueryClient(server?: { queryCache: QueryCache }) {
  return new QueryClient({
    queryCache: server?.queryCache,
    defaultOptions: {
      queries: {
        staleTime: 30_000,
        // On the server a refusal is the answer (the page shows it), and a page must not wait
        // out backoffs; in the browser a refusal is final too, anything else gets two retries.
        retry: server
          ? false
          : (count, err) =>
              count < 2 &&
              !/UNAUTHORIZED|NOT_FOUND|FORBIDDEN/.test(
                String((err as { data?: { code?: string } }).data?.code),
              ),
      },
      dehydrate: {
        serializeData: superjson.serialize,
        shouldDehydrateQuery: (q) => defaultShouldDehydrateQuery(q) || q.state.status === 'pending',
      },
      hydrate: { deserializeData: superjson.deserialize },
    },
  });
}
