import { randomUUID } from 'node:crypto';
import type { LookupFunction, Socket } from 'node:net';
import type tls from 'node:tls';
import WebSocket from 'ws';
import { signDeviceAuth, type DeviceIdentity } from './device-identity';

/**
 * A small typed OpenClaw gateway client: the connect handshake (OPENCLAW.md §1.3–1.5) and
 * request/response. It never sends an Origin or forwarded headers, so a loopback connection keeps
 * the local exceptions and a remote one is attributed to the device that signs.
 */
export interface ConnectOptions {
  url: string;
  token: string;
  identity?: Pick<DeviceIdentity, 'deviceId' | 'publicKeyRaw' | 'privateKeyPem'>;
  scopes: string[];
  clientId?: string;
  mode?: string;
  role?: string;
  platform?: string;
  deviceFamily?: string;
  caps?: string[];
  headers?: Record<string, string>;
  /**
   * For the TLS and TCP connect (server/gateway/upstream-url.ts): the TLS name, extra CAs, how the
   * certificate's identity is checked, and a resolver. Verification is never turned off.
   */
  connect?: Pick<tls.ConnectionOptions, 'servername' | 'ca' | 'checkServerIdentity'> & {
    lookup?: LookupFunction;
    /** Opens the connection itself (a certificate pinned by fingerprint). */
    createConnection?: (options: tls.ConnectionOptions) => Socket;
  };
  timeoutMs?: number;
  version?: string;
}

export interface HelloOk {
  type: 'hello-ok';
  protocol: number;
  server?: { version?: string; connId?: string };
  auth?: { method?: string; role?: string; scopes?: string[]; deviceToken?: string; recoveryScope?: string };
  policy?: { maxPayload?: number; maxBufferedBytes?: number; tickIntervalMs?: number };
  [key: string]: unknown;
}

export interface Challenge {
  nonce: string;
  ts: number;
}

export class OpenClawConnectError extends Error {
  override name = 'OpenClawConnectError';
  constructor(
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly retryable = false,
    readonly retryAfterMs?: number,
    readonly closeCode?: number,
  ) {
    super(message);
  }
}

interface Frame {
  type: string;
  id?: string;
  event?: string;
  ok?: boolean;
  payload?: Record<string, unknown>;
  error?: {
    code?: string;
    message?: string;
    details?: Record<string, unknown>;
    retryable?: boolean;
    retryAfterMs?: number;
  };
}

export interface Connected {
  ws: WebSocket;
  hello: HelloOk;
  challenge: Challenge;
  /** Stops buffering and returns the frames that arrived right after hello-ok. */
  takeEarlyFrames(): { data: WebSocket.RawData; isBinary: boolean }[];
}

