import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import type { z } from 'zod';
import {
  agentPaths,
  BackupClawResponse,
  ClawLogsResponse,
  ClawStatusReport,
  ClawUsageResponse,
  ErrorResponse,
  HealthResponse,
  ListClawsResponse,
  OkResponse,
  type BackupClawInput,
  type ClawLogs,
  type ClawLogsQuery,
  type ClawStatus,
  type ClawSummary,
  type ClawUsage,
  type RestoreClawInput,
  type StartClawRequest,
} from './agent-api';
import { certFingerprint, normalizeFingerprint } from './agent-tls';
import { FailureError } from '../failure';

/**
 * The control plane's client for a Mini's agent (scripts/mini-agent.ts speaks the other side; both
 * hold to the contract in agent-api.ts). Every call carries the bearer token and its own timeout,
 * and reads both the status code and the body: a 2xx whose body is not what the API promises is an
 * error too. Failures are `FailureError`s
 * whose `kind` tells the provisioning worker whether a retry can help; their messages never contain
 * the agent token or a gateway token.
 *
 * An `https:` agent is trusted by the fingerprint of its certificate alone (agent-tls.ts): every
 * call opens its own TLS connection, compares the certificate the agent presents with the pinned
 * fingerprint, and only then sends the request, so the bearer token never reaches anyone else.
 * No CA and no hostname check: the agent's certificate is self-signed, and the pin is stricter
 * than either. `http:` is for a local dev agent only (the fleet commands refuse it in production).
 */

/** `unknown`: the agent does not know the claw (404); the caller decides whether to start it. */
export type AgentClawStatus = ClawStatus | 'unknown';

/** The agent's status report, or `{status: 'unknown'}` for a claw it does not know. */
export type AgentClawStatusReport = Partial<Omit<ClawStatusReport, 'status'>> & { status: AgentClawStatus };

export interface AgentClient {
  /** POST /claws. Idempotent per claw: starting a claw the agent already runs on that port is a no-op. */
  startClaw(input: StartClawRequest): Promise<void>;
  /** GET /claws/:id/status; a claw the agent does not know is `{status: 'unknown'}`, not an error. */
  clawStatus(clawId: string): Promise<AgentClawStatusReport>;
  /** DELETE /claws/:id. Idempotent: a claw the agent does not know is already stopped. */
  stopClaw(clawId: string): Promise<void>;
  /** POST /claws/:id/stop: the gateway stops, the claw stays on the Mini. Idempotent. */
  pauseClaw(clawId: string): Promise<void>;
  /** POST /claws/:id/restart: a new gateway process for a running claw. */
  restartClaw(clawId: string): Promise<void>;
  /**
   * POST /claws/:id/backup: the agent has the claw's gateway back its state up and uploads the
   * archive to the presigned PUT. Its size and digest are what a restore presents again.
   */
  backupClaw(
    clawId: string,
    request: BackupClawInput,
    options?: LongCallOptions,
  ): Promise<Omit<BackupClawResponse, 'ok'>>;
  /**
   * POST /claws/:id/restore: the agent downloads the archive, checks it and makes it the claw's
   * state. A backup the agent refuses (`backup_invalid`) is a permanent failure.
   */
  restoreClaw(clawId: string, request: RestoreClawInput, options?: LongCallOptions): Promise<void>;
  /** GET /claws/:id/logs: the tail of the gateway's output, or what came after `after`; null for an unknown claw. */
  clawLogs(clawId: string, query: ClawLogsQuery): Promise<ClawLogs | null>;
  /** GET /claws/:id/usage: the claw's recent memory and CPU samples and its disk; null for an unknown claw. */
  clawUsage(clawId: string): Promise<ClawUsage | null>;
  /** GET /health. */
  health(): Promise<Omit<HealthResponse, 'ok'>>;
  /** GET /claws, for reconciliation. */
  listClaws(): Promise<ClawSummary[]>;
}

