import type http from 'node:http';

/**
 * Who is on the other end of a WebSocket upgrade, as the real gateway decides it (OPENCLAW.md §3.5;
 * openclaw's src/gateway/ingress-attribution.ts and net.ts):
 *
 * - `direct-local`: from loopback without forwarding headers (`Forwarded`, `X-Real-IP`,
 *   `X-Forwarded-*`): the loopback exceptions apply.
 * - `trusted-proxy`: from an address in `trustedProxies`; the client is the rightmost
 *   X-Forwarded-For hop that is neither loopback nor a trusted proxy. A chain without one (no
 *   header, or only loopback hops) cannot be attributed: HTTP 403 `proxy_attribution_required`.
 * - forwarding headers from any other address: the same 403.
 * - `direct-remote`: any other peer, as it is.
 */

export type AttributionKind = 'direct-local' | 'trusted-proxy' | 'direct-remote';

export type Attribution =
  | { ok: true; local: boolean; origin: string | undefined; kind: AttributionKind; clientIp: string }
  | { ok: false; /** The raw HTTP response to end the socket with. */ response: string };

const isForwardingHeader = (h: string) =>
  h === 'forwarded' || h === 'x-real-ip' || h.startsWith('x-forwarded-');
const plain = (addr: string) => addr.trim().replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
const isLoopback = (addr: string) => /^(127\.\d+\.\d+\.\d+|::1)$/.test(plain(addr));

function refused(): Attribution {
  const body = JSON.stringify({
    error: {
      message:
        'Proxy client attribution is required: the request carries forwarding headers that cannot be attributed to a client',
      type: 'proxy_attribution_required',
    },
  });
  return {
    ok: false,
    response: `HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  };
}

export function attributeUpgrade(
  peer: string | undefined,
  headers: http.IncomingHttpHeaders,
  trustedProxies: readonly string[],
): Attribution {
  const remote = plain(peer ?? '');
  const forwarded = Object.keys(headers).some(isForwardingHeader);
  const origin = typeof headers.origin === 'string' ? headers.origin : undefined;
  const trusted = (addr: string) => trustedProxies.some((p) => plain(p) === plain(addr));
  if (isLoopback(remote) && !forwarded)
    return { ok: true, local: true, origin, kind: 'direct-local', clientIp: remote };
  if (trusted(remote)) {
    const xff = headers['x-forwarded-for'];
    const chain = (Array.isArray(xff) ? xff[0] : xff)?.split(',').map(plain).filter(Boolean) ?? [];
    const client = [...chain].reverse().find((hop) => !isLoopback(hop) && !trusted(hop));
    if (!client) return refused();
    return { ok: true, local: false, origin, kind: 'trusted-proxy', clientIp: client };
  }
  if (forwarded) return refused();
  return { ok: true, local: false, origin, kind: 'direct-remote', clientIp: remote };
}
