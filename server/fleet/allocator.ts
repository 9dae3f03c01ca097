import type { ClawState } from '../../events/claw';
import { isConflict } from '../../events/errors';
import type { EventStore } from '../../events/store';
import type { EventMetadata } from '../../events/types';
import { clawsProjection, portsInUse } from '../../projections/claws';
import { miniAllocationProjection } from '../../projections/mini-allocation';
import { lockMini, placementCandidates } from '../../projections/minis';
import { isEligible, lowestFreePort, rankMinis, tunnelHostnameFor } from './placement';

export type AllocationResult =
  | { ok: true; claw: ClawState; miniId: string; port: number }
  | { ok: false; reason: 'no_capacity'; message: string };

const CANDIDATES = 5;
const ROUNDS = 10;

/**
 * Places a requested claw: in one transaction, lock the best eligible Mini's row, read the ports in
 * use there from the claws projection, take the lowest free port block (placement.ts says why a
 * claw needs a block) and append MiniAllocated. The lock serializes allocators on a Mini; the
 * partial unique index on live (mini_id, mini_port) and the capacity CHECK would refuse anything
 * that slipped through.
 */
export async function allocateClaw(
  store: EventStore,
  claw: ClawState,
  meta: EventMetadata,
): Promise<AllocationResult> {
  for (let round = 0; round < ROUNDS; round++) {
    try {
      const result = await store.transaction(async (tx) => {
        const candidates = rankMinis(await placementCandidates(tx.db, CANDIDATES));
        if (candidates.length === 0) return null;
        for (const candidate of candidates) {
          const locked = await lockMini(tx.db, candidate.id);
          if (!locked || !isEligible(locked)) continue;
          // Ports held by claws, and ports the Mini found held by processes that are not Claws'.
          const port = lowestFreePort(
            { start: locked.portRangeStart, end: locked.portRangeEnd, stride: locked.portStride },
            await portsInUse(tx.db, locked.id),
            locked.blockedPorts,
          );
          if (port === null) continue;
          const r = await tx.append(
            clawsProjection,
            claw.id,
            [
              {
                type: 'MiniAllocated',
                data: {
                  miniId: locked.id,
                  port,
                  tunnelHostname: tunnelHostnameFor(claw.id, locked.tunnelSuffix),
                },
              },
            ],
            { expected: claw.version, known: claw, meta },
          );
          return { ok: true as const, claw: r.state, miniId: locked.id, port };
        }
        return 'retry' as const;
      });
      if (result === null) break;
      if (result !== 'retry') return result;
    } catch (err) {
      // Another allocator won this Mini's last slot or port first: look again.
      if (isConflict(err, clawsProjection, 'port_taken') || isConflict(err, miniAllocationProjection))
        continue;
      throw err;
    }
  }
  return {
    ok: false,
    reason: 'no_capacity',
    message: 'No capacity: no online, uncordoned Mini has a free slot',
  };
}
