import { Suspense } from 'react';
import { PageHeader } from '@/app/_components/page-header';
import { ErrorText } from '@/app/_components/ui';
import { HydrateClient, prefetchOrRefusal, trpc } from '@/app/_trpc/server';
import { MiniList } from './mini-list';
import { RegisterMini } from './register-mini';

/** The fleet, for platform admins: every Mini, its capacity and the ports in use, live. */
export default async function FleetPage() {
  const refusal = await prefetchOrRefusal(trpc.fleet.list.queryOptions());
  return (
    <>
      <PageHeader title="Fleet" subtitle="Mac Minis, their capacity and the ports in use" />
      {refusal ? (
        <ErrorText role="alert">{refusal.message}</ErrorText>
      ) : (
        <HydrateClient>
          <Suspense fallback={<p className="muted">Loading the fleet…</p>}>
            <MiniList />
          </Suspense>
        </HydrateClient>
      )}
      <RegisterMini />
    </>
  );
}
