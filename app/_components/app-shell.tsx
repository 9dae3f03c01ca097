'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useParams, useRouter } from 'next/navigation';
import type { ReactNode } from 'react';
import { useTRPC } from '../_trpc/client';

export function AppShell({ children }: { children: ReactNode }) {
  const trpc = useTRPC();
  const router = useRouter();
  const qc = useQueryClient();
  const params = useParams<{ orgSlug?: string }>();
  const me = useQuery(trpc.auth.me.queryOptions());
  const orgs = useQuery({ ...trpc.orgs.list.queryOptions(), enabled: !!me.data });
  const logout = useMutation(
    trpc.auth.logout.mutationOptions({
      onSuccess: async () => {
        qc.clear();
        router.push('/login');
      },
    }),
  );
  return (
    <>
      <header className="shell-header">
        <Link href="/" className="brand" aria-label="Claws home">
          <span className="brand-mark" aria-hidden>
            C
          </span>
          Claws
        </Link>
        <nav className="shell-nav" aria-label="Main">
          {me.data && orgs.data && orgs.data.length > 0 && (
            <>
              <label htmlFor="org-switcher" className="visually-hidden">
                Organization
              </label>
              <select
                id="org-switcher"
                value={params.orgSlug ?? ''}
                onChange={(e) => e.target.value && router.push(`/orgs/${e.target.value}`)}
                style={{ width: 'auto' }}
              >
                {!params.orgSlug && <option value="">Choose an organization</option>}
                {orgs.data.map((o) => (
                  <option key={o.id} value={o.slug}>
                    {o.name}
                  </option>
                ))}
              </select>
            </>
          )}
          {me.data && <Link href="/orgs/new">New organization</Link>}
          {me.data?.is_platform_admin && <Link href="/fleet">Fleet</Link>}
        </nav>
        <div className="shell-user">
          {me.data ? (
            <>
              <span>{me.data.name}</span>
              <button onClick={() => logout.mutate()} disabled={logout.isPending}>
                Log out
              </button>
            </>
          ) : (
            <>
              <Link href="/login">Log in</Link>
              <Link href="/signup" className="button primary">
                Sign up
              </Link>
            </>
          )}
        </div>
      </header>
      <main>{children}</main>
    </>
  );
}
