import type { ChatEngine } from './chat';
import { sendEvent, type Conn } from './connection';
import type { PairingStore } from './pairing';
import { canonicalSessionKey, res, resError, type ErrorShape, type METHODS } from './protocol';

/**
 * The RPCs the dev gateway answers after hello-ok: method name → the scope it needs
 * (operator.admin satisfies any) and its handler. Unknown methods and missing scopes get the
 * real gateway's errors; the socket stays open either way.
 */

/** What a handler may use: the calling connection, every connection, and the gateway's state. */
export interface MethodContext {
  conn: Conn;
  conns: ReadonlySet<Conn>;
  chat: ChatEngine;
  pairing: PairingStore;
  uptimeMs: number;
}

interface MethodCall extends MethodContext {
  method: string;
  params: Record<string, unknown>;
}

type Reply = { ok: true; payload: unknown } | { ok: false; error: ErrorShape };

interface Method {
  scope: string;
  handle(call: MethodCall): Reply;
}

const ok = (payload: unknown): Reply => ({ ok: true, payload });
const fail = (error: ErrorShape): Reply => ({ ok: false, error });
/** A params error, worded as the gateway's schema validation words it. */
const missing = (call: MethodCall, property: string) =>
  fail({
    code: 'INVALID_REQUEST',
    message: `invalid ${call.method} params: must have required property '${property}'`,
  });

const subscription: Method = {
  scope: 'operator.read',
  handle(call) {
    const { key: raw } = call.params;
    if (typeof raw !== 'string') return missing(call, 'key');
    const key = canonicalSessionKey(raw);
    const subscribe = call.method.endsWith('.subscribe');
    if (subscribe) call.conn.subscriptions.add(key);
    else call.conn.subscriptions.delete(key);
    return ok({ subscribed: subscribe, key });
  },
};

export const METHOD_TABLE = {
  'chat.send': {
    scope: 'operator.write',
    handle(call) {
      const p = call.params;
      if (typeof p.idempotencyKey !== 'string' || !p.idempotencyKey) return missing(call, 'idempotencyKey');
      if (typeof p.sessionKey !== 'string') return missing(call, 'sessionKey');
      if (typeof p.message !== 'string') return missing(call, 'message');
      return ok(call.chat.send(p.sessionKey, p.message, p.idempotencyKey));
    },
  },
  'chat.history': {
    scope: 'operator.read',
    handle(call) {
      const p = call.params;
      if (typeof p.sessionKey !== 'string') return missing(call, 'sessionKey');
      return ok(call.chat.history(p.sessionKey, typeof p.limit === 'number' ? p.limit : undefined));
    },
  },
  'chat.abort': {
    scope: 'operator.write',
    handle(call) {
      const p = call.params;
      if (typeof p.sessionKey !== 'string') return missing(call, 'sessionKey');
      const runIds = call.chat.abort(p.sessionKey, typeof p.runId === 'string' ? p.runId : undefined);
      return ok({ ok: true, aborted: runIds.length > 0, runIds });
    },
  },
  'sessions.messages.subscribe': subscription,
  'sessions.messages.unsubscribe': subscription,
  'device.pair.list': {
    scope: 'operator.pairing',
    handle: (call) => ok(call.pairing.list()),
  },
  'device.pair.approve': {
    scope: 'operator.pairing',
    handle(call) {
      const { requestId } = call.params;
      if (typeof requestId !== 'string') return missing(call, 'requestId');
      const device = call.pairing.approve(requestId);
      if (!device) return fail({ code: 'APPROVAL_NOT_FOUND', message: 'unknown pairing request' });
      for (const other of call.conns)
        if (other.authed && other !== call.conn)
          sendEvent(other, 'device.pair.resolved', {
            requestId,
            deviceId: device.deviceId,
            decision: 'approved',
          });
      return ok({ requestId, deviceId: device.deviceId, decision: 'approved' });
    },
  },
  health: {
    scope: 'operator.read',
    handle: (call) => ok({ ok: true, uptimeMs: call.uptimeMs }),
  },
} satisfies Record<(typeof METHODS)[number], Method>;

/** Answers one request frame of an authenticated connection. */
export function callMethod(id: string, name: string, rawParams: unknown, ctx: MethodContext): string {
  const method: Method | undefined = Object.hasOwn(METHOD_TABLE, name)
    ? METHOD_TABLE[name as keyof typeof METHOD_TABLE]
    : undefined;
  if (!method) return resError(id, { code: 'INVALID_REQUEST', message: `unknown method: ${name}` });
  if (!ctx.conn.scopes.has(method.scope) && !ctx.conn.scopes.has('operator.admin'))
    return resError(id, { code: 'FORBIDDEN', message: `missing scope: ${method.scope}` });
  const params = (typeof rawParams === 'object' && rawParams !== null ? rawParams : {}) as Record<
    string,
    unknown
  >;
  const reply = method.handle({ ...ctx, method: name, params });
  return reply.ok ? res(id, reply.payload) : resError(id, reply.error);
}
