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
