import { randomUUID } from 'node:crypto';
import type WebSocket from 'ws';
import type { Logger } from '../../log';
import { OpenClawConnectError, type Connected } from '../openclaw-client';
import { checkBrowserFrame } from './allowlist';
import { browserCloseFor, CLOSE } from './close-codes';
import { browserHello } from './browser-hello';
import { checkGatewayFrame } from './relay-filter';

export interface ProxyLimits {
  /** Pause the reading side while the other side has more than this queued. */
  highWaterBytes: number;
  lowWaterBytes: number;
  heartbeatMs: number;
  /** A browser that sends no connect request within this is closed; the gateway is dialled only after it. */
  firstFrameMs?: number;
}

export const DEFAULT_LIMITS: ProxyLimits = {
  highWaterBytes: 4 * 1024 * 1024,
  lowWaterBytes: 1024 * 1024,
  heartbeatMs: 25_000,
  firstFrameMs: 10_000,
};

/** The claw's gateway, dialled on demand: its token (for redaction) and the handshake in flight. */
export type UpstreamDial = () => Promise<{ token: string; connection: Promise<Connected> }>;

const PRE_HANDSHAKE_QUEUE = 256;

/**
 * One browser socket and its own upstream gateway connection. Toward the browser it behaves like a
 * gateway (a challenge, then hello-ok for its connect); the proxy does the real handshake with the
 * claw's token and the control plane's device only once the browser's connect request arrives, so
 * a socket that never speaks costs the gateway nothing (and is closed after `firstFrameMs`). The
 * browser's hello-ok is an allowlisted copy of the gateway's (browser-hello.ts). After that, gateway
 * frames pass as they came when relay-filter.ts lets them (responses and chat events; never presence
 * or health, which name the Mini's host, address and paths); browser frames are checked against the
 * method allowlist. The returned `close` ends the session from outside (access revoked).
 */
