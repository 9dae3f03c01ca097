import { redirect } from 'next/navigation';
import { Suspense } from 'react';
import { HydrateClient, prefetchOrRefusal, trpc } from '@/app/_trpc/server';
import { Account } from './account';

/** The signed-in user's sessions and password. */
export default async function AccountPage() {
  if (await prefetchOrRefusal(trpc.account.sessions.queryOptions())) redirect('/login?next=/account');
  return (
    <HydrateClient>
      <Suspense fallback={<p className="muted">Loading…</p>}>
        <Account />
      </Suspense>
    </HydrateClient>
  );
}
