'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import type { inferRouterOutputs } from '@trpc/server';
import { useParams, useRouter } from 'next/navigation';
import { ChatPanel } from '../../../../_components/chat-panel';
import { duration, StatusBadge, Steps } from '../../../../_components/status';
import { errorMessage } from '../../../../_lib/errors';
import { useTRPC } from '../../../../_trpc/client';
import type { AppRouter } from '../../../../../server/trpc/routers/_app';

type Entry = inferRouterOutputs<AppRouter>['claws']['timeline'][number];

export default function ClawPage() {
  const { orgSlug, clawSlug } = useParams<{ orgSlug: string; clawSlug: string }>();
  const trpc = useTRPC();
  const qc = useQueryClient();
  const router = useRouter();
  const claw = useQuery(trpc.claws.get.queryOptions({ orgSlug, clawSlug }));
  const timeline = useQuery(trpc.claws.timeline.queryOptions({ orgSlug, clawSlug }));
  const last = timeline.data?.at(-1)?.version;

  useSubscription(
    trpc.claws.onTimeline.subscriptionOptions(
      { orgSlug, clawSlug, lastEventId: last ? String(last) : null },
      {
        enabled: timeline.isSuccess && claw.isSuccess,
        onData: ({ data }) => {
          qc.setQueryData(trpc.claws.timeline.queryKey({ orgSlug, clawSlug }), (old: Entry[] | undefined) =>
            old?.some((e) => e.version === data.version) ? old : [...(old ?? []), data],
          );
          void qc.invalidateQueries({ queryKey: trpc.claws.get.queryKey({ orgSlug, clawSlug }) });
        },
      },
    ),
  );

  const del = useMutation(
    trpc.claws.delete.mutationOptions({
      onSuccess: () =>
        void qc.invalidateQueries({ queryKey: trpc.claws.get.queryKey({ orgSlug, clawSlug }) }),
    }),
  );
  const retry = useMutation(
    trpc.claws.retry.mutationOptions({
      onSuccess: () =>
        void qc.invalidateQueries({ queryKey: trpc.claws.get.queryKey({ orgSlug, clawSlug }) }),
    }),
  );

  if (claw.isPending) return <p className="muted">Loading…</p>;
  if (claw.error)
    return (
      <div className="card empty">
        <h1>Claw not found</h1>
        <p>{errorMessage(claw.error)}</p>
        <button onClick={() => router.push(`/orgs/${orgSlug}`)}>Back to claws</button>
      </div>
    );
  const c = claw.data;
  const deleted = timeline.data?.at(-1)?.type === 'ClawDeleted';
  return (
    <>
      <div className="spread">
        <div>
          <h1>{c.name}</h1>
          <div className="row">
            <StatusBadge status={deleted ? 'deleted' : c.status} />
            <span className="muted mono">{c.slug}</span>
          </div>
        </div>
        <div className="row">
          {c.gatewayUrl && (
            <a className="button" href={c.gatewayUrl} target="_blank" rel="noreferrer">
              OpenClaw Gateway ↗
            </a>
          )}
          {c.status === 'failed' && (
            <button onClick={() => retry.mutate({ orgSlug, clawSlug })} disabled={retry.isPending}>
              Retry
            </button>
          )}
          {c.status !== 'deleting' && !deleted && (
            <button
              className="danger"
              disabled={del.isPending}
              onClick={() => {
                if (window.confirm(`Delete ${c.name}? Its gateway stops and its backup bucket is deleted.`))
                  del.mutate({ orgSlug, clawSlug });
              }}
            >
              Delete
            </button>
          )}
        </div>
      </div>
      {(del.error || retry.error) && (
        <p className="error" role="alert">
          {errorMessage(del.error ?? retry.error)}
        </p>
      )}
      {deleted && (
        <p className="card" role="status" data-testid="claw-deleted">
          This claw was deleted. <a href={`/orgs/${orgSlug}`}>Back to claws</a>
        </p>
      )}
      <div className="two-col">
        <div style={{ display: 'grid', gap: 16, alignContent: 'start' }}>
          <section className="card" aria-label="Details">
            <h2>Details</h2>
            <dl className="facts">
              <dt>Mini</dt>
              <dd>{c.mini?.hostname ?? '—'}</dd>
              <dt>Port</dt>
              <dd className="mono">{c.port ?? '—'}</dd>
              <dt>Tunnel</dt>
              <dd className="mono">{c.tunnelHostname ?? '—'}</dd>
              <dt>Warm-up</dt>
              <dd>{c.warmupMs !== null ? duration(c.warmupMs) : '—'}</dd>
              {c.lastError && (
                <>
                  <dt>Last error</dt>
                  <dd style={{ color: 'var(--bad)' }}>{c.lastError}</dd>
                </>
              )}
            </dl>
            <Steps claw={c} />
          </section>
          <section className="card" aria-label="Audit timeline">
            <h2>Audit timeline</h2>
            {timeline.data && (
              <ol className="timeline" data-testid="timeline">
                {timeline.data.map((e) => (
                  <li key={e.version} className={e.failure ? 'failure' : ''} data-type={e.type}>
                    <div className="spread" style={{ marginBottom: 0 }}>
                      <span className="event-type">{e.type}</span>
                      <span className="muted" style={{ fontSize: 13 }}>
                        {e.sincePreviousMs !== null ? `+${duration(e.sincePreviousMs)}` : ''}
                      </span>
                    </div>
                    <div className="muted" style={{ fontSize: 13 }}>
                      <time dateTime={new Date(e.at).toISOString()}>{new Date(e.at).toLocaleString()}</time> ·{' '}
                      {e.actor}
                    </div>
                    {Object.keys(e.data).length > 0 && (
                      <details>
                        <summary>Data</summary>
                        <pre>{JSON.stringify(e.data, null, 2)}</pre>
                      </details>
                    )}
                  </li>
                ))}
              </ol>
            )}
          </section>
        </div>
        {c.status === 'active' && !deleted ? (
          <ChatPanel orgSlug={orgSlug} clawSlug={clawSlug} />
        ) : (
          <section className="card empty" aria-label="Chat">
            <h2>Chat</h2>
            <p>
              {c.status === 'failed'
                ? 'The claw failed to start; retry it to chat.'
                : 'Chat opens when the claw is active.'}
            </p>
          </section>
        )}
      </div>
    </>
  );
}
