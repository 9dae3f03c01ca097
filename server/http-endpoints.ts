import { createHash, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import { sql, type Kysely } from 'kysely';
import type { Registry } from 'prom-client';
import type { Database } from '../db/types';

export interface OpsEndpointDeps {
  db: Kysely<Database>;
  registry: Registry;
  /** /metrics needs `Authorization: Bearer <token>`; without one, only unforwarded loopback clients. */
  metricsToken?: string;
  isShuttingDown(): boolean;
  /** How long /readyz waits for the database before it says it is unreachable. */
  readyTimeoutMs?: number;
}

/**
 * The operator's endpoints on the custom server, before Next sees the request:
 * `/healthz` (the process lives), `/readyz` (it can serve: not shutting down, database answering;
 * 503 otherwise, so a load balancer sends traffic elsewhere while the database is away) and
 * `/metrics` (Prometheus). Returns false for every other path.
 */
export function createOpsEndpoints(deps: OpsEndpointDeps) {
  const readyTimeoutMs = deps.readyTimeoutMs ?? 2_000;
  const tokenDigest = deps.metricsToken ? sha256(deps.metricsToken) : null;

  async function ready(): Promise<{ status: number; body: unknown }> {
    if (deps.isShuttingDown()) return { status: 503, body: { ready: false, reason: 'shutting down' } };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), readyTimeoutMs);
    });
    try {
      await Promise.race([sql`SELECT 1`.execute(deps.db), timeout]);
      return { status: 200, body: { ready: true } };
    } catch {
      return { status: 503, body: { ready: false, reason: 'database unreachable' } };
    } finally {
      clearTimeout(timer);
    }
  }

  function mayReadMetrics(req: http.IncomingMessage): { status: number; message: string } | null {
    if (tokenDigest) {
      const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
      return m && timingSafeEqual(sha256(m[1]!), tokenDigest)
        ? null
        : { status: 401, message: 'bearer token required' };
    }
    // A reverse proxy on this host makes every visitor look local; what it forwarded is not.
    const forwarded = ['forwarded', 'x-forwarded-for', 'x-real-ip'].some((h) => req.headers[h] !== undefined);
    return isLoopback(req.socket.remoteAddress) && !forwarded
      ? null
      : { status: 403, message: 'set METRICS_TOKEN to read metrics from elsewhere' };
  }

  return function handle(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      json(res, 200, { ok: true });
      return true;
    }
    if (path === '/readyz') {
      void ready().then(({ status, body }) => json(res, status, body));
      return true;
    }
    if (path === '/metrics') {
      const refused = mayReadMetrics(req);
      if (refused) {
        res.writeHead(refused.status, {
          'content-type': 'text/plain',
          ...(refused.status === 401 ? { 'www-authenticate': 'Bearer' } : {}),
        });
        res.end(refused.message);
        return true;
      }
      deps.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': deps.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
      return true;
    }
    return false;
  };
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

function json(res: http.ServerResponse, status: number, body: unknown) {
  res
    .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
    .end(JSON.stringify(body));
}
