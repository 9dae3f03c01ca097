'use client';

import { useMutation, useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { ChatPanel } from '@/app/_components/chat-panel';
import { PageHeader } from '@/app/_components/page-header';
import { StatusBadge, Steps } from '@/app/_components/status';
import { LocalTime } from '@/app/_components/time';
import { Button, Card, ErrorText, Hint } from '@/app/_components/ui';
import { errorMessage } from '@/app/_lib/errors';
import { duration } from '@/app/_lib/format';
import type { TimelineEntry } from '@/app/_lib/types';
import { useTRPC } from '@/app/_trpc/client';
import { ClawNotFound } from './claw-not-found';
import { BackupsPanel } from './backups-panel';
import { LogsPanel } from './logs-panel';
import { ModelPanel } from './model-panel';
import { SecretsPanel } from './secrets-panel';
import { UsagePanel } from './usage-panel';
import styles from './claw-view.module.css';

/**
 * A claw's details, provisioning steps, audit timeline and chat. There is no link to the claw's
 * own hostname: its gateway answers there only with the gateway token and a paired device, which
 * members never hold (the browser never sees a gateway token); the chat below, through the
 * control plane's proxy, is how a member reaches it. The page prefetched the claw and
 * its timeline; the timeline then grows live, and each new entry refreshes the claw.
 */
export function ClawView({ orgSlug, clawSlug }: { orgSlug: string; clawSlug: string }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const claw = useSuspenseQuery(trpc.claws.get.queryOptions({ orgSlug, clawSlug }));
  const timeline = useSuspenseQuery(trpc.claws.timeline.queryOptions({ orgSlug, clawSlug }));
  const last = timeline.data.at(-1)?.version;

  useSubscription(
    trpc.claws.onTimeline.subscriptionOptions(
      { orgSlug, clawSlug, lastEventId: last ? String(last) : null },
      {
        enabled: timeline.isSuccess && claw.isSuccess,
        onData: ({ data }) => {
          qc.setQueryData(
            trpc.claws.timeline.queryKey({ orgSlug, clawSlug }),
            (old: TimelineEntry[] | undefined) =>
              old?.some((e) => e.version === data.version) ? old : [...(old ?? []), data],
          );
          void qc.invalidateQueries({ queryKey: trpc.claws.get.queryKey({ orgSlug, clawSlug }) });
        },
      },
    ),
  );

  const refresh = () =>
    void qc.invalidateQueries({ queryKey: trpc.claws.get.queryKey({ orgSlug, clawSlug }) });
  const del = useMutation(trpc.claws.delete.mutationOptions({ onSuccess: refresh }));
  const retry = useMutation(trpc.claws.retry.mutationOptions({ onSuccess: refresh }));
  const stop = useMutation(trpc.claws.stop.mutationOptions({ onSuccess: refresh }));
  const start = useMutation(trpc.claws.start.mutationOptions({ onSuccess: refresh }));
  const restart = useMutation(trpc.claws.restart.mutationOptions({ onSuccess: refresh }));
  const controlError = del.error ?? retry.error ?? stop.error ?? start.error ?? restart.error;

  // Gone while the page was open (deleted): the claw no longer resolves.
  if (claw.error) return <ClawNotFound message={errorMessage(claw.error)} />;
  const c = claw.data;
  const deleted = timeline.data.at(-1)?.type === 'ClawDeleted';
  return (
    <>
      <PageHeader
        title={c.name}
        meta={
          <>
            <StatusBadge status={deleted ? 'deleted' : c.status} />
            <span className="muted mono">{c.slug}</span>
          </>
        }
        actions={
          <>
            {c.status === 'failed' && (
              <Button onClick={() => retry.mutate({ orgSlug, clawSlug })} disabled={retry.isPending}>
                Retry
              </Button>
            )}
            {(c.status === 'active' || c.status === 'degraded') && (
              <>
                <Button onClick={() => restart.mutate({ orgSlug, clawSlug })} disabled={restart.isPending}>
                  {restart.isPending ? 'Restarting…' : 'Restart'}
                </Button>
                <Button onClick={() => stop.mutate({ orgSlug, clawSlug })} disabled={stop.isPending}>
                  Stop
                </Button>
              </>
            )}
            {c.status === 'stopped' && (
              <Button
                variant="primary"
                onClick={() => start.mutate({ orgSlug, clawSlug })}
                disabled={start.isPending}
              >
                Start
              </Button>
            )}
            {c.status !== 'deleting' && !deleted && (
              <Button
                variant="danger"
                disabled={del.isPending}
                onClick={() => {
                  if (window.confirm(`Delete ${c.name}? Its gateway stops and its backup bucket is deleted.`))
                    del.mutate({ orgSlug, clawSlug });
                }}
              >
                Delete
              </Button>
            )}
          </>
        }
      />
      {controlError && <ErrorText role="alert">{errorMessage(controlError)}</ErrorText>}
      {restart.isSuccess && !restart.isPending && (
        <Hint role="status" data-testid="claw-restarted">
          Restarted; the chat reconnects.
        </Hint>
      )}
      {deleted && (
        <Card as="p" role="status" data-testid="claw-deleted">
          This claw was deleted. <a href={`/orgs/${orgSlug}`}>Back to claws</a>
        </Card>
      )}
      <div className={styles.twoCol}>
        <div className={styles.column}>
          <Card as="section" aria-label="Details">
            <h2>Details</h2>
            <dl className={styles.facts}>
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
                  <dd className={styles.lastError}>{c.lastError}</dd>
                </>
              )}
            </dl>
            <Steps claw={c} />
          </Card>
          {!deleted && c.status !== 'deleting' && <ModelPanel orgSlug={orgSlug} clawSlug={clawSlug} />}
          {!deleted && c.status !== 'deleting' && <SecretsPanel orgSlug={orgSlug} clawSlug={clawSlug} />}
          {!deleted && c.status !== 'deleting' && (
            <BackupsPanel
              orgSlug={orgSlug}
              clawSlug={clawSlug}
              clawName={c.name}
              clawVersion={c.version}
              clawStatus={c.status}
            />
          )}
          {!deleted && c.status !== 'deleting' && (
            <UsagePanel
              orgSlug={orgSlug}
              clawSlug={clawSlug}
              running={c.status === 'active' || c.status === 'degraded'}
            />
          )}
          {!deleted && c.status !== 'deleting' && <LogsPanel orgSlug={orgSlug} clawSlug={clawSlug} />}
          <Card as="section" aria-label="Audit timeline">
            <h2>Audit timeline</h2>
            <Timeline entries={timeline.data} />
          </Card>
        </div>
        {c.status === 'active' && !deleted ? (
          <ChatPanel orgSlug={orgSlug} clawSlug={clawSlug} />
        ) : (
          <Card as="section" empty aria-label="Chat">
            <h2>Chat</h2>
            <p>
              {c.status === 'failed'
                ? 'The claw failed to start; retry it to chat.'
                : c.status === 'stopped'
                  ? 'The claw is stopped; start it to chat.'
                  : c.status === 'stopping'
                    ? 'The claw is stopping.'
                    : 'Chat opens when the claw is active.'}
            </p>
          </Card>
        )}
      </div>
    </>
  );
}

/** The claw's events, oldest first: type, time since the one before, when, who, and the data. */
function Timeline({ entries }: { entries: TimelineEntry[] }) {
  return (
    <ol className={styles.timeline} data-testid="timeline">
      {entries.map((e) => (
        <li key={e.version} className={e.failure ? styles.failure : undefined} data-type={e.type}>
          <div className={styles.eventHead}>
            <span className={styles.eventType}>{e.type}</span>
            <span className={styles.small}>
              {e.sincePreviousMs !== null ? `+${duration(e.sincePreviousMs)}` : ''}
            </span>
          </div>
          <div className={styles.small}>
            <LocalTime date={e.at} /> · {e.actor}
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
  );
}
