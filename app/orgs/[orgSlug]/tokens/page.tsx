import { Suspense } from 'react';
import { HydrateClient, prefetchOrNotFound, trpc } from '@/app/_trpc/server';
import { ApiTokens } from './api-tokens';

/** An organization's API tokens, for its owners and admins (others get not-found). */
export default async function TokensPage({ params }: { params: Promise<{ orgSlug: string }> }) {
  const { orgSlug } = await params;
  await prefetchOrNotFound(trpc.apiTokens.list.queryOptions({ orgSlug }));
  return (
    <HydrateClient>
      <Suspense fallback={<p className="muted">Loading tokens…</p>}>
        <ApiTokens orgSlug={orgSlug} />
      </Suspense>
    </HydrateClient>
  );
}
