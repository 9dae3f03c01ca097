'use client';

import { useMutation, useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { Ago } from '@/app/_components/time';
import { Badge, Button, Card, ErrorText, toneOf } from '@/app/_components/ui';
import { errorMessage } from '@/app/_lib/errors';
import { useTRPC } from '@/app/_trpc/client';
import styles from './fleet.module.css';

const megabytes = (mb: number) => (mb >= 1024 ? `${(mb / 1024).toFixed(1)} GB` : `${mb} MB`);

/** Every Mini (prefetched by the page), live, with its memory, cordon, uncordon and remove. */
export function MiniList() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const fleet = useSuspenseQuery(trpc.fleet.list.queryOptions());
  useSubscription(
    trpc.fleet.onChange.subscriptionOptions(undefined, {
      enabled: fleet.isSuccess,
      onData: ({ data }) => qc.setQueryData(trpc.fleet.list.queryKey(), data),
    }),
  );
  // What each Mini's claws hold resident, as their agents report it every few seconds.
  const usage = useSubscription(
    trpc.fleet.onUsage.subscriptionOptions(undefined, { enabled: fleet.isSuccess }),
  );
  const resident: Record<string, number> = usage.data ?? {};
  const refresh = () => void qc.invalidateQueries({ queryKey: trpc.fleet.list.queryKey() });
  const cordon = useMutation(trpc.fleet.cordon.mutationOptions({ onSuccess: refresh }));
  const uncordon = useMutation(trpc.fleet.uncordon.mutationOptions({ onSuccess: refresh }));
  const remove = useMutation(trpc.fleet.remove.mutationOptions({ onSuccess: refresh }));
  const failure = cordon.error ?? uncordon.error ?? remove.error;

  return (
    <>
      {fleet.error && <ErrorText role="alert">{errorMessage(fleet.error)}</ErrorText>}
      {failure && <ErrorText role="alert">{errorMessage(failure)}</ErrorText>}
      {fleet.data.length === 0 && (
        <Card as="p" empty>
          No Minis yet. Register one below.
        </Card>
      )}
      <div className="grid" data-testid="fleet">
        {fleet.data.map((m) => (
          <Card as="article" key={m.id} data-mini={m.hostname}>
            <div className={styles.cardHead}>
              <h2 className={styles.title}>{m.hostname}</h2>
              <span className="row">
                <Badge tone={toneOf(m.status)}>{m.status}</Badge>
                {m.cordoned && <Badge tone={toneOf('cordoned')}>cordoned</Badge>}
              </span>
            </div>
            <div
              className={styles.capacity}
              role="meter"
              aria-label="Capacity used"
              aria-valuemin={0}
              aria-valuemax={m.effectiveCapacity}
              aria-valuenow={m.allocated}
            >
              {/* The one inline style: a measurement, not a look. */}
              <span style={{ width: `${(100 * m.allocated) / Math.max(1, m.effectiveCapacity)}%` }} />
            </div>
            <p className={styles.allocation} data-testid="allocation">
              {m.allocated} of {m.effectiveCapacity} claws
              {m.effectiveCapacity < m.capacity && ` (memory-bound; ${m.capacity} slots)`} · ports{' '}
              {m.portRangeStart}–{m.portRangeEnd}
              {m.portStride > 1 && ` (${m.portStride} per claw)`}
              {m.edgePort !== null && ` · edge :${m.edgePort}`} · last seen <Ago date={m.lastSeenAt} />
            </p>
            <p className={styles.allocation} data-testid="memory">
              {m.memoryMb === null ? 'Memory not reported yet' : `Memory ${megabytes(m.memoryMb)}`}
              {m.clawMemoryMb !== null && ` · ${megabytes(m.clawMemoryMb)} per claw`}
              {resident[m.id] !== undefined && ` · claws use ${megabytes(resident[m.id]!)} now`}
            </p>
            {m.usedPorts.length > 0 && (
              <p className={styles.ports}>{m.usedPorts.map((u) => `${u.port} (${u.clawSlug})`).join(', ')}</p>
            )}
            {m.lastError && m.status === 'offline' && <ErrorText>{m.lastError}</ErrorText>}
            <div className={styles.actions}>
              {m.cordoned ? (
                <Button onClick={() => uncordon.mutate({ miniId: m.id })}>Uncordon</Button>
              ) : (
                <Button onClick={() => cordon.mutate({ miniId: m.id })}>Cordon</Button>
              )}
              <Button
                variant="danger"
                disabled={m.allocated > 0}
                title={m.allocated > 0 ? 'Only an empty Mini can be removed' : undefined}
                onClick={() =>
                  window.confirm(`Remove ${m.hostname} from the fleet?`) && remove.mutate({ miniId: m.id })
                }
              >
                Remove
              </Button>
            </div>
          </Card>
        ))}
      </div>
    </>
  );
}
