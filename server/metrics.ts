import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/**
 * The process's Prometheus series, served at /metrics (server/http-endpoints.ts). One registry per
 * process, on globalThis like the runtime: Next's route handlers run in a module graph of their
 * own, and a series they update must be the one /metrics reads. Add a series here, next to the
 * others, so the list of what Claws exports stays in one place.
 */
export interface Metrics {
  readonly registry: Registry;
  /** How long the oldest open transaction has held back the commit-safe horizon of the live feeds. */
  readonly liveFeedsHeldBackSeconds: Gauge;
}

function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    liveFeedsHeldBackSeconds: new Gauge({
      name: 'claws_live_feeds_held_back_seconds',
      help:
        'Age of the oldest open PostgreSQL transaction with a transaction id: live feeds deliver ' +
        'nothing committed after it began until it ends (0 when none is open).',
      registers: [registry],
    }),
  };
}

const holder = globalThis as typeof globalThis & { __clawsMetrics?: Metrics };

export function metrics(): Metrics {
  holder.__clawsMetrics ??= createMetrics();
  return holder.__clawsMetrics;
}
