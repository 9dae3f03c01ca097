import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import type { Logger } from '../../server/log';
import {
  downstreamResponseHeaders,
  isTrustedForwarder,
  plainAddress,
  requestHost,
  upstreamRequestHeaders,
} from './edge-headers';

/**
 * The Mini's one way in: a host-routing reverse proxy that forwards `claw-<id>.<suffix>` to that
 * claw's gateway on 127.0.0.1:<port> (HTTP and WebSockets) and nothing else.
 *
 * - In tunnel mode cloudflared, on this Mini, sends every `*.<suffix>` here (one wildcard ingress
 *   rule, tunnel-config.ts); in direct mode the control plane dials the edge itself, over TLS, with
 *   the claw's hostname as SNI and Host. Either way the gateways stay on loopback.
 * - Routes are read from the agent's own records on every request (`routes.lookup`), so a claw the
 *   agent starts or stops is routable or gone at once: nothing restarts, and no other claw's
 *   connections are touched.
 * - An unknown Host is refused (404), a Host that differs from the TLS SNI too (421); there is no
 *   default route.
 * - A WebSocket upgrade is forwarded as the request head the client sent (headers rebuilt by
 *   edge-headers.ts) and then relayed byte for byte in both directions: the gateway's 101 and every
 *   frame, with nothing parsed or re-framed.
 * - The edge connects to gateways from 127.0.0.1, the one address their `gateway.trustedProxies`
 *   lists (so the forwarded client address it sends is believed, and a forwarded header from
 *   anywhere else is refused by the gateway).
 */

export interface EdgeRoute {
  clawId: string;
  port: number;
}

