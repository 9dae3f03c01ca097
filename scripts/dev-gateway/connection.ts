import type { WebSocket } from 'ws';
import { resError, type ErrorShape } from './protocol';

/** One client socket of the dev gateway and what the gateway knows about it. */
export interface Conn {
  ws: WebSocket;
  id: string;
  /** The connect.challenge nonce a device must sign. */
  nonce: string;
  /** Direct from loopback, without forwarding headers. */
  local: boolean;
  origin: string | undefined;
  authed: boolean;
  scopes: Set<string>;
  /** Advertised `session-scoped-events`: chat events only for subscribed sessions. */
  sessionScoped: boolean;
  subscriptions: Set<string>;
  /** Event sequence, per connection as in the real gateway. */
  seq: number;
  alive: boolean;
  handshakeTimer?: NodeJS.Timeout;
}

export function sendEvent(c: Conn, event: string, payload: unknown): void {
  if (c.ws.readyState === c.ws.OPEN)
    c.ws.send(JSON.stringify({ type: 'event', event, payload, seq: ++c.seq }));
}

/** An error response, then the close code the real gateway gives with it. */
export function refuse(
  c: Conn,
  id: string,
  error: ErrorShape,
  closeCode: number,
  reason = error.message,
): void {
  c.ws.send(resError(id, error));
  c.ws.close(closeCode, reason.slice(0, 120));
}
