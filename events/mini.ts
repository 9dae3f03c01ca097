import { z } from 'zod';
import type { MiniStatus } from '../db/types';
import { badRequest, notFound, preconditionFailed } from './errors';
import { defineStream, type EventsOf } from './stream';
import type { Envelope } from './types';

/**
 * The life of a Mac Mini in the fleet, top to bottom: 1. its events, 2. its state, 3. how each
 * event moves the state, 4. the decisions operator commands and the health loop make on it (pure).
 * The I/O is in server/fleet/commands.ts and server/fleet/health.ts.
 *
 * | status    | means                                               | entered by                  |
 * | --------- | --------------------------------------------------- | --------------------------- |
 * | `online`  | its agent answers; it takes new claws unless cordoned or full | MiniRegistered, MiniCameOnline |
 * | `offline` | its agent stopped answering health checks          | MiniWentOffline             |
 * | `lost`    | offline for longer than the fleet waits; its claws' gateways are given up | MiniLost |
 * | `removed` | out of the fleet (only an empty Mini can be removed) | MiniRemoved               |
 *
 * `cordoned` is separate from the status: a cordoned Mini keeps its claws but gets no new one.
 * `blockedPorts` are ports of its range that a process Claws does not own holds: the allocator
 * skips them until an operator unblocks them. A lost Mini that comes back goes online again; the
 * reconciler then stops every gateway on it that the log no longer holds (MiniOrphanStopped).
 * `allocated` (claws holding a port on it) is not in the Mini's stream at all: the claws'
 * MiniAllocated / AllocationReleased events move it (projections/mini-allocation.ts).
 */
export const MINI_STATUS_MEANING = {
  online: 'Its agent answers; takes new claws unless cordoned or full',
  offline: 'Its agent stopped answering health checks',
  lost: 'Offline too long; its claws are given up',
  removed: 'Taken out of the fleet',
} as const satisfies Record<MiniStatus, string>;

// ─── 1. Events ─────────────────────────────────────────────────────────────────────────────────

const port = z.number().int().min(1).max(65535);
const hostname = z.string().min(1).max(253);
const tunnelSuffix = z.string().min(1).max(200);
/** Memory each claw is given on a Mini, in MB: with it, the Mini takes no more claws than its memory holds. */
const clawMemoryMb = z.number().int().min(64).max(1_048_576);
const capacity = z.number().int().min(1).max(10_000);
const fingerprint = z.string().min(8).max(64);
/** Ports each claw's gateway takes from its base port up (see `portSlots`); 1 for dev gateways. */
const portStride = z.number().int().min(1).max(1000);
/** The agent's TLS certificate, pinned (server/fleet/agent-tls.ts): public, unlike the token's. */
const certFingerprint = z.string().regex(/^sha256:[0-9a-f]{64}$/);

export const miniEventSchemas = {
  MiniRegistered: z.object({
    miniId: z.uuid(),
    hostname,
    agentUrl: z.url(),
    tunnelSuffix,
    portRangeStart: port,
    portRangeEnd: port,
    capacity,
    agentTokenFingerprint: fingerprint,
    /** The Mini's edge (host routing to its claws), on the agent's host; absent: no edge. */
    edgePort: port.optional(),
    portStride: portStride.optional(),
    agentCertFingerprint: certFingerprint.optional(),
    clawMemoryMb: clawMemoryMb.optional(),
  }),
  MiniUpdated: z.object({
    hostname: hostname.optional(),
    agentUrl: z.url().optional(),
    tunnelSuffix: tunnelSuffix.optional(),
    portRangeStart: port.optional(),
    portRangeEnd: port.optional(),
    capacity: capacity.optional(),
    agentTokenFingerprint: fingerprint.optional(),
    /** null: the Mini no longer has an edge. */
    edgePort: port.nullable().optional(),
    portStride: portStride.optional(),
    /** null: the Mini's claws are no longer bounded by memory. */
    clawMemoryMb: clawMemoryMb.nullable().optional(),
    /** Re-keying: the agent's new certificate. */
    agentCertFingerprint: certFingerprint.optional(),
  }),
  MiniCordoned: z.object({ reason: z.string().max(500).optional() }),
  MiniUncordoned: z.object({}),
  MiniWentOffline: z.object({ error: z.string().min(1).max(2000) }),
  /** The agent reported the Mini's physical memory (the first time, or when it changed). */
  MiniMemoryReported: z.object({ memoryMb: z.number().int().min(1).max(16_777_216) }),
  MiniLost: z.object({ offlineForMs: z.number().int().min(0) }),
  MiniCameOnline: z.object({}),
  MiniPortBlocked: z.object({ port, reason: z.string().min(1).max(2000) }),
  MiniPortUnblocked: z.object({ port }),
  /** The reconciler stopped a gateway the agent ran but the log does not hold there. */
  MiniOrphanStopped: z.object({ clawId: z.uuid(), port }),
  MiniRemoved: z.object({}),
} as const;

