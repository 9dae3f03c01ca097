import { Suspense } from 'react';
import { HydrateClient, prefetch, prefetchOrNotFound, trpc } from '@/app/_trpc/server';
import { OrgClaws } from './org-claws';
import { OrgMembers } from './org-members';
import { OrgModel } from './org-model';

/** An organization's claws (in the first HTML, then live), its members and its default model. */
export default async function OrgPage({ params }: { params: Promise<{ orgSlug: string }> }) {
  const { orgSlug } = await params;
  await prefetchOrNotFound(trpc.claws.list.queryOptions({ orgSlug }));
  prefetch(trpc.orgs.members.queryOptions({ orgSlug }));
  prefetch(trpc.claws.defaultModel.queryOptions({ orgSlug }));
  return (
    <HydrateClient>
      <Suspense fallback={<p className="muted">Loading claws…</p>}>
        <OrgClaws orgSlug={orgSlug} />
      </Suspense>
      <Suspense fallback={<p className="muted">Loading members…</p>}>
        <OrgMembers orgSlug={orgSlug} />
      </Suspense>
      <Suspense fallback={<p className="muted">Loading the default model…</p>}>
        <OrgModel orgSlug={orgSlug} />
      </Suspense>
    </HydrateClient>
  );
}
