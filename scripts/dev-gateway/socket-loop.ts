import { randomUUID } from 'node:crypto';
import type { RawData, WebSocket } from 'ws';
import { z } from 'zod';
import { refuse, type Conn } from './connection';
import { MAX_PREAUTH_PAYLOAD_BYTES, resError } from './protocol';

/**
 * One client socket from upgrade to close (OPENCLAW.md §1.1–1.3): the challenge first, a
 * handshake timeout, the pre-auth frame limit, `connect` as the only first request, and after auth
 * the framing rules (unparseable JSON ignored, a malformed frame answered and the socket kept).
 * What a connect or a request means is the caller's.
 */

const ReqFrame = z.object({
  type: z.literal('req'),
  id: z.string().min(1),
  method: z.string().min(1),
  params: z.unknown().optional(),
});

export interface SocketHandlers {
  handshakeTimeoutMs: number;
  log: (line: string) => void;
  /** A `connect` request before auth; the handler authenticates the connection or refuses it. */
  connect(c: Conn, id: string, params: unknown): void;
  /** Any well-formed request after auth. */
  request(c: Conn, id: string, method: string, params: unknown): void;
}

const FIRST_REQUEST_MUST_BE_CONNECT = {
  code: 'INVALID_REQUEST',
  message: 'invalid handshake: first request must be connect',
} as const;

export function serveSocket(
  ws: WebSocket,
  attribution: { local: boolean; origin: string | undefined },
  conns: Set<Conn>,
  h: SocketHandlers,
): void {
  const c: Conn = {
    ws,
    id: randomUUID(),
    nonce: randomUUID(),
    local: attribution.local,
    origin: attribution.origin,
    authed: false,
    scopes: new Set(),
    sessionScoped: false,
    subscriptions: new Set(),
    seq: 0,
    alive: true,
  };
  conns.add(c);
  ws.on('pong', () => (c.alive = true));
  ws.on('close', () => {
    clearTimeout(c.handshakeTimer);
    conns.delete(c);
  });
  ws.on('error', () => {});
  c.handshakeTimer = setTimeout(() => {
    h.log(`conn ${c.id} cause=handshake-timeout`);
    ws.close(1000);
  }, h.handshakeTimeoutMs);
  ws.send(
    JSON.stringify({
      type: 'event',
      event: 'connect.challenge',
      payload: { nonce: c.nonce, ts: Date.now(), capabilities: ['model-catalog-snapshot'] },
    }),
  );
  ws.on('message', (data) => onMessage(c, data, h));
}

function onMessage(c: Conn, data: RawData, h: SocketHandlers): void {
  const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer).byteLength;
  if (!c.authed && size > MAX_PREAUTH_PAYLOAD_BYTES) return c.ws.close(1009);
  let frame: unknown;
  try {
    frame = JSON.parse(data.toString());
  } catch {
    if (c.authed) return; // the gateway ignores unparseable frames after auth
    return refuse(c, 'invalid', FIRST_REQUEST_MUST_BE_CONNECT, 1008);
  }
  const req = ReqFrame.safeParse(frame);
  if (!c.authed) {
    if (!req.success || req.data.method !== 'connect')
      return refuse(c, req.success ? req.data.id : 'invalid', FIRST_REQUEST_MUST_BE_CONNECT, 1008);
    return h.connect(c, req.data.id, req.data.params);
  }
  if (!req.success) {
    c.ws.send(
      resError('invalid', {
        code: 'INVALID_REQUEST',
        message: `invalid request frame: ${req.error.issues[0]?.message ?? 'malformed'}`,
      }),
    );
    return;
  }
  h.request(c, req.data.id, req.data.method, req.data.params);
}
