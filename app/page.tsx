import { redirect } from 'next/navigation';
import { getQueryClient, trpc } from '@/app/_trpc/server';

/** Home: where you belong — sign in, create your first organization, or your first organization. */
export default async function Home() {
  const qc = getQueryClient();
  const me = await qc.fetchQuery(trpc.auth.me.queryOptions());
  if (!me) redirect('/login');
  const orgs = await qc.fetchQuery(trpc.orgs.list.queryOptions());
  redirect(orgs[0] ? `/orgs/${orgs[0].slug}` : '/orgs/new');
}
