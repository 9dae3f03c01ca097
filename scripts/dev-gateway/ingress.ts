import type http from 'node:http';

/**
 * Who is on the other end of a WebSocket upgrade (OPENCLAW.md §3.5): forwarding headers from a
 * proxy the gateway does not trust are refused with HTTP 403 `proxy_attribution_required`; a
 * connection counts as local only when it comes straight from loopback without them.
 */

export type Attribution =
  | { ok: true; local: boolean; origin: string | undefined }
  | { ok: false; /** The raw HTTP response to end the socket with. */ response: string };

const FORWARDED = ['x-forwarded-for', 'forwarded', 'x-real-ip', 'x-forwarded-host', 'x-forwarded-proto'];
const isLoopback = (addr: string | undefined) => !!addr && /^(127\.|::1$|::ffff:127\.)/.test(addr);

export function attributeUpgrade(
  peer: string | undefined,
  headers: http.IncomingHttpHeaders,
  trustedProxies: readonly string[],
): Attribution {
  const forwarded = FORWARDED.some((h) => headers[h] !== undefined);
  const trusted = trustedProxies.some((p) => peer === p || peer === `::ffff:${p}`);
  if (forwarded && !trusted) {
    const body = JSON.stringify({
      error: {
        message:
          'Proxy client attribution is required: the request carries forwarding headers from an untrusted proxy',
        type: 'proxy_attribution_required',
      },
    });
    return {
      ok: false,
      response: `HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    };
  }
  const origin = typeof headers.origin === 'string' ? headers.origin : undefined;
  return { ok: true, local: isLoopback(peer) && !forwarded, origin };
}
