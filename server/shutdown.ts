/**
 * Graceful shutdown hooks. Anything that holds long-lived connections or background work registers
 * here; server/main.ts runs the hooks on SIGTERM/SIGINT, phase by phase:
 *   'connections'  long-lived client connections (the chat proxy closes its WebSockets with 1001)
 *   'workers'      background loops (the provisioning worker, the health loop, the local dev Mini)
 * and then closes the runtime (database, event store). The registry lives on globalThis, so code in
 * Next's bundled module graph registers into the same one as server/main.ts (STACK.md §1.2 rule 7).
 */
export type ShutdownPhase = 'connections' | 'workers';

interface Registry {
  hooks: { name: string; phase: ShutdownPhase; run: () => Promise<void> | void }[];
  stopping: boolean;
}

const holder = globalThis as typeof globalThis & { __clawsShutdown?: Registry };
const registry = (): Registry => (holder.__clawsShutdown ??= { hooks: [], stopping: false });

/** Registers a hook; returns its unregistration. */
export function onShutdown(
  name: string,
  run: () => Promise<void> | void,
  phase: ShutdownPhase = 'connections',
): () => void {
  const hook = { name, phase, run };
  registry().hooks.push(hook);
  return () => {
    const r = registry();
    r.hooks = r.hooks.filter((h) => h !== hook);
  };
}

/** True once shutdown began: /readyz answers 503 so a load balancer stops sending traffic. */
export const isShuttingDown = () => registry().stopping;

/**
 * Runs one phase's hooks concurrently, each bounded by `timeoutMs`; a failing or slow hook is
 * reported and does not stop the others.
 */
export async function runShutdownPhase(
  phase: ShutdownPhase,
  timeoutMs: number,
  report: (name: string, error: string) => void,
): Promise<void> {
  beginShutdown();
  const hooks = registry().hooks.filter((h) => h.phase === phase);
  await Promise.all(
    hooks.map(async (h) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(h.run),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
      } catch (err) {
        report(h.name, err instanceof Error ? err.message : String(err));
      } finally {
        clearTimeout(timer);
      }
    }),
  );
}

export function beginShutdown(): void {
  registry().stopping = true;
}