export interface AgentClientOptions {
  /** e.g. `https://mini-07.fleet.example:7070` (or `http://127.0.0.1:7070`, a dev agent). */
  baseUrl: string;
  token: string;
  /** The agent certificate's pinned fingerprint (`sha256:<hex>`); required for an https URL. */
  certFingerprint?: string | null;
  /** Per call, including reading the body. Default 5000 ms. */
  timeoutMs?: number;
  /** Extra attempts for retryable failures, with a short backoff. Default 0 (the worker retries). */
  retries?: number;
}

/** For calls that move a whole backup: hundreds of MB through the Mini's uplink. */
export interface LongCallOptions {
  /** The whole call, including the agent's upload or download. Default 10 minutes. */
  timeoutMs?: number;
}

const BACKUP_TIMEOUT_MS = 10 * 60_000;

const MAX_ERROR_TEXT = 300;
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

interface Response {
  status: number;
  body: unknown;
  /** Set when the body was present but not JSON. */
  malformed: boolean;
}

export function createAgentClient(options: AgentClientOptions): AgentClient {
  const base = new URL(options.baseUrl);
  if (base.protocol !== 'http:' && base.protocol !== 'https:')
    throw new FailureError('permanent', 'The agent URL must be http(s)');
  // Credentials in the URL would end up in error messages; the token is the only credential.
  base.username = '';
  base.password = '';
  const pin = options.certFingerprint ? normalizeFingerprint(options.certFingerprint) : undefined;
  if (base.protocol === 'https:' && !pin)
    throw new FailureError(
      'permanent',
      options.certFingerprint
        ? 'The pinned agent certificate fingerprint is not a SHA-256 fingerprint'
        : 'No certificate fingerprint is pinned for this https agent; register the Mini with its fingerprint',
    );
  const basePath = base.pathname.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 5000;
  const retries = Math.max(0, options.retries ?? 0);
  const secrets = new Set<string>([options.token]);
  const whileSecret = async <T>(secret: string, fn: () => Promise<T>): Promise<T> => {
    secrets.add(secret);
    try {
      return await fn();
    } finally {
      secrets.delete(secret);
    }
  };

  /** Removes every secret this client has seen from a text that is about to leave it. */
  const redact = (text: string) => {
    let out = text;
    for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted]');
    return out;
  };

  async function once(method: string, path: string, body: unknown, timeoutMs: number): Promise<Response> {
    const what = `${method} ${path}`;
    let res: { status: number; text: string };
    try {
      res = await request(
        {
          base,
          pin,
          method,
          path: `${basePath}${path}`,
          headers: {
            authorization: `Bearer ${options.token}`,
            accept: 'application/json',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        },
        timeoutMs,
      );
    } catch (err) {
      if (err instanceof FailureError) throw new FailureError(err.kind, `Agent ${what}: ${err.message}`);
      throw networkError(what, err, timeoutMs);
    }
    const { status, text } = res;
    if (text.trim() === '') return { status, body: undefined, malformed: false };
    try {
      return { status, body: JSON.parse(text) as unknown, malformed: false };
    } catch {
      return { status, body: undefined, malformed: true };
    }
  }

  async function call<T extends z.ZodType>(
    method: string,
    path: string,
    schema: T,
    opts: { body?: unknown; allowNotFound?: boolean; timeoutMs?: number } = {},
  ): Promise<z.infer<T> | null> {
    const what = `${method} ${path}`;
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await once(method, path, opts.body, opts.timeoutMs ?? timeoutMs);
        // Only the agent's own JSON 404 means "no such claw"; a 404 page from elsewhere is a wrong URL.
        if (res.status === 404 && opts.allowNotFound && ErrorResponse.safeParse(res.body).success)
          return null;
        if (res.status >= 200 && res.status < 300) {
          if (res.malformed)
            throw new FailureError('retryable', `Agent ${what}: malformed JSON in the response`, res.status);
          const parsed = schema.safeParse(res.body);
          if (parsed.success) return parsed.data;
          const failed = ErrorResponse.safeParse(res.body);
          const detail = failed.success
            ? `the agent reported a failure: ${failed.data.error}`
            : `unexpected response body (${summarize(parsed.error)})`;
          throw new FailureError(
            'retryable',
            redact(`Agent ${what} answered ${res.status} but ${detail}`),
            res.status,
          );
        }
        throw httpError(what, res, redact);
      } catch (err) {
        if (!(err instanceof FailureError) || err.kind !== 'retryable' || attempt >= retries) throw err;
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
      }
    }
  }

  return {
    async startClaw(input) {
      secrets.add(input.gatewayToken);
      if (input.model) secrets.add(input.model.apiKey);
      for (const value of Object.values(input.secrets ?? {})) secrets.add(value);
      await call('POST', agentPaths.claws, OkResponse, {
        body: {
          clawId: input.clawId,
          port: input.port,
          gatewayToken: input.gatewayToken,
          ...(input.controlPlaneDevice ? { controlPlaneDevice: input.controlPlaneDevice } : {}),
          ...(input.hostname ? { hostname: input.hostname } : {}),
          ...(input.replaceToken ? { replaceToken: true } : {}),
          ...(input.model ? { model: input.model } : {}),
          ...(input.secrets ? { secrets: input.secrets } : {}),
        } satisfies StartClawRequest,
      });
    },
    async clawStatus(clawId) {
      const r = await call('GET', agentPaths.clawStatus(clawId), ClawStatusReport, { allowNotFound: true });
      return r ?? { status: 'unknown' };
    },
    async stopClaw(clawId) {
      await call('DELETE', agentPaths.claw(clawId), OkResponse, { allowNotFound: true });
    },
    async clawLogs(clawId, query) {
      const params = new URLSearchParams({ limit: String(query.limit ?? 200) });
      if (query.after !== undefined) params.set('after', String(query.after));
      if (query.file !== undefined) params.set('file', String(query.file));
      const r = await call('GET', `${agentPaths.clawLogs(clawId)}?${params}`, ClawLogsResponse, {
        allowNotFound: true,
      });
      return r ? { lines: r.lines, offset: r.offset, file: r.file, rotated: r.rotated } : null;
    },
    async clawUsage(clawId) {
      const r = await call('GET', agentPaths.clawUsage(clawId), ClawUsageResponse, { allowNotFound: true });
      return r ? { diskBytes: r.diskBytes, samples: r.samples } : null;
    },
    async pauseClaw(clawId) {
      await call('POST', agentPaths.clawStop(clawId), OkResponse);
    },
    async restartClaw(clawId) {
      await call('POST', agentPaths.clawRestart(clawId), OkResponse);
    },
    async backupClaw(clawId, input, callOptions) {
      // The presigned URL's query string is a credential: never in an error message (only for
      // this call: each backup has its own).
      const r = (await whileSecret(new URL(input.upload.url).search, () =>
        call('POST', agentPaths.clawBackup(clawId), BackupClawResponse, {
          body: input,
          timeoutMs: callOptions?.timeoutMs ?? BACKUP_TIMEOUT_MS,
        }),
      ))!;
      return { bytes: r.bytes, sha256: r.sha256, createdAt: r.createdAt };
    },
    async restoreClaw(clawId, input, callOptions) {
      await whileSecret(new URL(input.download.url).search, () =>
        call('POST', agentPaths.clawRestore(clawId), OkResponse, {
          body: input,
          timeoutMs: callOptions?.timeoutMs ?? BACKUP_TIMEOUT_MS,
        }),
      );
    },
    async health() {
      const h = (await call('GET', agentPaths.health, HealthResponse))!;
      return {
        claws: h.claws,
        version: h.version,
        ...(h.memoryMb !== undefined ? { memoryMb: h.memoryMb } : {}),
        ...(h.clawsMemoryMb !== undefined ? { clawsMemoryMb: h.clawsMemoryMb } : {}),
      };
    },
    async listClaws() {
      return (await call('GET', agentPaths.claws, ListClawsResponse))!.claws;
    },
  };
}