export function openclawConnect(opts: ConnectOptions): Promise<Connected> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return new Promise<Connected>((resolve, reject) => {
    // ws hands these to https.request / tls.connect as they are; its typings lack `servername` and
    // `lookup` and give checkServerIdentity a boolean result Node does not use, hence the cast.
    const ws = new WebSocket(opts.url, {
      ...opts.connect,
      perMessageDeflate: false,
      headers: opts.headers,
      handshakeTimeout: timeoutMs,
    } as WebSocket.ClientOptions);
    let challenge: Challenge | undefined;
    let settled = false;
    let lastError: OpenClawConnectError | undefined;
    const fail = (err: OpenClawConnectError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.removeAllListeners('message');
      ws.terminate();
      reject(err);
    };
    const timer = setTimeout(
      () =>
        fail(
          new OpenClawConnectError(
            'TIMEOUT',
            `No hello-ok from ${opts.url} within ${timeoutMs} ms`,
            undefined,
            true,
          ),
        ),
      timeoutMs,
    );
    const connectId = `connect-${randomUUID()}`;
    ws.on('unexpected-response', (_req, res) =>
      fail(
        new OpenClawConnectError(
          'HTTP_' + res.statusCode,
          `Gateway refused the upgrade with HTTP ${res.statusCode}`,
        ),
      ),
    );
    ws.on('error', (err) =>
      fail(new OpenClawConnectError('NETWORK', `Cannot reach the gateway: ${err.message}`, undefined, true)),
    );
    ws.on('close', (code, reason) => {
      const r =
        lastError ??
        new OpenClawConnectError(
          'CLOSED',
          `Gateway closed the connection (${code} ${reason.toString()})`.trim(),
        );
      fail(
        new OpenClawConnectError(
          r.code,
          r.message,
          r.details,
          r.retryable || code === 1013 || code === 1012,
          r.retryAfterMs,
          code,
        ),
      );
    });
    ws.on('message', (data) => {
      let frame: Frame;
      try {
        frame = JSON.parse(data.toString()) as Frame;
      } catch {
        return;
      }
      if (!challenge && frame.type === 'event' && frame.event === 'connect.challenge') {
        challenge = {
          nonce: String(frame.payload?.nonce ?? ''),
          ts: Number(frame.payload?.ts ?? Date.now()),
        };
        const clientId = opts.clientId ?? 'gateway-client';
        const mode = opts.mode ?? 'backend';
        const role = opts.role ?? 'operator';
        const platform = opts.platform ?? 'linux';
        const params: Record<string, unknown> = {
          minProtocol: 4,
          maxProtocol: 4,
          client: {
            id: clientId,
            version: opts.version ?? 'claws',
            platform,
            mode,
            ...(opts.deviceFamily ? { deviceFamily: opts.deviceFamily } : {}),
          },
          role,
          scopes: opts.scopes,
          caps: opts.caps ?? [],
          auth: { token: opts.token },
        };
        if (opts.identity)
          params.device = signDeviceAuth(opts.identity, {
            clientId,
            clientMode: mode,
            role,
            scopes: opts.scopes,
            signedAt: challenge.ts,
            token: opts.token,
            nonce: challenge.nonce,
            platform,
            deviceFamily: opts.deviceFamily,
          });
        ws.send(JSON.stringify({ type: 'req', id: connectId, method: 'connect', params }));
        return;
      }
      if (frame.type === 'res' && frame.id === connectId) {
        if (frame.ok && frame.payload?.type === 'hello-ok') {
          settled = true;
          clearTimeout(timer);
          ws.removeAllListeners('message');
          ws.removeAllListeners('close');
          ws.removeAllListeners('error');
          ws.on('error', () => {});
          // Frames that follow hello-ok in the same read would fire before the caller can listen.
          const early: { data: WebSocket.RawData; isBinary: boolean }[] = [];
          const keep = (data: WebSocket.RawData, isBinary: boolean) => early.push({ data, isBinary });
          ws.on('message', keep);
          resolve({
            ws,
            hello: frame.payload as HelloOk,
            challenge: challenge!,
            takeEarlyFrames: () => {
              ws.off('message', keep);
              return early.splice(0);
            },
          });
          return;
        }
        const e = frame.error ?? {};
        lastError = new OpenClawConnectError(
          e.code ?? 'UNKNOWN',
          e.message ?? 'connect failed',
          e.details,
          e.retryable ?? false,
          e.retryAfterMs,
        );
      }
    });
  });
}

/** Sends a request on a connected socket and resolves with its payload (rejects on ok:false). */
export function request<T = unknown>(
  ws: WebSocket,
  method: string,
  params?: unknown,
  timeoutMs = 10_000,
): Promise<T> {
  const id = `req-${randomUUID()}`;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.off('message', onMessage);
      reject(new Error(`${method} timed out`));
    }, timeoutMs);
    const onMessage = (data: WebSocket.RawData) => {
      let frame: Frame;
      try {
        frame = JSON.parse(data.toString()) as Frame;
      } catch {
        return;
      }
      if (frame.type !== 'res' || frame.id !== id) return;
      clearTimeout(timer);
      ws.off('message', onMessage);
      if (frame.ok) resolve(frame.payload as T);
      else
        reject(
          Object.assign(new Error(frame.error?.message ?? `${method} failed`), { code: frame.error?.code }),
        );
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ type: 'req', id, method, params }));
  });
}
