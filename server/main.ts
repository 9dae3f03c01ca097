import http from 'node:http';
import next from 'next';
import { sql } from 'kysely';
import { loadConfig } from './config';
import { startLocalDevMini } from './dev/local-mini';
import { createClawsUpgradeHandler } from './gateway/upgrade';
import { createLogger } from './log';
import { startProvisioning } from './provisioning';
import { createRuntime, setRuntime } from './runtime';

/**
 * The custom server: one HTTP server for Next (pages, tRPC), health endpoints, and WebSocket
 * upgrades — ours for /api/ws/claws/…, Next's own for everything under /_next/ (hot reload).
 * STACK.md §1.2 has why it is shaped like this.
 */
// The machine may be offline; Next would otherwise try to report telemetry.
process.env.NEXT_TELEMETRY_DISABLED ??= '1';
// Next would "repair" package-lock.json from the registry on start; the lockfile is ours to manage.
process.env.NEXT_IGNORE_INCORRECT_LOCKFILE ??= '1';
/** A configuration or database problem at start is one clear line, not a stack trace. */
function fatal(err: unknown): never {
  console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
const cfg = (() => {
  try {
    return loadConfig();
  } catch (err) {
    fatal(err);
  }
})();
const log = createLogger(cfg.LOG_LEVEL, { component: 'server' });
const runtime = await createRuntime(cfg).catch(fatal);
setRuntime(runtime);

const server = http.createServer();
// Dev uses webpack: with Turbopack (16.4.6) this custom server's pages hit "HMR hash mismatch" on
// every connect and reloaded in a loop, which also cut the chat socket. Production builds are unaffected.
const app = next({
  dev: !cfg.production,
  hostname: cfg.HOST,
  port: cfg.PORT,
  httpServer: server,
  webpack: true,
});
await app.prepare();
const handle = app.getRequestHandler();
const proxy = createClawsUpgradeHandler(runtime);

server.on('request', (req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    return;
  }
  if (path === '/readyz') {
    sql`SELECT 1`.execute(runtime.database.db).then(
      () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ready":true}'),
      () => res.writeHead(503, { 'content-type': 'application/json' }).end('{"ready":false}'),
    );
    return;
  }
  void handle(req, res);
});

server.on('upgrade', (req, socket, head) => {
  if (proxy.handleUpgrade(req, socket, head)) return;
  // Next's own listener (attached on the first request) serves /_next/; nobody serves the rest.
  if (!(req.url ?? '').startsWith('/_next/'))
    socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
});

const provisioning = cfg.CLAWS_WORKER ? await startProvisioning(runtime, log) : undefined;
const devMini = !cfg.production && cfg.CLAWS_DEV_MINI ? await startLocalDevMini(runtime, log) : undefined;

server.listen(cfg.PORT, cfg.HOST, () => {
  log.info(`Claws is listening on http://${cfg.HOST}:${cfg.PORT}`, {
    database: runtime.database.kind,
    worker: Boolean(provisioning),
  });
});

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info('shutting down', { signal });
  const force = setTimeout(() => process.exit(1), 15_000);
  force.unref();
  server.close();
  server.closeIdleConnections();
  await proxy.closeAll(1001, 'server restarting');
  await provisioning?.stop();
  await devMini?.stop();
  await runtime.close();
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
