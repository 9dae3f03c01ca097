import { OpenClawConnectError, openclawConnect, request } from '../../server/gateway/openclaw-client';

/**
 * What the agent needs of the OpenClaw gateway protocol (OPENCLAW.md §1), on top of the shared
 * client: the connect handshake over loopback as `gateway-client`/`backend` with the gateway token
 * (no device identity: on a direct loopback connection the token keeps its scopes), classified
 * failures for readiness, and RPCs for pairing.
 */

export type GatewayFailure =
  /** Nothing accepts connections on the port (yet). */
  | 'unreachable'
  /** The gateway is up but still starting: `UNAVAILABLE` and close 1013. */
  | 'starting'
  /** The gateway refused the connect (wrong token, protocol mismatch, …). */
  | 'rejected'
  | 'timeout'
  /** Something that does not speak the protocol. */
  | 'protocol';

export class GatewayConnectError extends Error {
  override name = 'GatewayConnectError';
  constructor(
    readonly failure: GatewayFailure,
    message: string,
    /** The gateway's error code (`UNAVAILABLE`, `INVALID_REQUEST`, …) when it sent one. */
    readonly code?: string,
  ) {
    super(message);
  }
}

export class GatewayRpcError extends Error {
  override name = 'GatewayRpcError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface GatewaySession {
  hello: Record<string, unknown>;
  request(method: string, params: Record<string, unknown>, timeoutMs?: number): Promise<unknown>;
  close(): void;
}

const CLIENT_VERSION = '0.1.0-claws-mini-agent';

function classify(err: unknown): GatewayConnectError {
  if (!(err instanceof OpenClawConnectError))
    return new GatewayConnectError('protocol', err instanceof Error ? err.message : String(err));
  const message = err.message.slice(0, 200);
  if (err.code === 'UNAVAILABLE' || err.closeCode === 1013)
    return new GatewayConnectError('starting', `gateway starting: ${message}`, err.code);
  if (err.code === 'NETWORK') return new GatewayConnectError('unreachable', message, err.code);
  if (err.code === 'TIMEOUT') return new GatewayConnectError('timeout', message, err.code);
  if (err.code === 'CLOSED' || err.code.startsWith('HTTP_'))
    return new GatewayConnectError('protocol', message, err.code);
  return new GatewayConnectError('rejected', `connect refused: ${err.code} ${message}`, err.code);
}

export async function connectGateway(opts: {
  port: number;
  token: string;
  scopes: string[];
  timeoutMs: number;
}): Promise<GatewaySession> {
  let connected;
  try {
    connected = await openclawConnect({
      url: `ws://127.0.0.1:${opts.port}`,
      token: opts.token,
      scopes: opts.scopes,
      clientId: 'gateway-client',
      mode: 'backend',
      platform: 'linux',
      version: CLIENT_VERSION,
      timeoutMs: opts.timeoutMs,
    });
  } catch (err) {
    throw classify(err);
  }
  const { ws, hello } = connected;
  return {
    hello,
    async request(method, params, timeoutMs = opts.timeoutMs) {
      if (ws.readyState !== ws.OPEN) throw new GatewayRpcError('CLOSED', 'connection closed');
      try {
        return await request(ws, method, params, timeoutMs);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        const message = (err instanceof Error ? err.message : String(err)).slice(0, 200);
        throw new GatewayRpcError(typeof code === 'string' ? code : 'TIMEOUT', message);
      }
    },
    close() {
      if (ws.readyState === ws.OPEN) ws.close(1000);
      else ws.terminate();
    },
  };
}

/** One readiness probe: resolves when the gateway on `port` answers `hello-ok` to the claw's token. */
export async function probeHelloOk(port: number, token: string, timeoutMs: number): Promise<void> {
  const s = await connectGateway({ port, token, scopes: ['operator.read'], timeoutMs });
  s.close();
}
