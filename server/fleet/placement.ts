import type { MiniState } from '../../events/mini';

/** Pure placement rules for the mac-mini fleet. */

export const isEligible = (m: Pick<MiniState, 'status' | 'cordoned' | 'allocated' | 'capacity'>) =>
  m.status === 'online' && !m.cordoned && m.allocated < m.capacity;

/** Eligible Minis, best first: most free slots (spread), then hostname for a stable order. */
export function rankMinis<
  M extends Pick<MiniState, 'status' | 'cordoned' | 'allocated' | 'capacity' | 'hostname'>,
>(minis: readonly M[]): M[] {
  return minis
    .filter(isEligible)
    .sort(
      (a, b) => b.capacity - b.allocated - (a.capacity - a.allocated) || a.hostname.localeCompare(b.hostname),
    );
}

/** The lowest port of [start, end] not in `used`, or null when the range is full. */
export function lowestFreePort(start: number, end: number, used: Iterable<number>): number | null {
  const taken = new Set(used);
  for (let p = start; p <= end; p++) if (!taken.has(p)) return p;
  return null;
}

/** Each claw is reached through its own tunnel hostname; adding one never touches another's. */
export const tunnelHostnameFor = (clawId: string, tunnelSuffix: string) => `claw-${clawId}.${tunnelSuffix}`;
