import { Suspense } from 'react';
import { HydrateClient, prefetchOrNotFound, trpc } from '@/app/_trpc/server';
import { OrgClaws } from './org-claws';

/** An organization's claws: the list is in the first HTML, then follows every change live. */
export default async function OrgPage({ params }: { params: Promise<{ orgSlug: string }> }) {
  const { orgSlug } = await params;
  await prefetchOrNotFound(trpc.claws.list.queryOptions({ orgSlug }));
  return (
    <HydrateClient>
      <Suspense fallback={<p className="muted">Loading claws…</p>}>
        <OrgClaws orgSlug={orgSlug} />
      </Suspense>
    </HydrateClient>
  );
}
