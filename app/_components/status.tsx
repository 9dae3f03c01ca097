import type { Claw } from '@/app/_lib/types';
import { Badge, cx, toneOf } from './ui';
import styles from './status.module.css';

export function StatusBadge({ status }: { status: string }) {
  return (
    <Badge tone={toneOf(status)} data-testid="claw-status">
      {status}
    </Badge>
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
    <ol className={styles.steps} aria-label="Provisioning progress">
      {STEPS.map(([key, label], i) => {
        const done = claw.steps[key];
        const failed = !done && claw.status === 'failed' && i === firstPending;
        return (
          <li
            key={key}
            className={cx(styles.step, done && styles.done, failed && styles.failed)}
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
