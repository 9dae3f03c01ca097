import type { Kysely } from 'kysely';
import type { Database } from '../../db/types';
import { allocations } from '../../projections/claws';
import { fleetMinis } from '../../projections/minis';
import { effectiveCapacity } from './placement';

/** The fleet as operators see it: every Mini with its capacity, allocation and the ports in use. */
export async function fleetView(db: Kysely<Database>) {
  const [minis, used] = await Promise.all([fleetMinis(db), allocations(db)]);
  return minis.map((m) => ({
    id: m.id,
    hostname: m.hostname,
    agentUrl: m.agentUrl,
    agentCertFingerprint: m.agentCertFingerprint,
    tunnelSuffix: m.tunnelSuffix,
    portRangeStart: m.portRangeStart,
    portRangeEnd: m.portRangeEnd,
    capacity: m.capacity,
    edgePort: m.edgePort,
    portStride: m.portStride,
    memoryMb: m.memoryMb,
    clawMemoryMb: m.clawMemoryMb,
    /** What placement counts against: the slots, or fewer when the memory holds fewer. */
    effectiveCapacity: effectiveCapacity(m),
    allocated: m.allocated,
    status: m.status,
    cordoned: m.cordoned,
    blockedPorts: m.blockedPorts,
    offlineSince: m.offlineSince,
    lastSeenAt: m.lastSeenAt,
    lastError: m.lastError,
    usedPorts: used
      .filter((u) => u.miniId === m.id)
      .map((u) => ({ port: u.port, clawId: u.clawId, clawSlug: u.clawSlug })),
  }));
}
export type FleetMini = Awaited<ReturnType<typeof fleetView>>[number];
