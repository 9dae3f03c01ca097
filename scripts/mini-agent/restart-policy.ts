import type { SupervisorTuning } from './config';

/**
 * What the supervisor does after its gateway exited on its own, as a pure function: restart it
 * after an exponential backoff, or give up once it crashed `maxQuickCrashes` times in a row. A
 * gateway that answered hello-ok and stayed up `stableMs` starts a new streak.
 */

export interface ExitFacts {
  /** Quick crashes in a row before this exit. */
  quickCrashes: number;
  /** Whether the gateway answered hello-ok before it exited. */
  wasReady: boolean;
  /** How long the process ran. */
  upMs: number;
}

export type ExitVerdict =
  { action: 'restart'; quickCrashes: number; delayMs: number } | { action: 'fail'; quickCrashes: number };

export function afterUnexpectedExit(
  facts: ExitFacts,
  tuning: Pick<SupervisorTuning, 'stableMs' | 'maxQuickCrashes' | 'restartBackoffMs' | 'restartBackoffMaxMs'>,
): ExitVerdict {
  const wasStable = facts.wasReady && facts.upMs >= tuning.stableMs;
  const quickCrashes = wasStable ? 1 : facts.quickCrashes + 1;
  if (quickCrashes >= tuning.maxQuickCrashes) return { action: 'fail', quickCrashes };
  const delayMs = Math.min(tuning.restartBackoffMaxMs, tuning.restartBackoffMs * 2 ** (quickCrashes - 1));
  return { action: 'restart', quickCrashes, delayMs };
}
