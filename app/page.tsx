'use client';

import { useQuery } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useEffect } from 'react';
import { useTRPC } from './_trpc/client';

/** Home: where you belong — sign in, create your first organization, or your first organization. */
export default function Home() {
  const trpc = useTRPC();
  const router = useRouter();
  const me = useQuery(trpc.auth.me.queryOptions());
  const orgs = useQuery({ ...trpc.orgs.list.queryOptions(), enabled: !!me.data });
  useEffect(() => {
    if (me.isSuccess && !me.data) router.replace('/login');
    else if (orgs.data) router.replace(orgs.data.length ? `/orgs/${orgs.data[0]!.slug}` : '/orgs/new');
  }, [me.isSuccess, me.data, orgs.data, router]);
  return <p className="muted">Loading…</p>;
}
