import { randomUUID, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { z } from 'zod';
import { verifyDeviceAuth } from '../../server/gateway/device-identity';
import { ChatEngine } from './chat';
import { PairingStore } from './pairing';
import {
  BROWSER_CLIENT_IDS,
  canonicalSessionKey,
  CLIENT_IDS,
  CLIENT_MODES,
  EVENTS,
  MAX_BUFFERED_BYTES,
  MAX_PAYLOAD_BYTES,
  MAX_PREAUTH_PAYLOAD_BYTES,
  METHOD_SCOPE,
  METHODS,
  PROTOCOL,
  res,
  resError,
  SCOPES,
  SERVER_VERSION,
  SIGNATURE_SKEW_MS,
  type ErrorShape,
} from './protocol';

export interface DevGatewayOptions {
  port: number;
  host: string;
  token: string;
  stateDir?: string;
  startupMs: number;
  handshakeTimeoutMs: number;
  tickIntervalMs: number;
  pingIntervalMs: number;
  wordDelayMs: number;
  trustedProxies: string[];
  allowedOrigins: string[];
  log: (line: string) => void;
}

const ConnectParams = z.object({
  minProtocol: z.number().int(),
  maxProtocol: z.number().int(),
  client: z.object({
    id: z.string(),
    version: z.string().optional(),
    platform: z.string().optional(),
    mode: z.string(),
    deviceFamily: z.string().optional(),
  }),
  role: z.string().optional(),
  scopes: z.array(z.string()).optional(),
  caps: z.array(z.string()).optional(),
  auth: z
    .object({
      token: z.string().optional(),
      password: z.string().optional(),
      deviceToken: z.string().optional(),
    })
    .optional(),
  device: z
    .object({
      id: z.string(),
      publicKey: z.string(),
      signature: z.string(),
      signedAt: z.number(),
      nonce: z.string(),
    })
    .optional(),
});
type Connect = z.infer<typeof ConnectParams>;

const ReqFrame = z.object({
  type: z.literal('req'),
  id: z.string().min(1),
  method: z.string().min(1),
  params: z.unknown().optional(),
});

interface Conn {
  ws: WebSocket;
  id: string;
  nonce: string;
  local: boolean;
  origin: string | undefined;
  authed: boolean;
  scopes: Set<string>;
  sessionScoped: boolean;
  subscriptions: Set<string>;
  seq: number;
  alive: boolean;
  handshakeTimer?: NodeJS.Timeout;
}

const FORWARDED = ['x-forwarded-for', 'forwarded', 'x-real-ip', 'x-forwarded-host', 'x-forwarded-proto'];
const isLoopback = (addr: string | undefined) => !!addr && /^(127\.|::1$|::ffff:127\.)/.test(addr);
const sameSecret = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

export function startDevGateway(o: DevGatewayOptions) {
  const startedAt = Date.now();
  const bootId = randomUUID();
  const pairing = new PairingStore(o.stateDir);
  const conns = new Set<Conn>();
  const starting = () => Date.now() - startedAt < o.startupMs;

  const sendEvent = (c: Conn, event: string, payload: unknown) => {
    if (c.ws.readyState === c.ws.OPEN)
      c.ws.send(JSON.stringify({ type: 'event', event, payload, seq: ++c.seq }));
  };
  const chat = new ChatEngine((sessionKey, event, payload) => {
    for (const c of conns) {
      if (!c.authed || !(c.scopes.has('operator.read') || c.scopes.has('operator.admin'))) continue;
      if (c.sessionScoped && !c.subscriptions.has(sessionKey)) continue;
      sendEvent(c, event, payload);
    }
  }, o.wordDelayMs);

  const server = http.createServer((req, response) => {
    const json = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.url === '/healthz') return json(200, { ok: true, status: 'live' });
    if (req.url === '/readyz') return starting() ? json(503, { ready: false }) : json(200, { ready: true });
    response
      .writeHead(200, { 'content-type': 'text/html' })
      .end('<!doctype html><title>OpenClaw (Claws dev gateway)</title>');
  });

  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: MAX_PAYLOAD_BYTES,
  });
  server.on('upgrade', (req, socket, head) => {
    const peer = req.socket.remoteAddress;
    const forwarded = FORWARDED.some((h) => req.headers[h] !== undefined);
    const trusted = o.trustedProxies.some((p) => peer === p || peer === `::ffff:${p}`);
    if (forwarded && !trusted) {
      const body = JSON.stringify({
        error: {
          message:
            'Proxy client attribution is required: the request carries forwarding headers from an untrusted proxy',
          type: 'proxy_attribution_required',
        },
      });
      socket.end(
        `HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      return;
    }
    const origin = typeof req.headers.origin === 'string' ? req.headers.origin : undefined;
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, isLoopback(peer) && !forwarded, origin));
  });

  function onConnection(ws: WebSocket, local: boolean, origin: string | undefined) {
    const c: Conn = {
      ws,
      id: randomUUID(),
      nonce: randomUUID(),
      local,
      origin,
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
      o.log(`conn ${c.id} cause=handshake-timeout`);
      ws.close(1000);
    }, o.handshakeTimeoutMs);
    ws.send(
      JSON.stringify({
        type: 'event',
        event: 'connect.challenge',
        payload: { nonce: c.nonce, ts: Date.now(), capabilities: ['model-catalog-snapshot'] },
      }),
    );
    ws.on('message', (data, isBinary) => onMessage(c, data, isBinary));
  }

  function refuse(c: Conn, id: string, error: ErrorShape, closeCode: number, reason = error.message) {
    c.ws.send(resError(id, error));
    c.ws.close(closeCode, reason.slice(0, 120));
  }

  function onMessage(c: Conn, data: RawData, _isBinary: boolean) {
    const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer).byteLength;
    if (!c.authed && size > MAX_PREAUTH_PAYLOAD_BYTES) return c.ws.close(1009);
    let frame: unknown;
    try {
      frame = JSON.parse(data.toString());
    } catch {
      if (c.authed) return; // the gateway ignores unparseable frames after auth
      return refuse(
        c,
        'invalid',
        { code: 'INVALID_REQUEST', message: 'invalid handshake: first request must be connect' },
        1008,
      );
    }
    const req = ReqFrame.safeParse(frame);
    if (!c.authed) {
      if (!req.success || req.data.method !== 'connect')
        return refuse(
          c,
          req.success ? req.data.id : 'invalid',
          { code: 'INVALID_REQUEST', message: 'invalid handshake: first request must be connect' },
          1008,
        );
      return handleConnect(c, req.data.id, req.data.params);
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
    handleRequest(c, req.data.id, req.data.method, req.data.params);
  }

  function handleConnect(c: Conn, id: string, raw: unknown) {
    if (starting())
      return refuse(
        c,
        id,
        {
          code: 'UNAVAILABLE',
          message: 'gateway starting; retry shortly',
          retryable: true,
          retryAfterMs: 500,
          details: { reason: 'startup-sidecars' },
        },
        1013,
        'gateway starting',
      );
    const parsed = ConnectParams.safeParse(raw);
    if (!parsed.success)
      return refuse(
        c,
        id,
        { code: 'INVALID_REQUEST', message: `invalid connect params: ${parsed.error.issues[0]?.message}` },
        1008,
      );
    const p: Connect = parsed.data;
    if (p.minProtocol > PROTOCOL || p.maxProtocol < PROTOCOL)
      return refuse(
        c,
        id,
        {
          code: 'INVALID_REQUEST',
          message: 'protocol mismatch',
          details: { code: 'PROTOCOL_MISMATCH', expectedProtocol: PROTOCOL },
        },
        1002,
      );
    const role = p.role ?? 'operator';
    if (role !== 'operator' && role !== 'node')
      return refuse(c, id, { code: 'INVALID_REQUEST', message: 'invalid role' }, 1008);
    if (!CLIENT_IDS.has(p.client.id) || !CLIENT_MODES.has(p.client.mode))
      return refuse(c, id, { code: 'INVALID_REQUEST', message: 'invalid connect params: client' }, 1008);
    const requested = (p.scopes ?? []).filter((s) => SCOPES.has(s));

    // Origin: checked for any client that sends one, and always for browser client ids.
    if (c.origin !== undefined || BROWSER_CLIENT_IDS.has(p.client.id)) {
      const allowed =
        c.origin !== undefined &&
        (o.allowedOrigins.includes('*') ||
          o.allowedOrigins.includes(c.origin) ||
          (c.local && /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.test(c.origin)));
      if (!allowed)
        return refuse(
          c,
          id,
          {
            code: 'INVALID_REQUEST',
            message:
              'origin not allowed (open the Control UI from the gateway host or allow it in gateway.controlUi.allowedOrigins)',
            details: {
              code: 'CONTROL_UI_ORIGIN_NOT_ALLOWED',
              reason: c.origin ? 'origin not allowed' : 'origin missing or invalid',
            },
          },
          1008,
        );
    }

    const secret = p.auth?.token ?? p.auth?.password;
    const pairedByToken = p.auth?.deviceToken && p.device ? pairing.paired(p.device.id) : undefined;
    if (secret !== undefined && !sameSecret(secret, o.token))
      return refuse(
        c,
        id,
        {
          code: 'INVALID_REQUEST',
          message: 'unauthorized: gateway token mismatch (provide gateway auth token)',
          details: {
            code: 'AUTH_TOKEN_MISMATCH',
            authReason: 'token_mismatch',
            canRetryWithDeviceToken: false,
            recommendedNextStep: 'update_auth_credentials',
          },
        },
        1008,
      );
    if (secret === undefined && !(pairedByToken && p.auth?.deviceToken === pairedByToken.deviceToken))
      return refuse(
        c,
        id,
        {
          code: 'NOT_PAIRED',
          message: 'device identity required',
          details: { code: 'DEVICE_IDENTITY_REQUIRED' },
        },
        1008,
      );

    const localException = c.local && c.origin === undefined;
    let scopes: string[] = [];
    let deviceToken: string | undefined;
    if (p.device) {
      const d = p.device;
      if (d.nonce !== c.nonce)
        return refuse(
          c,
          id,
          {
            code: 'INVALID_REQUEST',
            message: 'device nonce mismatch',
            details: { code: 'DEVICE_AUTH_NONCE_MISMATCH' },
          },
          1008,
        );
      if (Math.abs(Date.now() - d.signedAt) > SIGNATURE_SKEW_MS)
        return refuse(
          c,
          id,
          {
            code: 'INVALID_REQUEST',
            message: 'device signature expired',
            details: { code: 'DEVICE_AUTH_SIGNATURE_EXPIRED' },
          },
          1008,
        );
      const valid = verifyDeviceAuth(d, {
        clientId: p.client.id,
        clientMode: p.client.mode,
        role,
        scopes: p.scopes ?? [],
        token: p.auth?.token ?? p.auth?.deviceToken ?? '',
        platform: p.client.platform,
        deviceFamily: p.client.deviceFamily,
      });
      if (!valid)
        return refuse(
          c,
          id,
          {
            code: 'INVALID_REQUEST',
            message: 'device signature invalid',
            details: { code: 'DEVICE_AUTH_SIGNATURE_INVALID' },
          },
          1008,
        );
      const known = pairing.paired(d.id);
      const backend = p.client.id === 'gateway-client' && p.client.mode === 'backend';
      if (known && requested.every((s) => known.scopes.includes(s))) {
        scopes = requested;
        deviceToken = known.deviceToken;
      } else if (localException && backend) {
        scopes = requested; // local backend: no pairing record
      } else if (localException) {
        const device = pairing.autoPair({
          deviceId: d.id,
          publicKey: d.publicKey,
          requestedRole: role,
          requestedScopes: requested,
          clientId: p.client.id,
          platform: p.client.platform ?? '',
        });
        scopes = requested;
        deviceToken = device.deviceToken;
      } else {
        const r = pairing.request({
          deviceId: d.id,
          publicKey: d.publicKey,
          requestedRole: role,
          requestedScopes: requested,
          clientId: p.client.id,
          platform: p.client.platform ?? '',
        });
        for (const other of conns)
          if (other.authed && other.scopes.has('operator.pairing'))
            sendEvent(other, 'device.pair.requested', { requestId: r.requestId, deviceId: d.id });
        return refuse(
          c,
          id,
          {
            code: 'NOT_PAIRED',
            message: 'pairing required: device is not approved yet',
            details: {
              code: 'PAIRING_REQUIRED',
              reason: known ? 'scope-upgrade' : 'not-paired',
              requestId: r.requestId,
              deviceId: d.id,
              requestedRole: role,
              requestedScopes: requested,
            },
          },
          1008,
        );
      }
    } else {
      const backend =
        (p.client.id === 'gateway-client' && p.client.mode === 'backend') ||
        (p.client.id === 'cli' && p.client.mode === 'cli');
      scopes = localException && backend ? requested : [];
    }

    clearTimeout(c.handshakeTimer);
    c.authed = true;
    c.scopes = new Set(scopes);
    c.sessionScoped = (p.caps ?? []).includes('session-scoped-events');
    c.ws.send(
      res(id, {
        type: 'hello-ok',
        protocol: PROTOCOL,
        server: {
          version: SERVER_VERSION,
          buildId: `${SERVER_VERSION}-dev`,
          bootId,
          controlUiBuildSource: 'none',
          connId: c.id,
        },
        features: { methods: [...METHODS], events: EVENTS, capabilities: ['session-scoped-chat-metadata'] },
        snapshot: {
          presence: [],
          health: { ok: true },
          stateVersion: { presence: 1, health: 1 },
          uptimeMs: Date.now() - startedAt,
          suspension: { phase: 'accepting' },
          sessionDefaults: {
            defaultAgentId: 'main',
            modelConfigured: true,
            mainKey: 'main',
            mainSessionKey: 'agent:main:main',
            scope: 'per-sender',
            ownership: 'sole',
            selectionRequired: false,
          },
        },
        auth: {
          method: 'token',
          role,
          scopes,
          recoveryScope: randomUUID().replace(/-/g, ''),
          ...(deviceToken ? { deviceToken, issuedAtMs: Date.now(), recoveryMigrationAllowed: true } : {}),
        },
        policy: {
          maxPayload: MAX_PAYLOAD_BYTES,
          maxBufferedBytes: MAX_BUFFERED_BYTES,
          tickIntervalMs: o.tickIntervalMs,
          attachments: { maxBytes: 19_464_192, maxImageBytes: 6_291_456 },
          allowedSessionVisibilities: ['shared', 'read-only', 'suggest', 'draft'],
          hasMultipleSessionSharingIdentities: false,
        },
      }),
    );
    sendEvent(c, 'health', { ok: true, ts: Date.now() });
  }

  function handleRequest(c: Conn, id: string, method: string, params: unknown) {
    const need = METHOD_SCOPE[method];
    if (!need)
      return c.ws.send(resError(id, { code: 'INVALID_REQUEST', message: `unknown method: ${method}` }));
    if (!c.scopes.has(need) && !c.scopes.has('operator.admin'))
      return c.ws.send(resError(id, { code: 'FORBIDDEN', message: `missing scope: ${need}` }));
    const p = (typeof params === 'object' && params !== null ? params : {}) as Record<string, unknown>;
    const invalid = (what: string) =>
      c.ws.send(resError(id, { code: 'INVALID_REQUEST', message: `invalid ${method} params: ${what}` }));
    switch (method) {
      case 'chat.send': {
        if (typeof p.idempotencyKey !== 'string' || !p.idempotencyKey)
          return invalid("must have required property 'idempotencyKey'");
        if (typeof p.sessionKey !== 'string') return invalid("must have required property 'sessionKey'");
        if (typeof p.message !== 'string') return invalid("must have required property 'message'");
        return c.ws.send(res(id, chat.send(p.sessionKey, p.message, p.idempotencyKey)));
      }
      case 'chat.history': {
        if (typeof p.sessionKey !== 'string') return invalid("must have required property 'sessionKey'");
        return c.ws.send(
          res(id, chat.history(p.sessionKey, typeof p.limit === 'number' ? p.limit : undefined)),
        );
      }
      case 'chat.abort': {
        if (typeof p.sessionKey !== 'string') return invalid("must have required property 'sessionKey'");
        const runIds = chat.abort(p.sessionKey, typeof p.runId === 'string' ? p.runId : undefined);
        return c.ws.send(res(id, { ok: true, aborted: runIds.length > 0, runIds }));
      }
      case 'sessions.messages.subscribe':
      case 'sessions.messages.unsubscribe': {
        if (typeof p.key !== 'string') return invalid("must have required property 'key'");
        const key = canonicalSessionKey(p.key);
        if (method.endsWith('.subscribe')) c.subscriptions.add(key);
        else c.subscriptions.delete(key);
        return c.ws.send(res(id, { subscribed: method.endsWith('.subscribe'), key }));
      }
      case 'device.pair.list':
        return c.ws.send(res(id, pairing.list()));
      case 'device.pair.approve': {
        if (typeof p.requestId !== 'string') return invalid("must have required property 'requestId'");
        const device = pairing.approve(p.requestId);
        if (!device)
          return c.ws.send(resError(id, { code: 'APPROVAL_NOT_FOUND', message: 'unknown pairing request' }));
        for (const other of conns)
          if (other.authed && other !== c)
            sendEvent(other, 'device.pair.resolved', {
              requestId: p.requestId,
              deviceId: device.deviceId,
              decision: 'approved',
            });
        return c.ws.send(
          res(id, { requestId: p.requestId, deviceId: device.deviceId, decision: 'approved' }),
        );
      }
      case 'health':
        return c.ws.send(res(id, { ok: true, uptimeMs: Date.now() - startedAt }));
    }
  }

  const tick = setInterval(() => {
    for (const c of conns) if (c.authed) sendEvent(c, 'tick', { ts: Date.now() });
  }, o.tickIntervalMs);
  const ping = setInterval(() => {
    for (const c of conns) {
      if (!c.alive) {
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }, o.pingIntervalMs);

  server.listen(o.port, o.host);

  return {
    server,
    listening: new Promise<void>((resolve, reject) => {
      server.once('listening', () => resolve());
      server.once('error', reject);
    }),
    /** Graceful stop: `shutdown` event, then close 1012 to every client. */
    async stop() {
      clearInterval(tick);
      clearInterval(ping);
      chat.stop();
      for (const c of conns) {
        sendEvent(c, 'shutdown', { reason: 'gateway stopping' });
        c.ws.close(1012, 'service restart');
      }
      await new Promise((r) => setTimeout(r, 50));
      for (const c of conns) c.ws.terminate();
      await new Promise((r) => server.close(r));
    },
  };
}