export function runProxySession(opts: {
  browser: WebSocket;
  dial: UpstreamDial;
  log: Logger;
  limits?: ProxyLimits;
  onClose?: () => void;
  /** The browser sent a frame (the person is active: their session's idle timer restarts). */
  onActivity?: () => void;
}): { close(code: number, reason: string): void } {
  const { browser, log } = opts;
  const limits = opts.limits ?? DEFAULT_LIMITS;
  let upstream: WebSocket | undefined;
  let gatewayToken = '';
  let handshaken = false;
  let closed = false;
  const queued: { data: WebSocket.RawData; isBinary: boolean }[] = [];

  const closeBrowser = (code: number, reason: string) => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    clearTimeout(firstFrame);
    log.info('chat session closed', { code, reason });
    if (browser.readyState === browser.OPEN || browser.readyState === browser.CONNECTING)
      browser.close(code, reason);
    if (upstream && upstream.readyState === upstream.OPEN) upstream.close(1000);
    else upstream?.terminate();
    opts.onClose?.();
  };

  // Heartbeat toward the browser: a peer that does not answer a ping by the next one is gone.
  let alive = true;
  browser.on('pong', () => (alive = true));
  const heartbeat = setInterval(() => {
    if (!alive) {
      browser.terminate();
      return closeBrowser(CLOSE.GOING_AWAY, 'no heartbeat');
    }
    alive = false;
    browser.ping();
  }, limits.heartbeatMs);
  heartbeat.unref();
  const firstFrame = setTimeout(
    () => closeBrowser(CLOSE.PROTOCOL_ERROR, 'no connect request in time'),
    limits.firstFrameMs ?? DEFAULT_LIMITS.firstFrameMs!,
  );
  firstFrame.unref();

  browser.send(
    JSON.stringify({
      type: 'event',
      event: 'connect.challenge',
      payload: { nonce: randomUUID(), ts: Date.now() },
    }),
  );

  // Gateway → browser: the frames the relay filter lets through, bytes as they came, pausing the
  // gateway while the browser is behind. The gateway speaks text only: a binary frame is dropped.
  let dropped = 0;
  const toBrowser = (data: WebSocket.RawData, isBinary: boolean) => {
    if (closed) return;
    const verdict =
      isBinary || !Buffer.isBuffer(data) ? { relay: false as const, why: 'binary' } : checkGatewayFrame(data);
    if (!verdict.relay) {
      if (dropped++ < 20) log.debug('gateway frame not relayed', { why: verdict.why });
      return;
    }
    browser.send(data as Buffer, { binary: isBinary }, () => {
      if (upstream?.isPaused && browser.bufferedAmount < limits.lowWaterBytes) upstream.resume();
    });
    if (browser.bufferedAmount > limits.highWaterBytes && upstream && !upstream.isPaused) upstream.pause();
  };

  let upstreamError: { code: number; reason: string; error: Record<string, unknown> } | undefined;
  let hello: Record<string, unknown> | undefined;
  let ready: Promise<void> | undefined;
  const dial = () =>
    opts.dial().then(({ token, connection }) => {
      gatewayToken = token;
      return connection;
    });
  const connectUpstream = () =>
    dial().then(
      (c) => {
        upstream = c.ws;
        if (closed) return void c.ws.close(1000);
        hello = browserHello(c.hello, gatewayToken);
        for (const f of c.takeEarlyFrames()) queued.push(f);
        c.ws.on('message', (data, isBinary) => {
          if (handshaken) toBrowser(data, isBinary);
          else if (queued.length < PRE_HANDSHAKE_QUEUE) queued.push({ data, isBinary });
        });
        c.ws.on('close', (code, reason) => {
          log.info('gateway closed the upstream connection', { code, reason: reason.toString() });
          const mapped = browserCloseFor(code);
          closeBrowser(mapped.code, mapped.reason);
        });
        c.ws.on('error', () => {});
      },
      (err: unknown) => {
        const e = err instanceof OpenClawConnectError ? err : undefined;
        const starting = e && (e.code === 'UNAVAILABLE' || e.closeCode === 1013 || e.closeCode === 1012);
        const unreachable = !e || e.code === 'NETWORK' || e.code === 'TIMEOUT' || e.code.startsWith('HTTP_');
        upstreamError = starting
          ? {
              code: CLOSE.UPSTREAM_UNAVAILABLE,
              reason: `gateway starting; retry-after-ms=${e?.retryAfterMs ?? 1000}`,
              error: {
                code: 'UNAVAILABLE',
                message: 'The claw is starting; try again shortly',
                retryable: true,
                retryAfterMs: e?.retryAfterMs ?? 1000,
              },
            }
          : unreachable
            ? {
                code: CLOSE.UPSTREAM_UNAVAILABLE,
                reason: 'gateway unreachable; retry-after-ms=5000',
                error: {
                  code: 'UNAVAILABLE',
                  message: 'The claw cannot be reached right now',
                  retryable: true,
                  retryAfterMs: 5000,
                },
              }
            : {
                code: CLOSE.UPSTREAM_REFUSED,
                reason: 'gateway refused the control plane',
                error: { code: 'UNAVAILABLE', message: 'The claw refused the connection', retryable: false },
              };
        log.warn('upstream handshake failed', { code: e?.code ?? 'UNKNOWN', closeCode: e?.closeCode });
      },
    );

  browser.on('message', (data, isBinary) => {
    if (closed) return;
    opts.onActivity?.();
    const text = isBinary ? null : data.toString();
    if (!handshaken) {
      const frame = text ? safeParse(text) : null;
      if (!frame || frame.type !== 'req' || frame.method !== 'connect' || typeof frame.id !== 'string')
        return closeBrowser(CLOSE.PROTOCOL_ERROR, 'invalid handshake: first request must be connect');
      const id = frame.id;
      clearTimeout(firstFrame);
      browser.pause();
      ready ??= connectUpstream();
      void ready.then(() => {
        browser.resume();
        if (closed) return;
        if (upstreamError) {
          browser.send(JSON.stringify({ type: 'res', id, ok: false, error: upstreamError.error }));
          return closeBrowser(upstreamError.code, upstreamError.reason);
        }
        browser.send(JSON.stringify({ type: 'res', id, ok: true, payload: hello }));
        handshaken = true;
        for (const f of queued.splice(0)) toBrowser(f.data, f.isBinary);
      });
      return;
    }
    if (text === null) return; // the gateway speaks text frames only
    const check = checkBrowserFrame(text);
    if (!check.ok) {
      browser.send(JSON.stringify({ type: 'res', id: check.id, ok: false, error: check.error }));
      return;
    }
    upstream!.send(text, () => {
      if (browser.isPaused && upstream!.bufferedAmount < limits.lowWaterBytes) browser.resume();
    });
    if (upstream!.bufferedAmount > limits.highWaterBytes && !browser.isPaused) browser.pause();
  });

  browser.on('close', (code) => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    clearTimeout(firstFrame);
    log.info('browser left', { code });
    void ready?.then(() => upstream?.close(1000));
    opts.onClose?.();
  });
  browser.on('error', () => {});
  return { close: closeBrowser };
}

function safeParse(text: string): { type?: unknown; method?: unknown; id?: unknown } | null {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' ? (v as { type?: unknown; method?: unknown; id?: unknown }) : null;
  } catch {
    return null;
  }
}
