'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useParams, useRouter } from 'next/navigation';
import type { ReactNode } from 'react';
import { useTRPC } from '@/app/_trpc/client';
import { Button, ButtonLink } from './ui';
import styles from './app-shell.module.css';

/** The header and the page's main area. The root layout prefetches `auth.me` and `orgs.list`. */
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
      <header className={styles.header}>
        <Link href="/" className={styles.brand} aria-label="Claws home">
          <span className={styles.brandMark} aria-hidden>
            C
          </span>
          Claws
        </Link>
        <nav className={styles.nav} aria-label="Main">
          {me.data && orgs.data && orgs.data.length > 0 && (
            <>
              <label htmlFor="org-switcher" className="visually-hidden">
                Organization
              </label>
              <select
                id="org-switcher"
                className={styles.orgSwitcher}
                value={params.orgSlug ?? ''}
                onChange={(e) => e.target.value && router.push(`/orgs/${e.target.value}`)}
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
        <div className={styles.user}>
          {me.data ? (
            <>
              <Link href="/account">{me.data.name}</Link>
              <Button onClick={() => logout.mutate()} disabled={logout.isPending}>
                Log out
              </Button>
            </>
          ) : (
            <>
              <Link href="/login">Log in</Link>
              <ButtonLink href="/signup" variant="primary">
                Sign up
              </ButtonLink>
            </>
          )}
        </div>
      </header>
      <main className={styles.main}>{children}</main>
    </>
  );
}
