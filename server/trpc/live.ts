import { setTimeout as sleep } from 'node:timers/promises';
import { isConnectionError } from '../../db/errors';
import type { EventStore } from '../../events/store';

/**
 * Turns "something was appended" signals into an awaitable, for subscription loops. Listening
 * starts at creation (before the caller reads its backlog), so no signal falls between the two; a
 * slow poll covers signals lost on the way (a dropped LISTEN connection).
 */
export function appendSignals(store: EventStore, signal: AbortSignal | undefined, pollMs = 5000) {
  let pending = false;
  let wake: (() => void) | undefined;
  const fire = () => {
    pending = true;
    wake?.();
  };
  const off = store.onAppended(fire);
  const timer = setInterval(fire, pollMs);
  timer.unref();
  signal?.addEventListener('abort', fire, { once: true });
  return {
    async next(): Promise<boolean> {
      if (!pending && !signal?.aborted) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      pending = false;
      return !signal?.aborted;
    },
    close() {
      off();
      clearInterval(timer);
      signal?.removeEventListener('abort', fire);
    },
  };
}

/** Backoff between reads while the database is away: doubling from the first delay up to the cap. */
const OUTAGE_FIRST_DELAY_MS = 200;
const OUTAGE_MAX_DELAY_MS = 5000;

/**
 * Runs one read of a live feed; while the database cannot be reached (a restart, a dropped
 * connection) it waits and tries again, so the stream rides out the outage with its checkpoint in
 * hand instead of ending (SSE pings keep the connection open meanwhile). Any other error, and an
 * abort, ends the stream as before.
 */
export async function readThroughOutages<T>(
  read: () => Promise<T>,
  signal: AbortSignal | undefined,
): Promise<T> {
  for (let delay = OUTAGE_FIRST_DELAY_MS; ; delay = Math.min(delay * 2, OUTAGE_MAX_DELAY_MS)) {
    try {
      return await read();
    } catch (err) {
      if (!isConnectionError(err) || signal?.aborted) throw err;
    }
    await sleep(delay, undefined, { signal });
  }
}
