import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import type { z } from 'zod';
import {
  agentPaths,
  BackupClawRequest,
  ClawId,
  ClawLogsQuery,
  matchClawPath,
  RestoreClawRequest,
  StartClawRequest,
  type BackupClawResponse,
  type ClawStatusReport,
  type ErrorResponse,
  type HealthResponse,
  type ListClawsResponse,
  type OkResponse,
} from '../../server/fleet/agent-api';
import type { Logger } from '../../server/log';
import { sameSecret, type MiniAgent } from './agent';
import { BackupFailure } from './backup';
import { hostAllowed, type HostNames } from './host-check';

/**
 * The Mini agent's side of the Mini Agent API, whose requests, answers and paths are declared in
 * server/fleet/agent-api.ts: this validates requests with it and answers in its shapes.
 */

const MAX_BODY_BYTES = 64 * 1024;

/** A 2xx answer, in one of the contract's shapes. */
interface Answer {
  status: number;
  body: OkResponse | HealthResponse | ListClawsResponse | ClawStatusReport | BackupClawResponse;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Pick<ErrorResponse, 'issues' | 'code'> = {},
  ) {
    super(message);
  }
}

const ok: OkResponse = { ok: true };

export interface AgentServerOptions {
  token: string;
  version: string;
  log: Logger;
  /** Names the Host header may carry (host-check.ts). */
  hostNames: HostNames;
  /** The agent's key and certificate (PEM): HTTPS. Absent only for a `--dev` agent: plain HTTP. */
  tls?: { keyPem: string; certPem: string };
}

export function createAgentHttpServer(agent: MiniAgent, opts: AgentServerOptions) {
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const started = Date.now();
    handle(req)
      .then(({ status, body }) => send(res, status, body))
      .catch((err: unknown) => {
        if (err instanceof HttpError)
          return send(res, err.status, { ok: false, error: err.message, ...err.extra });
        opts.log.error('request failed', { method: req.method, path: pathOf(req), error: String(err) });
        send(res, 500, { ok: false, error: 'Internal error in the Mini agent' });
      })
      .finally(() =>
        opts.log.debug('request', {
          method: req.method,
          path: pathOf(req),
          status: res.statusCode,
          ms: Date.now() - started,
        }),
      );
  };
  const server = opts.tls
    ? https.createServer(
        { key: opts.tls.keyPem, cert: opts.tls.certPem, minVersion: 'TLSv1.2', handshakeTimeout: 10_000 },
        onRequest,
      )
    : http.createServer(onRequest);
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;

  async function handle(req: http.IncomingMessage): Promise<Answer> {
    // Before the token: a rebinding page must learn nothing, not even whether it guessed the token.
    if (!hostAllowed(req.headers.host, opts.hostNames)) {
      req.resume();
      throw new HttpError(421, 'This agent does not answer to that Host name (see --host-names)');
    }
    // Only the control plane calls the agent, and it is no browser: a request with an Origin is a
    // web page trying its luck.
    if (req.headers.origin !== undefined) {
      req.resume();
      throw new HttpError(403, 'Browsers may not call the Mini agent');
    }
    if (!authorized(req.headers.authorization, opts.token)) {
      req.resume();
      throw new HttpError(401, 'Missing or wrong bearer token');
    }
    const p = pathOf(req);
    const method = req.method ?? 'GET';

    if (p === agentPaths.health) {
      allow(method, ['GET']);
      return {
        status: 200,
        body: {
          ok: true,
          claws: agent.size,
          version: opts.version,
          memoryMb: Math.round(os.totalmem() / 2 ** 20),
          clawsMemoryMb: Math.round(agent.residentBytes() / 2 ** 20),
        },
      };
    }
    if (p === agentPaths.claws) {
      allow(method, ['GET', 'POST']);
      if (method === 'GET') return { status: 200, body: { ok: true, claws: agent.list() } };
      const input = parseBody(StartClawRequest, await readJson(req), 'claw');
      const result = await agent.startClaw(input);
      if (!result.ok) throw new HttpError(409, result.conflict, result.code ? { code: result.code } : {});
      return { status: 200, body: ok };
    }
    const claw = matchClawPath(p);
    if (claw) {
      let id: string;
      try {
        id = decodeURIComponent(claw.encodedId);
      } catch {
        throw new HttpError(400, 'Invalid claw id');
      }
      if (!ClawId.safeParse(id).success) throw new HttpError(400, 'Invalid claw id');
      if (claw.route === 'clawStatus') {
        allow(method, ['GET']);
        const s = agent.status(id);
        if (!s) throw new HttpError(404, `Unknown claw ${id}`);
        const { clawId: _id, port: _port, ...status } = s;
        return { status: 200, body: status };
      }
      if (claw.route === 'clawStop') {
        allow(method, ['POST']);
        await agent.pauseClaw(id);
        return { status: 200, body: ok };
      }
      if (claw.route === 'clawRestart') {
        allow(method, ['POST']);
        const r = await agent.restartClaw(id);
        if (r === 'unknown') throw new HttpError(404, `Unknown claw ${id}`);
        if (r === 'stopped') throw new HttpError(409, `Claw ${id} is stopped; start it instead`);
        return { status: 200, body: ok };
      }
      if (claw.route === 'clawLogs') {
        allow(method, ['GET']);
        const query = ClawLogsQuery.safeParse(
          Object.fromEntries(new URL(req.url ?? '/', 'http://x').searchParams),
        );
        if (!query.success) throw new HttpError(400, 'Invalid logs query: limit 1–2000, after ≥ 0');
        const logs = agent.logs(id, query.data);
        if (!logs) throw new HttpError(404, `Unknown claw ${id}`);
        return { status: 200, body: { ok: true, ...logs } };
      }
      if (claw.route === 'clawUsage') {
        allow(method, ['GET']);
        if (!agent.status(id)) throw new HttpError(404, `Unknown claw ${id}`);
        return { status: 200, body: { ok: true, ...(agent.usage(id) ?? { diskBytes: 0, samples: [] }) } };
      }
      if (claw.route === 'clawBackup') {
        allow(method, ['POST']);
        const input = parseBody(BackupClawRequest, await readJson(req), 'backup request');
        const r = await backupFailures(agent.backupClaw(id, input));
        if (r === 'unknown') throw new HttpError(404, `Unknown claw ${id}`);
        return { status: 200, body: { ok: true, ...r } };
      }
      if (claw.route === 'clawRestore') {
        allow(method, ['POST']);
        const input = parseBody(RestoreClawRequest, await readJson(req), 'restore request');
        const r = await backupFailures(agent.restoreClaw(id, input));
        if (r === 'unknown') throw new HttpError(404, `Unknown claw ${id}`);
        return { status: 200, body: ok };
      }
      allow(method, ['DELETE']);
      await agent.stopClaw(id);
      return { status: 200, body: ok };
    }
    throw new HttpError(404, `No route ${method} ${p}`);
  }

  return server;
}

