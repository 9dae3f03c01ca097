import type { EventStore } from '../events/store';
import { clawStream, type ClawEvent } from '../events/catalog';
import { foldClaw, type ClawState, type Envelope } from './claws';

/** The claw as it was right after event `version` of its stream: the same evolve, folded in memory. */
export async function clawAt(store: EventStore, clawId: string, version: number): Promise<ClawState | null> {
  const events = await store.readStream(clawStream(clawId), { toVersion: version });
  return foldClaw(events as Envelope<ClawEvent>[]);
}
