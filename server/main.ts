import http from 'node:http';
import next from 'next';
import { immutabilityBypass } from '../db/roles';
import { loadConfig } from './config';
import { startLocalDevMini } from './dev/local-mini';
import { FeedWatchdog } from './feed-watchdog';
import { createClawsUpgradeHandler } from './gateway/upgrade';
import { createOpsEndpoints } from './http-endpoints';
import { announceBootstrap } from './auth/bootstrap-announce';
import { hardenRequest } from './http/security-headers';
import { publicUrlOf } from './identity-config';
import { createLogger } from './log';
import { metrics } from './metrics';
import { keepRunningOnUnhandledRejections } from './process-guards';
import { startProvisioning } from './provisioning';
import { createRuntime, setRuntime } from './runtime';
import { beginShutdown, isShuttingDown, onShutdown, runShutdownPhase } from './shutdown';

/**
 * The custom server: one HTTP server for Next (pages, tRPC), health endpoints, and WebSocket
 * upgrades — ours for /api/ws/claws/…, Next's own for everything under /_next/ (hot reload).
 * STACK.md §1.2 has why it is shaped like this.
 */
// The machine may be offline; Next would otherwise try to report telemetry.
process.env.NEXT_TELEMETRY_DISABLED ??= '1';
// Next would "repair" package-lock.json from the registry on start; the lockfile is ours to manage.
process.env.NEXT_IGNORE_INCORRECT_LOCKFILE ??= '1';

/** How long shutdown waits for in-flight requests before it cuts the rest (SSE streams reconnect). */
const DRAIN_MS = 10_000;
/** Past this, shutdown gives up and exits 1. */
const SHUTDOWN_LIMIT_MS = 25_000;

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
keepRunningOnUnhandledRejections(log);
// Creating the runtime opens the database and migrates it to the latest schema.
const runtime = await createRuntime(cfg, { component: 'server', log: log.child({ component: 'db' }) }).catch(
  fatal,
);
setRuntime(runtime);
if (runtime.database.kind === 'pg') {
  const bypass = await immutabilityBypass(runtime.database.db);
  if (bypass)
    log.warn('the application role can change the event log despite its triggers', {
      why: bypass,
      fix: 'connect DATABASE_URL as a role that may only append (README: PostgreSQL in production)',
    });
}

// Identity (issue 16): the first platform admin comes from CLAWS_ADMIN_EMAILS or a one-time code;
// every response carries the security headers, every request the server's view of the client.
await announceBootstrap(runtime, log).catch(fatal);
const headerSettings = { ...cfg, https: publicUrlOf(cfg).startsWith('https:') };

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

// The chat proxy; it closes its sockets with 1001 when the server goes down.
const proxy = createClawsUpgradeHandler(runtime);
onShutdown('chat proxy', () => proxy.closeAll(1001, 'server restarting'), 'connections');

// /healthz, /readyz (503 while the database is away or shutdown has begun), /metrics.
const ops = createOpsEndpoints({
  db: runtime.database.db,
  registry: metrics().registry,
  metricsToken: cfg.METRICS_TOKEN,
  isShuttingDown,
});

// Live feeds wait below the oldest open transaction in the cluster; say which one when it lasts.
if (runtime.database.kind === 'pg') {
  const watchdog = new FeedWatchdog(runtime.database.db, {
    checkMs: cfg.FEED_STALL_CHECK_MS,
    warnMs: cfg.FEED_STALL_WARN_MS,
    gauge: metrics().liveFeedsHeldBackSeconds,
    log: log.child({ component: 'feed-watchdog' }),
  });
  watchdog.start();
  onShutdown('feed watchdog', () => watchdog.stop(), 'workers');
}

/** Requests being answered (not SSE streams, which never finish on their own). */
let inFlight = 0;

server.on('request', (req, res) => {
  hardenRequest(req, res, headerSettings);
  if (ops(req, res)) return;
  if (isShuttingDown()) res.setHeader('connection', 'close');
  if (!(req.headers.accept ?? '').includes('text/event-stream')) {
    inFlight++;
    res.once('close', () => inFlight--);
  }
  void handle(req, res);
});

server.on('upgrade', (req, socket, head) => {
  if (proxy.handleUpgrade(req, socket, head)) return;
  // Next's own listener (attached on the first request) serves /_next/ (hot reload); nobody
  // serves the rest, and an unanswered upgrade would hang the client.
  if (!(req.url ?? '').startsWith('/_next/'))
    socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
});

if (cfg.CLAWS_WORKER) {
  const provisioning = await startProvisioning(runtime, log);
  onShutdown('provisioning worker', () => provisioning.stop(), 'workers');
}
if (!cfg.production && cfg.CLAWS_DEV_MINI) {
  const devMini = await startLocalDevMini(runtime, log);
  onShutdown('local dev Mini', () => devMini.stop(), 'workers');
}

server.listen(cfg.PORT, cfg.HOST, () => {
  log.info(`Claws is listening on http://${cfg.HOST}:${cfg.PORT}`, {
    database: runtime.database.kind,
    worker: cfg.CLAWS_WORKER,
  });
});

async function shutdown(signal: string) {
  if (isShuttingDown()) return;
  beginShutdown();
  log.info('shutting down', { signal, inFlight });
  const force = setTimeout(() => {
    log.error('shutdown took too long; exiting', { limitMs: SHUTDOWN_LIMIT_MS });
    process.exit(1);
  }, SHUTDOWN_LIMIT_MS);
  force.unref();
  const report = (name: string, error: string) => log.warn('shutdown hook failed', { hook: name, error });

  // 1. Stop accepting; idle keep-alive connections go now.
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  // 2. Long-lived connections: WebSockets close with 1001.
  await runShutdownPhase('connections', 5_000, report);
  // 3. Let in-flight requests finish, then cut what is left (SSE streams reconnect elsewhere with
  //    their last event id).
  const drainUntil = Date.now() + DRAIN_MS;
  while (inFlight > 0 && Date.now() < drainUntil) await new Promise((r) => setTimeout(r, 50));
  server.closeAllConnections();
  // Sockets upgraded by others (Next's dev HMR) are not ours to wait for.
  await Promise.race([closed, new Promise((r) => setTimeout(r, 2_000))]);
  // 4. Background work, then the database.
  await runShutdownPhase('workers', 12_000, report);
  await runtime.close();
  log.info('stopped');
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