/** The body as `schema` takes it, or a 400 that lists what is wrong (never the values themselves). */
function parseBody<T extends z.ZodType>(schema: T, body: unknown, what: string): z.infer<T> {
  const input = schema.safeParse(body);
  if (input.success) return input.data;
  const issues = input.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  throw new HttpError(
    400,
    `Invalid ${what}: ${issues.map((i) => `${i.path || 'body'}: ${i.message}`).join('; ')}`,
    {
      issues,
    },
  );
}

/** A backup or restore that failed in a way the contract names becomes its status (and code). */
function backupFailures<T>(p: Promise<T>): Promise<T> {
  return p.catch((err: unknown) => {
    if (err instanceof BackupFailure)
      throw new HttpError(err.status, err.message, err.code ? { code: err.code } : {});
    throw err;
  });
}

function pathOf(req: http.IncomingMessage): string {
  const raw = (req.url ?? '/').split('?')[0]!;
  return raw.length > 1 ? raw.replace(/\/+$/, '') : raw;
}

function allow(method: string, methods: string[]): void {
  if (!methods.includes(method)) throw new HttpError(405, `Method ${method} not allowed here`);
}

function authorized(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  // Always compare, so a missing header takes as long as a wrong one.
  return sameSecret(m?.[1] ?? '', token) && m !== null;
}

function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES;
    // Too large: keep draining (bounded by the request timeout) so the client still reads our 413.
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      if (!tooLarge) chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      if (tooLarge) return reject(new HttpError(413, `Body larger than ${MAX_BODY_BYTES} bytes`));
      const text = Buffer.concat(chunks).toString('utf8');
      if (!text.trim()) return reject(new HttpError(400, 'A JSON body is required'));
      try {
        resolve(JSON.parse(text) as unknown);
      } catch {
        reject(new HttpError(400, 'The body is not valid JSON'));
      }
    });
  });
}

function send(res: http.ServerResponse, status: number, body: Answer['body'] | ErrorResponse): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}
