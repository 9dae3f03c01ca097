import { Suspense } from 'react';
import { HydrateClient, prefetchOrNotFound, trpc } from '@/app/_trpc/server';
import { InviteView } from './invite-view';

/** An invitation link: what it is for, and accept or decline. */
export default async function InvitePage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  await prefetchOrNotFound(trpc.invitations.get.queryOptions({ token }));
  return (
    <HydrateClient>
      <Suspense fallback={<p className="muted">Loading…</p>}>
        <InviteView token={token} />
      </Suspense>
    </HydrateClient>
  );
}
