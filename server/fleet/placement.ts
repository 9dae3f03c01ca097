import { memorySlots, type MiniState } from '../../events/mini';

/** Pure placement rules for the mac-mini fleet. */

type Sized = Pick<MiniState, 'allocated' | 'capacity' | 'memoryMb' | 'clawMemoryMb'>;

/** Claws the Mini can hold: its slots, or fewer when its memory holds fewer. */
export const effectiveCapacity = (m: Sized) => Math.min(m.capacity, memorySlots(m) ?? m.capacity);

export const freeSlots = (m: Sized) => Math.max(0, effectiveCapacity(m) - m.allocated);

export const isEligible = (m: Sized & Pick<MiniState, 'status' | 'cordoned'>) =>
  m.status === 'online' && !m.cordoned && freeSlots(m) > 0;

/** Eligible Minis, best first: most free slots (spread), then hostname for a stable order. */
export function rankMinis<M extends Sized & Pick<MiniState, 'status' | 'cordoned' | 'hostname'>>(
  minis: readonly M[],
): M[] {
  return minis
    .filter(isEligible)
    .sort((a, b) => freeSlots(b) - freeSlots(a) || a.hostname.localeCompare(b.hostname));
}

/**
 * Why claws on one Mini are `portStride` ports apart. Measured on OpenClaw 2026.9.6 (`ss -ltnp`):
 * an idle gateway binds only its own port P (127.0.0.1 and ::1). Once its browser tool has run it
 * also binds P+10 (the Chrome extension relay: browser control port P+2, plus 8; more extension
 * profiles count down from there), and the Chromium it launches binds P+11 (CDP of the default
 * `openclaw` profile); each further managed profile takes the next port, up to P+110 (the derived
 * CDP range is P+11..P+110; docs/gateway/multiple-gateways.md asks for 120 between gateways). Two
 * gateways one port apart collided for real: the second found P+11 taken by the first's Chrome and
 * attached to it (a claw driving another claw's browser, CDP has no authentication), and its relay
 * could not listen. So a Mini running the real gateway is registered with a stride of at least 111
 * (120 as the docs say); dev gateways bind one port and use 1.
 */
export const OPENCLAW_PORT_SPAN = 111;

/**
 * The lowest base port whose whole block [port, port + stride) lies in [start, end] and overlaps
 * neither another claw's block (claws' base ports in `claws`) nor a port held by another process
 * (`blocked`); null when the range is full.
 */
export function lowestFreePort(
  range: { start: number; end: number; stride?: number },
  claws: Iterable<number>,
  blocked: Iterable<number> = [],
): number | null {
  const stride = Math.max(1, range.stride ?? 1);
  const bases = [...claws];
  const held = [...blocked];
  for (let p = range.start; p + stride - 1 <= range.end; p += stride) {
    const clash =
      bases.some((b) => b > p - stride && b < p + stride) || held.some((h) => h >= p && h < p + stride);
    if (!clash) return p;
  }
  return null;
}

/** Each claw is reached through its own tunnel hostname; adding one never touches another's. */
export const tunnelHostnameFor = (clawId: string, tunnelSuffix: string) => `claw-${clawId}.${tunnelSuffix}`;