/** Far above any answer of the API (a list of a Mini's claws); a larger body is not an agent's. */
const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/**
 * One request on its own connection (no pooling: every connection is checked against the pin),
 * with one deadline over connecting, the TLS handshake and reading the whole body. Redirects are
 * not followed: any status is returned as it came.
 */
function request(
  o: {
    base: URL;
    pin: string | undefined;
    method: string;
    path: string;
    headers: Record<string, string>;
    body: string | undefined;
  },
  timeoutMs: number,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const host = o.base.hostname.replace(/^\[|\]$/g, '');
    const port = Number(o.base.port) || (o.base.protocol === 'https:' ? 443 : 80);
    // TLS first, the pin checked (below), and only then the request, with the token, is written.
    const secure =
      o.base.protocol === 'https:'
        ? tls.connect({
            host,
            port,
            ...(net.isIP(host) ? {} : { servername: host }),
            // Self-signed by design: trust comes from the pin, not from a CA.
            rejectUnauthorized: false,
            minVersion: 'TLSv1.2',
          })
        : undefined;
    let req: http.ClientRequest | undefined;
    let settled = false;
    const finish = (err: unknown, value?: { status: number; text: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        req?.destroy();
        secure?.destroy();
        reject(err);
      } else resolve(value!);
    };
    const timer = setTimeout(() => finish(new TimeoutError('timed out')), timeoutMs);

    const send = (connection?: net.Socket) => {
      req = http.request(
        {
          host,
          port,
          method: o.method,
          path: o.path,
          headers: {
            ...o.headers,
            host: o.base.host,
            ...(o.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(o.body)) }),
          },
          // Our own connection (TLS, pin checked) or a fresh one: never a pooled socket. (With
          // createConnection, Node uses no agent at all.)
          ...(connection ? { createConnection: () => connection } : { agent: false }),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_RESPONSE_BYTES)
              return finish(new FailureError('retryable', `the answer exceeds ${MAX_RESPONSE_BYTES} bytes`));
            chunks.push(c);
          });
          res.on('error', (err) => finish(err));
          res.on('end', () =>
            finish(null, { status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
          );
        },
      );
      req.on('error', (err) => finish(err));
      req.end(o.body);
    };

    if (!secure) return send();
    secure.once('error', (err) => finish(err));
    secure.once('secureConnect', () => {
      const raw = secure.getPeerCertificate()?.raw;
      const seen = raw && raw.length ? certFingerprint(raw) : 'no certificate';
      if (seen !== o.pin)
        return finish(
          new FailureError(
            'permanent',
            `the agent's TLS certificate is ${seen}, not the pinned ${o.pin}; ` +
              `if the Mini was re-keyed, update its certificate fingerprint`,
          ),
        );
      send(secure);
    });
  });
}