/** `mini-<id>` streams. */
export const miniStream = defineStream('mini', miniEventSchemas);
export type MiniEvent = EventsOf<typeof miniEventSchemas>;

// ─── 2. State ──────────────────────────────────────────────────────────────────────────────────

/** A Mini after its events; the `mac_minis` row is this state (projections/minis.ts). */
export interface MiniState {
  id: string;
  hostname: string;
  agentUrl: string;
  /** Pinned for an https agent; null for a plain-HTTP dev agent. */
  agentCertFingerprint: string | null;
  tunnelSuffix: string;
  portRangeStart: number;
  portRangeEnd: number;
  capacity: number;
  /** Where the Mini's edge listens on the agent's host (direct mode dials it); null: no edge. */
  edgePort: number | null;
  /** Each claw holds the block [port, port + portStride) of the range (see `portSlots`). */
  portStride: number;
  /** The Mini's memory as its agent reported it; null until it did. */
  memoryMb: number | null;
  /** Memory each claw is given (operator's setting); null: claws are counted, not weighed. */
  clawMemoryMb: number | null;
  /** Claws holding a port here: moved by claw events, never by this stream (see above). */
  allocated: number;
  status: MiniStatus;
  cordoned: boolean;
  /** Ports held by processes that are not Claws' gateways; never allocated. */
  blockedPorts: number[];
  /** When it went offline (null while online). */
  offlineSince: Date | null;
  lastSeenAt: Date | null;
  lastError: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

// ─── 3. Evolve ─────────────────────────────────────────────────────────────────────────────────

export function evolveMini(state: MiniState | null, event: Envelope<MiniEvent>): MiniState {
  if (event.type === 'MiniRegistered') {
    if (state) throw new Error(`Mini ${state.id} was already registered`);
    const d = event.data;
    return {
      id: d.miniId,
      hostname: d.hostname,
      agentUrl: d.agentUrl,
      agentCertFingerprint: d.agentCertFingerprint ?? null,
      tunnelSuffix: d.tunnelSuffix,
      portRangeStart: d.portRangeStart,
      portRangeEnd: d.portRangeEnd,
      capacity: d.capacity,
      edgePort: d.edgePort ?? null,
      portStride: d.portStride ?? 1,
      memoryMb: null,
      clawMemoryMb: d.clawMemoryMb ?? null,
      allocated: 0,
      status: 'online',
      cordoned: false,
      blockedPorts: [],
      offlineSince: null,
      lastSeenAt: event.createdAt,
      lastError: null,
      version: event.streamVersion,
      createdAt: event.createdAt,
      updatedAt: event.createdAt,
    };
  }
  if (!state) throw new Error(`${event.type} before MiniRegistered`);
  const s: MiniState = { ...state, version: event.streamVersion, updatedAt: event.createdAt };
  switch (event.type) {
    case 'MiniUpdated': {
      const { agentTokenFingerprint: _fingerprint, ...changes } = event.data;
      const defined = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
      return { ...s, ...defined };
    }
    case 'MiniCordoned':
      return { ...s, cordoned: true };
    case 'MiniUncordoned':
      return { ...s, cordoned: false };
    case 'MiniWentOffline':
      return { ...s, status: 'offline', offlineSince: event.createdAt, lastError: event.data.error };
    case 'MiniLost':
      return { ...s, status: 'lost' };
    case 'MiniCameOnline':
      return { ...s, status: 'online', offlineSince: null, lastSeenAt: event.createdAt, lastError: null };
    case 'MiniPortBlocked':
      return { ...s, blockedPorts: [...new Set([...s.blockedPorts, event.data.port])].sort((a, b) => a - b) };
    case 'MiniPortUnblocked':
      return { ...s, blockedPorts: s.blockedPorts.filter((p) => p !== event.data.port) };
    case 'MiniMemoryReported':
      return { ...s, memoryMb: event.data.memoryMb };
    case 'MiniOrphanStopped':
      return s;
    case 'MiniRemoved':
      return { ...s, status: 'removed' };
  }
}

export function foldMini(
  events: Iterable<Envelope<MiniEvent>>,
  from: MiniState | null = null,
): MiniState | null {
  let state = from;
  for (const e of events) state = evolveMini(state, e);
  return state;
}

/**
 * Memory a Mini keeps for macOS and its agent, in MB, before any goes to claws (a real gateway with
 * its helpers was measured at about 1 GB resident here; the operator sets what each claw is given).
 */
export const SYSTEM_MEMORY_MB = 2048;

/** How many claws the Mini's memory holds; null when it is not bounded by memory (or not reported yet). */
export function memorySlots(m: Pick<MiniState, 'memoryMb' | 'clawMemoryMb'>): number | null {
  if (m.memoryMb === null || m.clawMemoryMb === null) return null;
  return Math.max(0, Math.floor((m.memoryMb - SYSTEM_MEMORY_MB) / m.clawMemoryMb));
}

// ─── 4. Decisions ──────────────────────────────────────────────────────────────────────────────

/** The Mini, unless it does not exist or was removed. */
export function liveMini(mini: MiniState | null): MiniState {
  if (!mini || mini.status === 'removed') throw notFound('Mini');
  return mini;
}

export type MiniChanges = Omit<z.input<typeof miniEventSchemas.MiniUpdated>, 'agentTokenFingerprint'>;

/**
 * A change of a Mini's settings. The new range must hold its capacity in port blocks, the capacity
 * the claws already there, every port in use (`portsInUse`, from the claws read model) must stay
 * inside it with its whole block, no two blocks may overlap under the new stride, and the edge
 * must listen outside the range.
 */
export function decideUpdate(
  mini: MiniState,
  changes: MiniChanges & { agentTokenFingerprint?: string },
  portsInUse: readonly number[],
): MiniEvent[] {
  const start = changes.portRangeStart ?? mini.portRangeStart;
  const end = changes.portRangeEnd ?? mini.portRangeEnd;
  const cap = changes.capacity ?? mini.capacity;
  const stride = changes.portStride ?? mini.portStride;
  const edgePort = changes.edgePort === undefined ? mini.edgePort : changes.edgePort;
  if (end < start) throw badRequest('Invalid Mini update: portRangeEnd must not be below portRangeStart');
  if (cap > portSlots(start, end, stride))
    throw badRequest('Invalid Mini update: capacity exceeds the port blocks in the range');
  if (edgePort !== null && edgePort >= start && edgePort <= end)
    throw badRequest('Invalid Mini update: the edge port must lie outside the port range');
  if (cap < mini.allocated)
    throw preconditionFailed(`Capacity ${cap} is below the ${mini.allocated} claws already on this Mini`);
  const outside = portsInUse.find((p) => p < start || p + stride - 1 > end);
  if (outside !== undefined)
    throw preconditionFailed(`Port ${outside} is in use and its block would leave the new range`);
  const sorted = [...portsInUse].sort((a, b) => a - b);
  const crowded = sorted.findIndex((p, i) => i > 0 && p - sorted[i - 1]! < stride);
  if (crowded > 0)
    throw preconditionFailed(
      `Ports ${sorted[crowded - 1]} and ${sorted[crowded]} are in use less than ${stride} apart`,
    );
  const data = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
  return Object.keys(data).length ? [{ type: 'MiniUpdated', data }] : [];
}

/**
 * How many claws fit in [start, end] when each takes `stride` consecutive ports from its base port.
 * A real OpenClaw gateway needs more than its own port: it derives its browser ports from it
 * (server/fleet/placement.ts says which), so two claws on one Mini must be that far apart.
 */
export const portSlots = (start: number, end: number, stride: number): number =>
  end < start ? 0 : Math.floor((end - start + 1) / stride);

export const decideCordon = (mini: MiniState, reason?: string): MiniEvent[] =>
  mini.cordoned ? [] : [{ type: 'MiniCordoned', data: reason ? { reason } : {} }];

export const decideUncordon = (mini: MiniState): MiniEvent[] =>
  mini.cordoned ? [{ type: 'MiniUncordoned', data: {} }] : [];

/** Only an empty Mini (no claw holds a port on it) leaves the fleet. */
export function decideRemoval(mini: MiniState): MiniEvent[] {
  if (mini.allocated > 0)
    throw preconditionFailed(`The Mini still runs ${mini.allocated} claw(s); delete or move them first`);
  return [{ type: 'MiniRemoved', data: {} }];
}

export interface HealthPolicy {
  /** Failed checks in a row before an online Mini is offline. */
  failuresToOffline: number;
  /** How long a Mini may be offline before it is lost. */
  lostAfterMs: number;
}

/**
 * What a health check means. The log records transitions only, not pings: an offline or lost Mini
 * that answers comes online; an online one goes offline after enough failures in a row, and an
 * offline one is lost once it has been offline for `lostAfterMs`.
 */
export function decideHealth(
  mini: MiniState,
  check: { ok: true; memoryMb?: number } | { ok: false; error: string; failuresInARow: number },
  policy: HealthPolicy,
  now: Date,
): MiniEvent[] {
  if (check.ok) {
    const events: MiniEvent[] =
      mini.status === 'offline' || mini.status === 'lost' ? [{ type: 'MiniCameOnline', data: {} }] : [];
    if (check.memoryMb !== undefined && check.memoryMb !== mini.memoryMb)
      events.push({ type: 'MiniMemoryReported', data: { memoryMb: check.memoryMb } });
    return events;
  }
  if (mini.status === 'online')
    return check.failuresInARow < policy.failuresToOffline
      ? []
      : [{ type: 'MiniWentOffline', data: { error: check.error } }];
  const offlineForMs = now.getTime() - (mini.offlineSince ?? now).getTime();
  if (mini.status === 'offline' && offlineForMs >= policy.lostAfterMs)
    return [{ type: 'MiniLost', data: { offlineForMs } }];
  return [];
}

/** A port of the Mini found held by another process is blocked (once). */
export const decidePortBlocked = (mini: MiniState, port: number, reason: string): MiniEvent[] =>
  mini.blockedPorts.includes(port) ? [] : [{ type: 'MiniPortBlocked', data: { port, reason } }];

export const decidePortUnblocked = (mini: MiniState, port: number): MiniEvent[] =>
  mini.blockedPorts.includes(port) ? [{ type: 'MiniPortUnblocked', data: { port } }] : [];

/**
 * The gateways an agent runs that the log does not hold on this Mini at that port (a claw stopped
 * or moved, deleted, or never heard of: an agent whose own state is older than the database's).
 * `placed`: every claw whose gateway may run on this Mini, read after the agent's list, so a claw
 * placed meanwhile is never taken for an orphan.
 */
export function findOrphans<A extends { clawId: string; port: number }>(
  running: readonly A[],
  placed: readonly { id: string; miniPort: number | null }[],
): A[] {
  const expected = new Map(placed.map((c) => [c.id, c.miniPort]));
  return running.filter((g) => expected.get(g.clawId) !== g.port);
}
