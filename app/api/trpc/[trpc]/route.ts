import { handleTrpcRequest } from '@/server/trpc/http';

// tRPC through the fetch adapter (STACK.md §2.1): queries, mutations and SSE subscriptions.
// fetchRequestHandler, the context, the body limit and onError (INTERNAL_SERVER_ERROR only, with
// the request id) live in server/trpc/http.ts, where the HTTP tests call them without Next.
const handler = (req: Request) => handleTrpcRequest(req);

export { handler as GET, handler as POST };
export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';
