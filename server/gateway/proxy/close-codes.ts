/**
 * Close codes the chat proxy sends to the browser. Application codes (4000–4999) say why, so the
 * dashboard can put it in words; 1005/1006 are never passed on.
 */
export const CLOSE = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  FRAME_TOO_LARGE: 1009,
  PROTOCOL_ERROR: 4400,
  UNAUTHENTICATED: 4401,
  FORBIDDEN: 4403,
  NOT_FOUND: 4404,
  NOT_ACTIVE: 4409,
  /** Too many chat sockets open for this user (QUOTA_CHAT_SOCKETS_PER_USER). */
  TOO_MANY: 4429,
  UPSTREAM_CLOSED: 4500,
  UPSTREAM_REFUSED: 4502,
  UPSTREAM_UNAVAILABLE: 4503,
} as const;

export type CloseCode = (typeof CLOSE)[keyof typeof CLOSE];

/**
 * What the browser gets when the gateway side closes with `code`. Never the gateway's own reason:
 * those are its words about the control plane's connection (and may name its host); the proxy
 * logs them.
 */
export function browserCloseFor(upstreamCode: number): { code: number; reason: string } {
  if (upstreamCode === 1012 || upstreamCode === 1013 || upstreamCode === 1001)
    return { code: CLOSE.UPSTREAM_UNAVAILABLE, reason: 'gateway restarting; retry-after-ms=1000' };
  if (upstreamCode === 1009)
    return { code: CLOSE.FRAME_TOO_LARGE, reason: 'frame too large for the gateway' };
  if (upstreamCode === 1000) return { code: CLOSE.UPSTREAM_CLOSED, reason: 'gateway closed the connection' };
  return { code: CLOSE.UPSTREAM_CLOSED, reason: `gateway closed the connection (${upstreamCode})` };
}
