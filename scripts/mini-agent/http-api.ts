import http from 'node:http';
import { z } from 'zod';
import type { Logger } from '../../server/log';
import { sameSecret, type MiniAgent } from './agent';
import { ControlPlaneDevice } from './state-store';

/**
 * The Mini Agent API (DESIGN.md "Mini Agent API"). Every answer is JSON; every failure is a non-2xx
 * status with `{ok:false, error}`. Every route needs `Authorization: Bearer <agent token>`.
 *
 *   POST   /claws             {clawId, port, gatewayToken, controlPlaneDevice?} → 200 {ok:true}
 *   GET    /claws/:id/status  → 200 {status, paired, deviceId?, pid?, restarts, error?} | 404
 *   DELETE /claws/:id         → 200 {ok:true} (also for unknown claws)
 *   GET    /claws             → 200 {ok:true, claws:[…]} (no tokens)
 *   GET    /health            → 200 {ok:true, claws, version}
 */

const MAX_BODY_BYTES = 64 * 1024;

export const ClawId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'letters, digits, _ and - only, starting with a letter or digit');

export const StartClawBody = z.object({
  clawId: ClawId,
  port: z.number().int().min(1024).max(65535),
  gatewayToken: z
    .string()
    .min(16)
    .max(512)
    .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces'),
  controlPlaneDevice: ControlPlaneDevice.optional(),
});

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export function createAgentHttpServer(
  agent: MiniAgent,
  opts: { token: string; version: string; log: Logger },
) {
  const server = http.createServer((req, res) => {
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
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;

  async function handle(req: http.IncomingMessage): Promise<{ status: number; body: unknown }> {
    if (!authorized(req.headers.authorization, opts.token)) {
      req.resume();
      throw new HttpError(401, 'Missing or wrong bearer token');
    }
    const p = pathOf(req);
    const method = req.method ?? 'GET';
    const parts = p.split('/').filter(Boolean);

    if (p === '/health') {
      allow(method, ['GET']);
      return { status: 200, body: { ok: true, claws: agent.size, version: opts.version } };
    }
    if (p === '/claws') {
      allow(method, ['GET', 'POST']);
      if (method === 'GET') return { status: 200, body: { ok: true, claws: agent.list() } };
      const input = StartClawBody.safeParse(await readJson(req));
      if (!input.success) {
        const issues = input.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
        throw new HttpError(
          400,
          `Invalid claw: ${issues.map((i) => `${i.path || 'body'}: ${i.message}`).join('; ')}`,
          {
            issues,
          },
        );
      }
      const result = await agent.startClaw(input.data);
      if (!result.ok) throw new HttpError(409, result.conflict);
      return { status: 200, body: { ok: true } };
    }
    if (parts[0] === 'claws' && (parts.length === 2 || (parts.length === 3 && parts[2] === 'status'))) {
      let id: string;
      try {
        id = decodeURIComponent(parts[1]!);
      } catch {
        throw new HttpError(400, 'Invalid claw id');
      }
      if (!ClawId.safeParse(id).success) throw new HttpError(400, 'Invalid claw id');
      if (parts.length === 3) {
        allow(method, ['GET']);
        const s = agent.status(id);
        if (!s) throw new HttpError(404, `Unknown claw ${id}`);
        const { clawId: _id, port: _port, ...status } = s;
        return { status: 200, body: status };
      }
      allow(method, ['DELETE']);
      await agent.stopClaw(id);
      return { status: 200, body: { ok: true } };
    }
    throw new HttpError(404, `No route ${method} ${p}`);
  }

  return server;
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

function send(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}
