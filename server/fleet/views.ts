import type { Kysely } from 'kysely';
import type { Database } from '../../db/types';
import { rowToMini } from '../../projections/rows';

/** The fleet as operators see it: every Mini with its capacity, allocation and the ports in use. */
export async function fleetView(db: Kysely<Database>) {
  const minis = await db
    .selectFrom('mac_minis')
    .selectAll()
    .where('status', '<>', 'removed')
    .orderBy('hostname')
    .execute();
  const used = await db
    .selectFrom('claws')
    .select(['mini_id', 'mini_port', 'slug', 'id'])
    .where('mini_port', 'is not', null)
    .orderBy('mini_port')
    .execute();
  return minis.map(rowToMini).map((m) => ({
    id: m.id,
    hostname: m.hostname,
    agentUrl: m.agentUrl,
    tunnelSuffix: m.tunnelSuffix,
    portRangeStart: m.portRangeStart,
    portRangeEnd: m.portRangeEnd,
    capacity: m.capacity,
    allocated: m.allocated,
    status: m.status,
    cordoned: m.cordoned,
    lastSeenAt: m.lastSeenAt,
    lastError: m.lastError,
    usedPorts: used
      .filter((u) => u.mini_id === m.id)
      .map((u) => ({ port: u.mini_port!, clawId: u.id, clawSlug: u.slug })),
  }));
}
export type FleetMini = Awaited<ReturnType<typeof fleetView>>[number];
