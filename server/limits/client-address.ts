import { isIPv4, isIPv6 } from 'node:net';

/**
 * The client's address as the server sees it: the socket's remote address, or, only when the
 * operator says a reverse proxy sets one (CLAWS_CLIENT_ADDRESS_HEADER), that header's value.
 * Forwarded headers are never trusted by default: anyone can send them.
 */
export const CLIENT_ADDRESS_HEADER = 'x-claws-client-address';

export interface AddressSettings {
  CLAWS_CLIENT_ADDRESS_HEADER?: string;
  CLAWS_TRUSTED_PROXY_HOPS: number;
}

export function clientAddressOf(
  headers: Record<string, string | string[] | undefined>,
  remoteAddress: string | undefined,
  settings: AddressSettings,
): string {
  const name = settings.CLAWS_CLIENT_ADDRESS_HEADER;
  if (name) {
    const raw = headers[name];
    const value = Array.isArray(raw) ? raw.join(',') : raw;
    if (value) {
      // x-forwarded-for grows to the right; the entry our own proxies added is `hops` from the end.
      const parts = value
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean);
      const picked = parts[Math.max(0, parts.length - settings.CLAWS_TRUSTED_PROXY_HOPS)];
      const address = picked ? normalizeAddress(picked) : null;
      if (address) return address;
    }
  }
  return normalizeAddress(remoteAddress ?? '') ?? 'unknown';
}

/** An IP address in canonical form (IPv4-mapped IPv6 as IPv4), or null when it is not one. */
export function normalizeAddress(value: string): string | null {
  let v = value.trim();
  if (v.startsWith('[') && v.includes(']')) v = v.slice(1, v.indexOf(']'));
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(v)) v = v.slice(0, v.lastIndexOf(':'));
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(v);
  if (mapped) v = mapped[1]!;
  if (isIPv4(v)) return v;
  if (isIPv6(v)) return v.toLowerCase();
  return null;
}

/**
 * What a throttle counts an address as: IPv4 as is, IPv6 by its /64, since one subscriber usually
 * holds a whole /64 and could otherwise pick a fresh address for every attempt.
 */
export function throttleKeyOfAddress(address: string): string {
  if (!isIPv6(address)) return address;
  const groups = expandIPv6(address);
  return `${groups.slice(0, 4).join(':')}::/64`;
}

function expandIPv6(address: string): string[] {
  const [head, tail] = address.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array(Math.max(0, 8 - h.length - t.length)).fill('0');
  return [...h, ...fill, ...t].map((g) => g.replace(/^0+(?=.)/, '') || '0');
}
