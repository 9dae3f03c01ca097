'use client';

import { useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import Link from 'next/link';
import { useState } from 'react';
import { PageHeader } from '@/app/_components/page-header';
import { StatusBadge, Steps } from '@/app/_components/status';
import { Ago } from '@/app/_components/time';
import { Button, Card, cardClass, ErrorText } from '@/app/_components/ui';
import { errorMessage } from '@/app/_lib/errors';
import type { Claw } from '@/app/_lib/types';
import { useTRPC } from '@/app/_trpc/client';
import { NewClawDialog } from './new-claw-dialog';
import styles from './org-claws.module.css';

/** The claws of one organization (prefetched by the page), live, and the "+ New Claw" dialog. */
export function OrgClaws({ orgSlug }: { orgSlug: string }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const list = useSuspenseQuery(trpc.claws.list.queryOptions({ orgSlug }));
  const [open, setOpen] = useState(false);

  // Live: every change of this org's claws lands in the list without a reload.
  useSubscription(
    trpc.claws.onChange.subscriptionOptions(
      { orgSlug },
      {
        enabled: list.isSuccess,
        onData: ({ data }) => {
          qc.setQueryData(trpc.claws.list.queryKey({ orgSlug }), (old: Claw[] | undefined) => {
            const rest = (old ?? []).filter((c) => c.id !== data.id);
            return data.status === 'deleted'
              ? rest
              : [data, ...rest].sort((a, b) => +new Date(b.createdAt) - +new Date(a.createdAt));
          });
          qc.setQueryData(trpc.claws.get.queryKey({ orgSlug, clawSlug: data.slug }), data);
        },
      },
    ),
  );

  return (
    <>
      <PageHeader
        title="Claws"
        subtitle={
          <>
            OpenClaw gateways of <strong>{orgSlug}</strong>
          </>
        }
        actions={
          <Button variant="primary" onClick={() => setOpen(true)}>
            + New Claw
          </Button>
        }
      />
      {list.error && <ErrorText role="alert">{errorMessage(list.error)}</ErrorText>}
      {list.data.length === 0 && (
        <Card empty>
          <h2>No claws yet</h2>
          <p>A claw is an OpenClaw gateway running on one of the fleet&apos;s Mac Minis. It takes seconds.</p>
          <Button variant="primary" onClick={() => setOpen(true)}>
            + New Claw
          </Button>
        </Card>
      )}
      {list.data.length > 0 && (
        <div className="grid" data-testid="claw-list">
          {list.data.map((c) => (
            <Link
              key={c.id}
              href={`/orgs/${orgSlug}/claws/${c.slug}`}
              className={cardClass({}, styles.clawCard)}
              data-claw={c.slug}
            >
              <div className={styles.cardHead}>
                <h3>{c.name}</h3>
                <StatusBadge status={c.status} />
              </div>
              <div className={styles.meta}>
                {c.mini?.hostname ? `${c.mini.hostname} · port ${c.port ?? '—'}` : 'Not placed yet'} · created{' '}
                <Ago date={c.createdAt} />
              </div>
              {c.status !== 'active' && <Steps claw={c} />}
              {c.lastError && c.status === 'failed' && (
                <ErrorText className={styles.lastError}>{c.lastError}</ErrorText>
              )}
            </Link>
          ))}
        </div>
      )}
      <NewClawDialog orgSlug={orgSlug} open={open} onClose={() => setOpen(false)} />
    </>
  );
}
