import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { WebSocketServer } from 'ws';
import { ChatEngine } from './chat';
import { ChatHistoryFile } from './chat-store';
import { refuse, sendEvent, type Conn } from './connection';
import { grantFor, pairingRequired } from './grant';
import { checkConnect } from './handshake-checks';
import { helloOk } from './hello';
import { healthSnapshot, selfPresence } from './host-info';
import { attributeUpgrade } from './ingress';
import { callMethod } from './methods';
import { PairingStore } from './pairing';
import { MAX_PAYLOAD_BYTES, res } from './protocol';
import { serveSocket } from './socket-loop';

/**
 * The dev OpenClaw gateway: one HTTP server for the health endpoints and the WebSocket upgrade.
 * Its parts: who connects (ingress.ts), the socket loop (socket-loop.ts), the connect checks
 * (handshake-checks.ts) and the scopes they lead to (grant.ts), hello-ok (hello.ts), the method
 * table (methods.ts). This file wires them to the gateway's state and timers.
 */

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
  /** Always written: how each upgrade was attributed (local, or which client behind which proxy). */
  audit: (line: string) => void;
}

export function startDevGateway(o: DevGatewayOptions) {
  const startedAt = Date.now();
  const bootId = randomUUID();
  const pairing = new PairingStore(o.stateDir);
  const conns = new Set<Conn>();
  const starting = () => Date.now() - startedAt < o.startupMs;

  const chat = new ChatEngine(
    (sessionKey, event, payload) => {
      for (const c of conns) {
        if (!c.authed || !(c.scopes.has('operator.read') || c.scopes.has('operator.admin'))) continue;
        if (c.sessionScoped && !c.subscriptions.has(sessionKey)) continue;
        sendEvent(c, event, payload);
      }
    },
    o.wordDelayMs,
    o.stateDir ? new ChatHistoryFile(o.stateDir) : undefined,
  );

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
  const handlers = { handshakeTimeoutMs: o.handshakeTimeoutMs, log: o.log, connect, request };
  server.on('upgrade', (req, socket, head) => {
    const peer = req.socket.remoteAddress;
    const attribution = attributeUpgrade(peer, req.headers, o.trustedProxies);
    if (!attribution.ok) {
      o.audit(`upgrade from ${peer} refused: proxy_attribution_required`);
      socket.end(attribution.response);
      return;
    }
    o.audit(`upgrade from ${peer} attributed ${attribution.kind} client=${attribution.clientIp}`);
    wss.handleUpgrade(req, socket, head, (ws) => serveSocket(ws, attribution, conns, handlers));
  });

  function connect(c: Conn, id: string, params: unknown) {
    const verdict = checkConnect(params, {
      starting: starting(),
      conn: { nonce: c.nonce, local: c.local, origin: c.origin },
      gateway: { token: o.token, allowedOrigins: o.allowedOrigins },
      paired: (deviceId) => pairing.paired(deviceId),
      now: Date.now(),
    });
    if (!verdict.ok) {
      o.log(`conn ${c.id} connect refused by ${verdict.check}`);
      const { error, closeCode, reason } = verdict.refusal;
      return refuse(c, id, error, closeCode, reason);
    }
    const h = verdict.handshake;
    const grant = grantFor(h);
    if (grant.kind === 'pairing-required') {
      const r = pairing.request(grant.ask);
      for (const other of conns)
        if (other.authed && other.scopes.has('operator.pairing'))
          sendEvent(other, 'device.pair.requested', { requestId: r.requestId, deviceId: grant.ask.deviceId });
      const { error, closeCode } = pairingRequired(grant.ask, r.requestId, grant.reason);
      return refuse(c, id, error, closeCode);
    }
    const { scopes } = grant;
    // The gateway's silent local auto-pairing issues the device its token on the spot.
    const deviceToken =
      grant.kind === 'auto-pair' ? pairing.autoPair(grant.ask).deviceToken : grant.deviceToken;

    clearTimeout(c.handshakeTimer);
    c.authed = true;
    c.scopes = new Set(scopes);
    c.sessionScoped = (h.params.caps ?? []).includes('session-scoped-events');
    c.ws.send(
      res(
        id,
        helloOk({
          bootId,
          connId: c.id,
          uptimeMs: Date.now() - startedAt,
          role: h.role,
          scopes,
          deviceToken,
          tickIntervalMs: o.tickIntervalMs,
          now: Date.now(),
          port: o.port,
          stateDir: o.stateDir,
        }),
      ),
    );
    // As the real gateway: health right after hello-ok, and presence to everyone when one joins.
    sendEvent(c, 'health', healthSnapshot(o.stateDir));
    for (const other of conns) if (other.authed) sendEvent(other, 'presence', { presence: [selfPresence()] });
  }

  function request(c: Conn, id: string, method: string, params: unknown) {
    c.ws.send(
      callMethod(id, method, params, { conn: c, conns, chat, pairing, uptimeMs: Date.now() - startedAt }),
    );
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
