import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database, MacMinisTable } from '../db/types';
import { evolveMini, miniStream, SYSTEM_MEMORY_MB, type MiniState } from '../events/mini';
import { rowProjection } from '../events/row-projection';

/**
 * The `mac_minis` read model: one row per Mini holding its lifecycle state (events/mini.ts), kept
 * inline by every Mini event; then every query of it. Its `allocated` column belongs to the
 * Mini-allocation projection (claw events move it), so this one never writes it.
 */

type MiniRow = Selectable<MacMinisTable>;

export function miniToRow(s: MiniState): Omit<MiniRow, 'allocated'> {
  return {
    id: s.id,
    hostname: s.hostname,
    agent_url: s.agentUrl,
    agent_cert_fingerprint: s.agentCertFingerprint,
    tunnel_suffix: s.tunnelSuffix,
    port_range_start: s.portRangeStart,
    port_range_end: s.portRangeEnd,
    capacity: s.capacity,
    edge_port: s.edgePort,
    port_stride: s.portStride,
    memory_mb: s.memoryMb,
    claw_memory_mb: s.clawMemoryMb,
    status: s.status,
    cordoned: s.cordoned,
    blocked_ports: s.blockedPorts,
    offline_since: s.offlineSince,
    last_seen_at: s.lastSeenAt,
    last_error: s.lastError,
    version: s.version,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
  };
}

export function rowToMini(r: MiniRow): MiniState {
  return {
    id: r.id,
    hostname: r.hostname,
    agentUrl: r.agent_url,
    agentCertFingerprint: r.agent_cert_fingerprint,
    tunnelSuffix: r.tunnel_suffix,
    portRangeStart: r.port_range_start,
    portRangeEnd: r.port_range_end,
    capacity: r.capacity,
    edgePort: r.edge_port,
    portStride: r.port_stride,
    memoryMb: r.memory_mb,
    clawMemoryMb: r.claw_memory_mb,
    allocated: r.allocated,
    status: r.status,
    cordoned: r.cordoned,
    blockedPorts: r.blocked_ports,
    offlineSince: r.offline_since,
    lastSeenAt: r.last_seen_at,
    lastError: r.last_error,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export const minisProjection = rowProjection({
  name: 'minis',
  stream: miniStream,
  table: 'mac_minis',
  evolve: evolveMini,
  toRow: miniToRow,
  load: async (db, id) => {
    const row = await db.selectFrom('mac_minis').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? rowToMini(row) : null;
  },
  conflicts: {
    mac_minis_live_hostname: {
      conflict: 'hostname_taken',
      message: 'A Mini with this hostname is already registered',
    },
  },
});

// ─── Queries ───────────────────────────────────────────────────────────────────────────────────

type Db = Kysely<Database>;

/** Every Mini still in the fleet, by hostname (`includeRemoved`: the removed ones too). */
export async function fleetMinis(db: Db, opts: { includeRemoved?: boolean } = {}): Promise<MiniState[]> {
  let q = db.selectFrom('mac_minis').selectAll();
  if (!opts.includeRemoved) q = q.where('status', '<>', 'removed');
  return (await q.orderBy('hostname').execute()).map(rowToMini);
}

/** The Mini in the fleet with this hostname (hostnames are unique among Minis not removed). */
export async function miniByHostname(db: Db, hostname: string): Promise<MiniState | null> {
  const row = await db
    .selectFrom('mac_minis')
    .selectAll()
    .where('hostname', '=', hostname)
    .where('status', '<>', 'removed')
    .executeTakeFirst();
  return row ? rowToMini(row) : null;
}

/** Hostnames of these Minis, by id (what a claw view shows of its Mini). */
export async function miniHostnames(db: Db, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('mac_minis')
    .select(['id', 'hostname'])
    .where('id', 'in', [...ids])
    .execute();
  return new Map(rows.map((m) => [m.id, m.hostname]));
}

/** Minis that could take a new claw, most free slots first: the allocator's candidates. */
export async function placementCandidates(db: Db, limit: number): Promise<MiniState[]> {
  const rows = await db
    .selectFrom('mac_minis')
    .selectAll()
    .where('status', '=', 'online')
    .where('cordoned', '=', false)
    .where((eb) => eb('allocated', '<', eb.ref('capacity')))
    // Weighed by memory too, as placement.ts's effectiveCapacity does (integer division floors).
    .where(
      sql<boolean>`(memory_mb IS NULL OR claw_memory_mb IS NULL OR allocated < (memory_mb - ${SYSTEM_MEMORY_MB}) / claw_memory_mb)`,
    )
    .orderBy(
      sql`least(capacity, coalesce(greatest(0, (memory_mb - ${SYSTEM_MEMORY_MB}) / claw_memory_mb), capacity)) - allocated`,
      'desc',
    )
    .orderBy('hostname')
    .limit(limit)
    .execute();
  return rows.map(rowToMini);
}

/** The Mini's row, locked for the rest of the transaction (allocators on one Mini queue up here). */
export async function lockMini(db: Db, id: string): Promise<MiniState | null> {
  const row = await db
    .selectFrom('mac_minis')
    .selectAll()
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
  return row ? rowToMini(row) : null;
}
