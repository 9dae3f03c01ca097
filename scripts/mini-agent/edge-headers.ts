/**
 * What the edge (edge.ts) tells a gateway about who is on the other end, as pure functions.
 *
 * The gateway attributes a connection by its forwarded headers once the edge's address
 * (127.0.0.1) is in its `gateway.trustedProxies` (OPENCLAW.md §3.5): it walks X-Forwarded-For from
 * the right, skips loopback and trusted hops, and takes the first other address as the client; a
 * chain with none is refused (403 proxy_attribution_required). So every request the edge passes
 * on carries a chain that ends in the peer the edge saw:
 *
 * - from a trusted forwarder (cloudflared on this Mini, on loopback) the headers it added stay as
 *   they are (X-Forwarded-For, Cf-Connecting-Ip, Cf-Ray, …) and the edge appends that peer;
 * - from anyone else (the control plane dialling the edge in direct mode, or anything that reaches
 *   the edge's port) every forwarding header is dropped, so nobody can claim another address, and
 *   X-Forwarded-For is that peer: the gateway sees a remote client, never a local one.
 *
 * Hop-by-hop headers are this hop's own and are not passed on, except the Upgrade handshake of a
 * WebSocket, which the edge relays byte for byte once the gateway accepts it.
 */

/** Headers that say who the client is; only a trusted forwarder may send them. */
const FORWARDING = /^(x-forwarded-.*|forwarded|x-real-ip|true-client-ip|cf-.*|cdn-loop)$/;
/** RFC 9110 §7.6.1, plus the proxy-only ones. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** `::ffff:10.0.0.1` → `10.0.0.1`, the form gateways and logs use. */
export const plainAddress = (addr: string | undefined): string =>
  (addr ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');

export function isTrustedForwarder(peer: string, trusted: readonly string[]): boolean {
  const p = plainAddress(peer);
  return trusted.some((t) => plainAddress(t) === p);
}

/**
 * The request headers to send to the gateway (Node's raw `[name, value, …]` pairs, so names keep
 * their case and repeated headers stay repeated). `upgrade`: a WebSocket handshake, whose
 * `Connection: Upgrade` and `Upgrade` go through.
 */
export function upstreamRequestHeaders(
  rawHeaders: readonly string[],
  peer: string,
  opts: { trusted: boolean; upgrade: boolean },
): string[] {
  const out: string[] = [];
  const forwardedFor: string[] = [];
  let connectingIp: string | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const value = rawHeaders[i + 1]!;
    const lower = name.toLowerCase();
    if (lower === 'connection' || lower === 'upgrade') {
      if (opts.upgrade) out.push(lower === 'connection' ? 'Connection' : 'Upgrade', value);
      continue;
    }
    if (HOP_BY_HOP.has(lower)) continue;
    if (FORWARDING.test(lower)) {
      if (!opts.trusted) continue;
      if (lower === 'x-forwarded-for') {
        forwardedFor.push(value);
        continue;
      }
      if (lower === 'cf-connecting-ip') connectingIp = value.trim();
    }
    out.push(name, value);
  }
  // A forwarder that named the client only in Cf-Connecting-Ip still names it to the gateway.
  if (opts.trusted && forwardedFor.length === 0 && connectingIp) forwardedFor.push(connectingIp);
  out.push('X-Forwarded-For', [...forwardedFor, plainAddress(peer)].join(', '));
  return out;
}

/** The response headers to send back: the gateway's, without this hop's own. */
export function downstreamResponseHeaders(rawHeaders: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2)
    if (!HOP_BY_HOP.has(rawHeaders[i]!.toLowerCase())) out.push(rawHeaders[i]!, rawHeaders[i + 1]!);
  return out;
}

/**
 * The hostname a request names, lowercased, without a port or a trailing dot; undefined when it
 * has none or an unusable one. With TLS, the name the client asked for in SNI must be the same
 * host: a connection opened for one claw cannot be reused for another (HTTP 421).
 */
export function requestHost(hostHeader: string | undefined): string | undefined {
  if (!hostHeader) return undefined;
  const h = hostHeader.trim().toLowerCase();
  const name = h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.replace(/:\d+$/, '');
  const bare = name.replace(/\.$/, '');
  return /^[a-z0-9.-]+$|^\[[0-9a-f:.]+\]$/.test(bare) && bare.length <= 253 ? bare : undefined;
}
