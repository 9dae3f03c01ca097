import { Suspense } from 'react';
import { HydrateClient, prefetch, prefetchOrNotFound, trpc } from '@/app/_trpc/server';
import { ClawView } from './claw-view';

/**
 * One claw: its first HTML already carries the claw, its model, its secrets, its backups and its audit timeline (prefetched here,
 * dehydrated into the island), which then follows the claw live.
 */
export default async function ClawPage({
  params,
}: {
  params: Promise<{ orgSlug: string; clawSlug: string }>;
}) {
  const { orgSlug, clawSlug } = await params;
  prefetch(trpc.claws.timeline.queryOptions({ orgSlug, clawSlug }));
  prefetch(trpc.claws.model.queryOptions({ orgSlug, clawSlug }));
  prefetch(trpc.claws.secrets.queryOptions({ orgSlug, clawSlug }));
  prefetch(trpc.claws.backups.queryOptions({ orgSlug, clawSlug }));
  await prefetchOrNotFound(trpc.claws.get.queryOptions({ orgSlug, clawSlug }));
  return (
    <HydrateClient>
      <Suspense fallback={<p className="muted">Loading…</p>}>
        <ClawView orgSlug={orgSlug} clawSlug={clawSlug} />
      </Suspense>
    </HydrateClient>
  );
}
