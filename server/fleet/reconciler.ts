import { randomUUID } from 'node:crypto';
import {
  decideExit,
  decideSighting,
  type ClawEvent,
  type ClawState,
  type GatewaySighting,
} from '../../events/claw';
import { ConcurrencyError } from '../../events/errors';
import { findOrphans, type MiniState } from '../../events/mini';
import type { EventStore } from '../../events/store';
import { clawsOnMini, clawsProjection } from '../../projections/claws';
import { fleetMinis, minisProjection } from '../../projections/minis';
import { asFailure } from '../failure';
import type { Logger } from '../log';
import type { ClawSummary } from './agent-api';

/** What the reconciler asks of a Mini's agent. */
export interface MiniAgents {
  /** Every gateway the agent runs (GET /claws). */
  list(mini: MiniState): Promise<ClawSummary[]>;
  /** Stops a gateway by claw id; 'unknown' when the agent no longer runs it. */
  stopById(mini: MiniState, clawId: string): Promise<'stopped' | 'unknown'>;
  /** Starts (or restarts) a claw's gateway where the log places it; idempotent. */
  start(claw: ClawState, mini: MiniState): Promise<void>;
}

const meta = () => ({ actor: 'system:reconciler' as const, correlationId: randomUUID() });

/**
 * Closes the loop the provisioning worker leaves open once a claw is active: each round, for each
 * Mini, it compares what the agent runs with what the log holds there. A gateway the log does not
 * hold is stopped (and recorded on the Mini); an active claw whose gateway is down or missing is
 * degraded with the reason and restarted, and recovers once it runs again; claws on a Mini that
 * cannot be asked say so. Several servers may run it: appends carry the version they read, and
 * every agent call is idempotent.
 */
export class Reconciler {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(
    private readonly store: EventStore,
    private readonly agents: MiniAgents,
    private readonly log: Logger,
    private readonly options: { intervalMs: number },
  ) {}

  start(): void {
    this.#timer ??= setInterval(() => void this.runOnce(), this.options.intervalMs);
    this.#timer.unref();
    void this.runOnce();
  }

  runOnce(): Promise<void> {
    this.#running ??= this.#round()
      .catch((err) => this.log.error('reconciliation round failed', { error: asFailure(err).message }))
      .finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #round(): Promise<void> {
    const minis = await fleetMinis(this.store.db);
    await Promise.all(minis.map((m) => this.#reconcile(m)));
  }

  async #reconcile(mini: MiniState): Promise<void> {
    if (mini.status === 'offline' || mini.status === 'lost') {
      const unreachable: GatewaySighting = { mini: mini.status };
      for (const claw of await clawsOnMini(this.store.db, mini.id))
        await this.#sighted(claw, mini, unreachable);
      return;
    }
    let running: ClawSummary[];
    try {
      running = await this.agents.list(mini);
    } catch (err) {
      // The health loop records whether the Mini is offline; nothing to compare this round.
      this.log.debug('agent not reachable for reconciliation', {
        miniId: mini.id,
        error: asFailure(err).message,
      });
      return;
    }
    // Read after the agent's list: a claw placed meanwhile is in the log by now (placement is
    // recorded before any start), so it is never taken for an orphan.
    const placed = await clawsOnMini(this.store.db, mini.id);
    for (const orphan of findOrphans(running, placed)) await this.#stopOrphan(mini, orphan);
    const byId = new Map(running.map((g) => [g.clawId, g]));
    for (const claw of placed) {
      const g = byId.get(claw.id);
      const here = g && g.port === claw.miniPort ? g : undefined;
      const seen: GatewaySighting = here ? { agent: here.status, error: here.error } : { agent: 'absent' };
      await this.#sighted(claw, mini, seen, decideExit(claw, here?.lastExit));
    }
  }

  async #stopOrphan(mini: MiniState, orphan: ClawSummary): Promise<void> {
    try {
      if ((await this.agents.stopById(mini, orphan.clawId)) === 'unknown') return; // gone meanwhile
      await this.store.append(
        minisProjection,
        mini.id,
        [{ type: 'MiniOrphanStopped', data: { clawId: orphan.clawId, port: orphan.port } }],
        { expected: 'any', meta: meta() },
      );
      this.log.warn('stopped a gateway the log does not hold', {
        miniId: mini.id,
        clawId: orphan.clawId,
        port: orphan.port,
      });
    } catch (err) {
      this.log.warn('could not stop an orphaned gateway', {
        miniId: mini.id,
        clawId: orphan.clawId,
        error: asFailure(err).message,
      });
    }
  }

  async #sighted(
    claw: ClawState,
    mini: MiniState,
    seen: GatewaySighting,
    exits: ClawEvent[] = [],
  ): Promise<void> {
    const sighting = decideSighting(claw, seen);
    const events = [...exits, ...sighting.events];
    const restart = sighting.restart;
    try {
      if (events.length) {
        await this.store.append(clawsProjection, claw.id, events, {
          expected: claw.version,
          known: claw,
          meta: meta(),
        });
        this.log.info('claw health changed', { clawId: claw.id, events: events.map((e) => e.type) });
      }
      if (restart) await this.agents.start(claw, mini);
    } catch (err) {
      if (err instanceof ConcurrencyError) return; // the claw moved on meanwhile: next round looks again
      this.log.warn('reconciling a claw failed', { clawId: claw.id, error: asFailure(err).message });
    }
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
