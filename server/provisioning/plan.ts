import type { ProvisioningStep } from '../../events/catalog';
import type { ClawState } from '../../projections/claws';

/**
 * What the worker does next for a claw, derived from its projected state alone (pure), so any
 * worker that picks the claw up after a crash continues exactly where the log says it is.
 */
export type Action = ProvisioningStep | 'release' | 'finish_delete';

export function nextAction(c: ClawState): Action | null {
  switch (c.status) {
    case 'requested':
      return 'allocate';
    case 'provisioning':
      if (!c.agentRunning) return 'start_agent';
      if (!c.bucket) return 'create_bucket';
      return 'wait_ready';
    case 'failed':
      if (c.agentRunning) return 'stop_agent';
      if (c.miniPort !== null) return 'release';
      return null;
    case 'deleting':
      if (c.agentRunning) return 'stop_agent';
      if (c.bucket) return 'delete_bucket';
      if (c.miniPort !== null) return 'release';
      return 'finish_delete';
    case 'active':
    case 'deleted':
      return null;
  }
}

/** Steps whose failure, once retries run out, fails the claw. Cleanup steps keep retrying instead. */
export const isForwardStep = (a: Action) =>
  a === 'allocate' || a === 'start_agent' || a === 'create_bucket' || a === 'wait_ready';

/** Exponential backoff with full jitter: uniform in [base·2^(n-1) / 2, base·2^(n-1)], capped. */
export function backoffMs(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
