import { sql } from 'kysely';
import { clawStream } from '../../events/catalog';
import { ConcurrencyError, ProjectionConflictError } from '../../events/errors';
import type { EventStore } from '../../events/store';
import type { EventMetadata } from '../../events/types';
import type { ClawState } from '../../projections/claws';
import { rowToMini } from '../../projections/rows';
import { isEligible, lowestFreePort, rankMinis, tunnelHostnameFor } from './placement';

export type AllocationResult =
  | { ok: true; claw: ClawState; miniId: string; port: number }
  | { ok: false; reason: 'no_capacity'; message: string };

const CANDIDATES = 5;
const ROUNDS = 10;

/**
 * Places a requested claw: in one transaction, lock the best eligible Mini's row, read the ports in
 * use there from the claws projection, take the lowest free one and append MiniAllocated. The lock
 * serializes allocators on a Mini; the partial unique index on live (mini_id, mini_port) and the
 * capacity CHECK would refuse anything that slipped through.
 */
export async function allocateClaw(
  store: EventStore,
  claw: ClawState,
  meta: EventMetadata,
): Promise<AllocationResult> {
  for (let round = 0; round < ROUNDS; round++) {
    try {
      const result = await store.transaction(async (tx) => {
        const candidates = rankMinis(
          (
            await tx.db
              .selectFrom('mac_minis')
              .selectAll()
              .where('status', '=', 'online')
              .where('cordoned', '=', false)
              .where(sql<boolean>`allocated < capacity`)
              .orderBy(sql`capacity - allocated`, 'desc')
              .orderBy('hostname')
              .limit(CANDIDATES)
              .execute()
          ).map(rowToMini),
        );
        if (candidates.length === 0) return null;
        for (const candidate of candidates) {
          const locked = await tx.db
            .selectFrom('mac_minis')
            .selectAll()
            .where('id', '=', candidate.id)
            .forUpdate()
            .executeTakeFirst();
          if (!locked || !isEligible(rowToMini(locked))) continue;
          const used = await tx.db
            .selectFrom('claws')
            .select('mini_port')
            .where('mini_id', '=', locked.id)
            .where('mini_port', 'is not', null)
            .execute();
          const port = lowestFreePort(
            locked.port_range_start,
            locked.port_range_end,
            used.map((u) => u.mini_port!),
          );
          if (port === null) continue;
          const r = await tx.append(
            clawStream(claw.id),
            claw.version,
            [
              {
                type: 'MiniAllocated',
                data: {
                  miniId: locked.id,
                  port,
                  tunnelHostname: tunnelHostnameFor(claw.id, locked.tunnel_suffix),
                },
              },
            ],
            meta,
            claw,
          );
          return { ok: true as const, claw: r.state as ClawState, miniId: locked.id, port };
        }
        return 'retry' as const;
      });
      if (result === null) break;
      if (result !== 'retry') return result;
    } catch (err) {
      // Another allocator won this Mini's last slot or port first: look again.
      if (err instanceof ProjectionConflictError && err.conflict !== 'slug_taken') continue;
      if (err instanceof ConcurrencyError) throw err;
      throw err;
    }
  }
  return {
    ok: false,
    reason: 'no_capacity',
    message: 'No capacity: no online, uncordoned Mini has a free slot',
  };
}
