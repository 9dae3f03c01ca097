import { sql } from 'kysely';
import type { ClawEvent } from '../events/claw';
import type { EventProjection } from '../events/projection';

/**
 * A Mini's `allocated` count, kept by claw events: MiniAllocated takes a slot, AllocationReleased
 * (or PortRefused, which releases a port the Mini refused) gives it back. It is a relative update of the Mini's row in the claw's append, so claws on one
 * Mini never contend on the Mini's stream; the row's CHECK (allocated <= capacity) refuses the
 * append that would overfill it.
 */

/** The change a claw event makes to its Mini's allocated count. */
export function allocationDelta(event: ClawEvent): { miniId: string; delta: 1 | -1 } | null {
  if (event.type === 'MiniAllocated') return { miniId: event.data.miniId, delta: 1 };
  if (event.type === 'AllocationReleased' || event.type === 'PortRefused')
    return { miniId: event.data.miniId, delta: -1 };
  return null;
}

function netByMini(events: readonly ClawEvent[]): Map<string, number> {
  const net = new Map<string, number>();
  for (const e of events) {
    const d = allocationDelta(e);
    if (d) net.set(d.miniId, (net.get(d.miniId) ?? 0) + d.delta);
  }
  return net;
}

export const miniAllocationProjection: EventProjection<
  ClawEvent,
  Map<string, number>,
  'capacity_exceeded'
> = {
  kind: 'events',
  name: 'mini-allocation',
  eventTypes: ['MiniAllocated', 'AllocationReleased', 'PortRefused'],
  write(events) {
    const net = [...netByMini(events)].filter(([, delta]) => delta !== 0);
    if (net.length === 0) return null;
    return {
      sql: sql`UPDATE mac_minis m SET allocated = m.allocated + d.delta
               FROM (VALUES ${sql.join(net.map(([id, delta]) => sql`(${id}::uuid, ${delta}::int)`))}) AS d(id, delta)
               WHERE m.id = d.id RETURNING 1`,
      rows: net.length,
      mismatch: 'unknown Mini in allocation',
    };
  },
  initial: () => new Map(),
  fold(acc, event) {
    const d = allocationDelta(event);
    if (d) acc.set(d.miniId, (acc.get(d.miniId) ?? 0) + d.delta);
  },
  async flush(db, acc) {
    const counts = [...acc].filter(([, n]) => n !== 0);
    for (let i = 0; i < counts.length; i += 1000) {
      const chunk = counts.slice(i, i + 1000);
      await sql`UPDATE mac_minis m SET allocated = d.n
                FROM (VALUES ${sql.join(chunk.map(([id, n]) => sql`(${id}::uuid, ${n}::int)`))}) AS d(id, n)
                WHERE m.id = d.id`.execute(db);
    }
  },
  conflicts: {
    mac_minis_allocated_within_capacity: {
      conflict: 'capacity_exceeded',
      message: 'The Mini has no free capacity',
    },
  },
};