export interface EdgeOptions {
  host: string;
  port: number;
  /** Serve TLS with this key and certificate (direct mode); without it, plain HTTP (cloudflared on loopback). */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Peers whose forwarding headers are kept (cloudflared's address); everyone else's are replaced. */
  trustedForwarders: readonly string[];
  routes: { lookup(hostname: string): EdgeRoute | undefined };
  log: Logger;
}

/** The address gateways trust as their proxy: the edge's source address for every upstream connection. */
export const EDGE_SOURCE_ADDRESS = '127.0.0.1';

const UPSTREAM_CONNECT_TIMEOUT_MS = 5000;

export interface Edge {
  /** Resolves with the port it listens on (the configured one, or the one the OS chose for 0). */
  listen(): Promise<number>;
  /** Cuts every connection open to this claw's gateway (the claw is gone). Other claws are untouched. */
  dropClaw(clawId: string): void;
  /** Connections currently relayed, per claw. */
  connections(): Map<string, number>;
  close(): Promise<void>;
}

export function createEdge(opts: EdgeOptions): Edge {
  const open = new Map<string, Set<Duplex>>();
  const track = (clawId: string, ...sockets: Duplex[]) => {
    let set = open.get(clawId);
    if (!set) open.set(clawId, (set = new Set()));
    for (const s of sockets) {
      set.add(s);
      s.once('close', () => {
        set.delete(s);
        if (set.size === 0 && open.get(clawId) === set) open.delete(clawId);
      });
    }
  };

  const server: http.Server = opts.tls
    ? https.createServer({ key: opts.tls.key, cert: opts.tls.cert })
    : http.createServer();
  server.headersTimeout = 10_000;
  server.requestTimeout = 60_000;

  /** The claw a request is for, or the refusal to answer with. */
  function resolve(
    req: http.IncomingMessage,
  ): { ok: true; route: EdgeRoute; host: string } | { ok: false; status: number; text: string } {
    const host = requestHost(req.headers.host);
    if (!host) return { ok: false, status: 400, text: 'A Host header naming a claw is required' };
    const sni = (req.socket as Partial<tls.TLSSocket>).servername;
    if (opts.tls && typeof sni === 'string' && sni.toLowerCase() !== host)
      return { ok: false, status: 421, text: `This connection is for ${sni}, not ${host}` };
    const route = opts.routes.lookup(host);
    if (!route) return { ok: false, status: 404, text: `No claw is served as ${host} here` };
    return { ok: true, route, host };
  }

  const peerOf = (req: http.IncomingMessage) => plainAddress(req.socket.remoteAddress);

  server.on('request', (req, res) => {
    const target = resolve(req);
    if (!target.ok) {
      req.resume();
      res.writeHead(target.status, {
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': 'no-store',
      });
      res.end(`${target.text}\n`);
      return;
    }
    const peer = peerOf(req);
    const upstream = http.request({
      host: EDGE_SOURCE_ADDRESS,
      port: target.route.port,
      localAddress: EDGE_SOURCE_ADDRESS,
      method: req.method,
      path: req.url,
      headers: upstreamRequestHeaders(req.rawHeaders, peer, {
        trusted: isTrustedForwarder(peer, opts.trustedForwarders),
        upgrade: false,
      }),
      timeout: UPSTREAM_CONNECT_TIMEOUT_MS,
    });
    upstream.on('socket', (s) => track(target.route.clawId, s));
    upstream.on('response', (up) => {
      upstream.setTimeout(0);
      res.writeHead(up.statusCode ?? 502, up.statusMessage, downstreamResponseHeaders(up.rawHeaders));
      up.pipe(res);
    });
    upstream.on('timeout', () => upstream.destroy(new Error('upstream timeout')));
    upstream.on('error', (err) => {
      opts.log.debug('edge: gateway unreachable', { host: target.host, error: err.message });
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`The gateway for ${target.host} is not answering\n`);
      } else res.destroy();
    });
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });

  server.on('upgrade', (req: http.IncomingMessage, client: Duplex, head: Buffer) => {
    client.on('error', () => client.destroy());
    const target = resolve(req);
    if (!target.ok) {
      client.end(rawResponse(target.status, target.text));
      return;
    }
    const peer = peerOf(req);
    const headers = upstreamRequestHeaders(req.rawHeaders, peer, {
      trusted: isTrustedForwarder(peer, opts.trustedForwarders),
      upgrade: true,
    });
    const upstream = net.connect({
      host: EDGE_SOURCE_ADDRESS,
      port: target.route.port,
      localAddress: EDGE_SOURCE_ADDRESS,
    });
    track(target.route.clawId, client, upstream);
    const connectTimer = setTimeout(
      () => upstream.destroy(new Error('connect timeout')),
      UPSTREAM_CONNECT_TIMEOUT_MS,
    );
    let relaying = false;
    upstream.once('connect', () => {
      clearTimeout(connectTimer);
      relaying = true;
      for (const s of [client, upstream]) {
        if (s instanceof net.Socket) {
          s.setNoDelay(true);
          s.setKeepAlive(true, 30_000);
        }
      }
      upstream.write(requestHead(req, headers));
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', (err) => {
      clearTimeout(connectTimer);
      if (!relaying) {
        opts.log.debug('edge: gateway unreachable', { host: target.host, error: err.message });
        client.end(rawResponse(502, `The gateway for ${target.host} is not answering`));
      } else client.destroy();
    });
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });

  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end(rawResponse(400, 'Bad request'));
    else socket.destroy();
  });

  return {
    listen: () =>
      new Promise<number>((resolveListen, reject) => {
        server.once('error', reject);
        server.listen(opts.port, opts.host, () => {
          server.off('error', reject);
          const address = server.address();
          resolveListen(typeof address === 'object' && address ? address.port : opts.port);
        });
      }),
    dropClaw(clawId) {
      for (const s of open.get(clawId) ?? []) s.destroy();
    },
    connections: () => new Map([...open].map(([id, set]) => [id, set.size])),
    close: () =>
      new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        server.closeAllConnections();
        for (const set of open.values()) for (const s of set) s.destroy();
      }),
  };
}

/** The request line and headers as the gateway must see them, ahead of the relayed bytes. */
function requestHead(req: http.IncomingMessage, rawHeaders: readonly string[]): string {
  let head = `${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1\r\n`;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    // Header values from Node's parser hold no CR/LF; names are tokens.
    head += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`;
  }
  return `${head}\r\n`;
}

function rawResponse(status: number, text: string): string {
  const body = `${text}\n`;
  return (
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}\r\n` +
    `content-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
    `connection: close\r\n\r\n${body}`
  );
}
