import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '../../server/trpc/routers/_app';

export type Claw = inferRouterOutputs<AppRouter>['claws']['get'];

export function StatusBadge({ status }: { status: string }) {
  return (
    <span className={`badge badge-${status}`} data-testid="claw-status">
      {status}
    </span>
  );
}

const STEPS = [
  ['requested', 'Requested'],
  ['miniAllocated', 'Mini allocated'],
  ['agentStarted', 'Agent started'],
  ['bucketCreated', 'Bucket created'],
  ['active', 'Active'],
] as const;

/** Provisioning progress, one chip per lifecycle step. */
export function Steps({ claw }: { claw: Pick<Claw, 'steps' | 'status'> }) {
  const firstPending = STEPS.findIndex(([k]) => !claw.steps[k]);
  return (
    <ol className="steps" aria-label="Provisioning progress">
      {STEPS.map(([key, label], i) => {
        const done = claw.steps[key];
        const failed = !done && claw.status === 'failed' && i === firstPending;
        return (
          <li
            key={key}
            className={`step ${done ? 'step-done' : ''} ${failed ? 'step-failed' : ''}`}
            data-step={key}
            data-done={done}
          >
            {done ? '✓ ' : failed ? '✕ ' : ''}
            {label}
          </li>
        );
      })}
    </ol>
  );
}

export function ago(date: Date | string | null | undefined): string {
  if (!date) return '—';
  const ms = Date.now() - new Date(date).getTime();
  if (ms < 60_000) return `${Math.max(0, Math.round(ms / 1000))} s ago`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min ago`;
  if (ms < 86_400_000) return `${Math.round(ms / 3_600_000)} h ago`;
  return new Date(date).toLocaleString();
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 1000)} s`;
}
