import { setTimeout as sleep } from 'node:timers/promises';
import type { ClawState } from '../../events/claw';
import type { EventStore } from '../../events/store';
import { minisProjection } from '../../projections/minis';
import type { ClawLogs, ClawLogsQuery, ClawUsage, LogLevel } from '../fleet/agent-api';
import type { MiniState } from '../../events/mini';
import { asFailure } from '../failure';

/**
 * What a claw's Mini tells of it for its page: its usage, and its gateway output: the agent on its Mini keeps it (rotated) and redacts it;
 * the control plane passes it on, filtered by level, and follows it by asking again from the
 * offset it got (a short poll per open page, only while someone reads).
 */

export interface ObservingAgent {
  logs(claw: ClawState, mini: MiniState | null, query: ClawLogsQuery): Promise<ClawLogs | null>;
  usage(claw: ClawState, mini: MiniState | null): Promise<ClawUsage | null>;
}

/** What the claw's processes used lately on its Mini, and its disk (null: it runs nowhere, or the agent does not know it). */
export async function clawUsage(
  store: EventStore,
  agents: ObservingAgent,
  claw: ClawState,
): Promise<ClawUsage | null> {
  if (claw.target !== 'mac-mini' || !claw.miniId) return null;
  return agents.usage(claw, await store.load(minisProjection, claw.miniId));
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Lines at `min` or above; a line that states no level is kept (a stack trace's lines state none). */
export const atLeast = (logs: ClawLogs['lines'], min: LogLevel | undefined) =>
  min ? logs.filter((l) => l.level === null || RANK[l.level] >= RANK[min]) : logs;

const EMPTY: ClawLogs = { lines: [], offset: 0, file: 0, rotated: false };

export async function clawLogs(
  store: EventStore,
  agents: ObservingAgent,
  claw: ClawState,
  query: ClawLogsQuery,
): Promise<ClawLogs> {
  if (claw.target !== 'mac-mini' || !claw.miniId) return EMPTY;
  const mini = await store.load(minisProjection, claw.miniId);
  return (await agents.logs(claw, mini, query)) ?? EMPTY;
}

/**
 * Follows the output from `after`, yielding each batch of new lines (and, once, why the Mini
 * could not be asked, then again when it answers). Ends when `signal` aborts.
 */
export async function* followClawLogs(
  store: EventStore,
  agents: ObservingAgent,
  claw: ClawState,
  from: { offset: number; file: number },
  signal: AbortSignal,
  pollMs = 1000,
): AsyncGenerator<{ lines: ClawLogs['lines']; offset: number; file: number; error: string | null }> {
  let { offset, file } = from;
  let failing = false;
  while (!signal.aborted) {
    try {
      const r = await clawLogs(store, agents, claw, { after: offset, file, limit: 500 });
      const moved = r.lines.length > 0 || r.offset !== offset || r.file !== file;
      ({ offset, file } = r);
      if (moved || failing) yield { lines: r.lines, offset, file, error: null };
      failing = false;
      // More is waiting (a full batch): ask again at once.
      if (r.lines.length === 500) continue;
    } catch (err) {
      if (!failing) yield { lines: [], offset, file, error: asFailure(err).message };
      failing = true;
    }
    await sleep(failing ? pollMs * 5 : pollMs, undefined, { signal }).catch(() => undefined);
  }
}
