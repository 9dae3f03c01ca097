import type { MiniEvent } from '../events/catalog';
import type { Envelope } from './claws';

export type MiniStatus = 'online' | 'offline' | 'removed';

/** The Mac Mini read model. `allocated` is not in the Mini's own stream: claw allocations move it. */
export interface MiniState {
  id: string;
  hostname: string;
  agentUrl: string;
  tunnelSuffix: string;
  portRangeStart: number;
  portRangeEnd: number;
  capacity: number;
  allocated: number;
  status: MiniStatus;
  cordoned: boolean;
  lastSeenAt: Date | null;
  lastError: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export function evolveMini(state: MiniState | null, event: Envelope<MiniEvent>): MiniState {
  if (event.type === 'MiniRegistered') {
    if (state) throw new Error(`Mini ${state.id} was already registered`);
    const d = event.data;
    return {
      id: d.miniId,
      hostname: d.hostname,
      agentUrl: d.agentUrl,
      tunnelSuffix: d.tunnelSuffix,
      portRangeStart: d.portRangeStart,
      portRangeEnd: d.portRangeEnd,
      capacity: d.capacity,
      allocated: 0,
      status: 'online',
      cordoned: false,
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
      return { ...s, status: 'offline', lastError: event.data.error };
    case 'MiniCameOnline':
      return { ...s, status: 'online', lastSeenAt: event.createdAt, lastError: null };
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
