import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { createTRPCContext } from '../../../../server/trpc/context';
import { appRouter } from '../../../../server/trpc/routers/_app';

// tRPC through the fetch adapter (STACK.md §2.1); queries, mutations and SSE subscriptions.
const handler = (req: Request) =>
  fetchRequestHandler({
    endpoint: '/api/trpc',
    req,
    router: appRouter,
    createContext: ({ resHeaders }) => createTRPCContext({ headers: req.headers, resHeaders }),
  });

export { handler as GET, handler as POST };
export const dynamic = 'force-dynamic';
