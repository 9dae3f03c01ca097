'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import Link from 'next/link';
import { useParams, useRouter } from 'next/navigation';
import { useEffect, useRef, useState } from 'react';
import { ago, StatusBadge, Steps, type Claw } from '../../_components/status';
import { errorMessage } from '../../_lib/errors';
import { useTRPC } from '../../_trpc/client';

export default function ClawsPage() {
  const { orgSlug } = useParams<{ orgSlug: string }>();
  const trpc = useTRPC();
  const qc = useQueryClient();
  const list = useQuery(trpc.claws.list.queryOptions({ orgSlug }));
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
      <div className="spread">
        <div>
          <h1>Claws</h1>
          <p className="subtitle" style={{ margin: 0 }}>
            OpenClaw gateways of <strong>{orgSlug}</strong>
          </p>
        </div>
        <button className="primary" onClick={() => setOpen(true)}>
          + New Claw
        </button>
      </div>
      {list.isPending && <p className="muted">Loading claws…</p>}
      {list.error && (
        <p className="error" role="alert">
          {errorMessage(list.error)}
        </p>
      )}
      {list.data && list.data.length === 0 && (
        <div className="card empty">
          <h2>No claws yet</h2>
          <p>A claw is an OpenClaw gateway running on one of the fleet&apos;s Mac Minis. It takes seconds.</p>
          <button className="primary" onClick={() => setOpen(true)}>
            + New Claw
          </button>
        </div>
      )}
      {list.data && list.data.length > 0 && (
        <div className="grid" data-testid="claw-list">
          {list.data.map((c) => (
            <Link
              key={c.id}
              href={`/orgs/${orgSlug}/claws/${c.slug}`}
              className="card claw-card"
              style={{ color: 'inherit' }}
              data-claw={c.slug}
            >
              <div className="spread" style={{ marginBottom: 0 }}>
                <h3>{c.name}</h3>
                <StatusBadge status={c.status} />
              </div>
              <div className="meta">
                {c.mini?.hostname ? `${c.mini.hostname} · port ${c.port ?? '—'}` : 'Not placed yet'} · created{' '}
                {ago(c.createdAt)}
              </div>
              {c.status !== 'active' && <Steps claw={c} />}
              {c.lastError && c.status === 'failed' && (
                <p className="error" style={{ marginTop: 10 }}>
                  {c.lastError}
                </p>
              )}
            </Link>
          ))}
        </div>
      )}
      <NewClawDialog orgSlug={orgSlug} open={open} onClose={() => setOpen(false)} />
    </>
  );
}

function NewClawDialog({ orgSlug, open, onClose }: { orgSlug: string; open: boolean; onClose: () => void }) {
  const trpc = useTRPC();
  const router = useRouter();
  const qc = useQueryClient();
  const ref = useRef<HTMLDialogElement>(null);
  const [name, setName] = useState('');
  const preview = useQuery({
    ...trpc.claws.slugPreview.queryOptions({ name }),
    enabled: name.trim().length > 0,
  });
  const create = useMutation(
    trpc.claws.create.mutationOptions({
      onSuccess: async (claw) => {
        await qc.invalidateQueries({ queryKey: trpc.claws.list.queryKey({ orgSlug }) });
        onClose();
        setName('');
        router.push(`/orgs/${orgSlug}/claws/${claw.slug}`);
      },
    }),
  );
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} onClose={onClose} aria-labelledby="new-claw-title">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate({ orgSlug, name });
        }}
      >
        <h2 id="new-claw-title">New Claw</h2>
        <div className="field">
          <label htmlFor="claw-name">Name</label>
          <input
            id="claw-name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            autoFocus
            required
            maxLength={60}
          />
          <p className="hint" aria-live="polite">
            {preview.data?.valid ? (
              <>
                Its address will be{' '}
                <span className="mono">
                  /{orgSlug}/claws/{preview.data.slug}
                </span>
              </>
            ) : (
              'Letters, digits and spaces; up to 60 characters.'
            )}
          </p>
        </div>
        {create.error && (
          <p className="error" role="alert">
            {errorMessage(create.error)}
          </p>
        )}
        <div className="row" style={{ justifyContent: 'flex-end' }}>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={create.isPending || !preview.data?.valid}>
            Create claw
          </button>
        </div>
      </form>
    </dialog>
  );
}