function httpError(what: string, res: Response, redact: (s: string) => string): FailureError {
  const parsed = ErrorResponse.safeParse(res.body);
  const reason = parsed.success ? `: ${parsed.data.error.slice(0, MAX_ERROR_TEXT)}` : '';
  const message = redact(`Agent ${what} failed with HTTP ${res.status}${reason}`);
  // Throttling, timeouts and server faults pass; a request the agent refuses stays refused.
  const retryable = res.status >= 500 || res.status === 429 || res.status === 408;
  return new FailureError(
    retryable ? 'retryable' : 'permanent',
    message,
    res.status,
    parsed.success ? parsed.data.code : undefined,
  );
}

function networkError(what: string, err: unknown, timeoutMs: number): FailureError {
  if (err instanceof TimeoutError)
    return new FailureError('retryable', `Agent ${what} timed out after ${timeoutMs} ms`);
  const code = errorCode(err);
  if (code && NETWORK_CODES.has(code)) return new FailureError('retryable', `Agent ${what} failed: ${code}`);
  // Any other transport failure (a TLS alert, a closed socket) is worth a retry.
  return new FailureError('retryable', `Agent ${what} failed: ${code ?? 'network error'}`);
}

function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function summarize(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || 'body'}: ${i.message}`)
    .join('; ')
    .slice(0, MAX_ERROR_TEXT);
}
