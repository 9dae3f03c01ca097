/**
 * Which gateway frames the proxy passes to the browser after the handshake. Responses, to the
 * requests the browser was allowed to make (allowlist.ts), pass. Events pass only when a chat
 * client needs them: the gateway also broadcasts `presence` (the Mini's hostname, IP and kernel
 * version, and every other client's), `health` (the claw's state-database path, plugin and
 * event-loop details), pairing and approval requests, node and update notices, none of which a
 * member is to see or can act on through Claws.
 */
export const RELAYED_EVENTS: ReadonlySet<string> = new Set([
  'chat', // replies: delta, final, aborted, error
  'agent', // the run's stream (tool use, lifecycle) behind those replies
  'chat.metadata.changed',
  'session.message',
  'session.tool',
  'sessions.changed',
  'tick', // the gateway's heartbeat (policy.tickIntervalMs): a client notices a silent link by it
  'shutdown', // the gateway is going away: reconnect
]);

export type FrameVerdict = { relay: true } | { relay: false; why: string };

/**
 * Reads just enough of a frame to decide. The gateway writes its envelopes with JSON.stringify, so
 * `{"type":"event","event":"<name>"` or `{"type":"res"` lead every frame it sends and the
 * decision costs a prefix look, not a parse of a multi-megabyte history; anything else is parsed.
 */
export function checkGatewayFrame(data: Buffer | string): FrameVerdict {
  const head = typeof data === 'string' ? data.slice(0, 240) : data.subarray(0, 240).toString('utf8');
  const event = /^\{"type":"event","event":"([^"\\]{1,200})"/.exec(head);
  if (event) return verdictForEvent(event[1]!);
  if (head.startsWith('{"type":"res",')) return { relay: true };
  let frame: unknown;
  try {
    frame = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
  } catch {
    return { relay: false, why: 'not JSON' };
  }
  const f = frame && typeof frame === 'object' ? (frame as { type?: unknown; event?: unknown }) : {};
  if (f.type === 'res') return { relay: true };
  if (f.type === 'event' && typeof f.event === 'string') return verdictForEvent(f.event);
  return { relay: false, why: 'not a response or an event' };
}

function verdictForEvent(name: string): FrameVerdict {
  return RELAYED_EVENTS.has(name) ? { relay: true } : { relay: false, why: `event ${name.slice(0, 60)}` };
}
