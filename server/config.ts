import path from 'node:path';
import { z } from 'zod';
import { identityEnv } from './identity-config';

/**
 * Every environment variable Claws reads, parsed once. Modules take the parsed `Config` (or the part
 * they need) as an argument instead of reading `process.env`, so tests can build their own.
 */
const emptyAsUndefined = (v: unknown) => (v === '' ? undefined : v);
const optionalString = z.preprocess(emptyAsUndefined, z.string().optional());
const bool = (fallback: boolean) =>
  z.preprocess(
    (v) =>
      v === undefined || v === '' ? fallback : ['1', 'true', 'yes', 'on'].includes(String(v).toLowerCase()),
    z.boolean(),
  );

/**
 * Where Next writes its build and its dev output (next.config.ts reads it through `nextDistDir`).
 * Next takes a lock in it (`<dir>/dev/lock` for a dev server, `<dir>/lock` for a build) and refuses
 * a second holder, so the servers tests start use their own directory beside a developer's
 * `npm run dev`. Relative to the project, inside it: Next resolves it against the project directory.
 */
const NextDistDir = z.preprocess(
  emptyAsUndefined,
  z
    .string()
    .default('.next')
    .refine(
      (d) => !path.isAbsolute(d) && !d.split(/[\\/]/).includes('..') && d !== 'public',
      'a directory inside the project, given relative to it (not public/)',
    ),
);

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** PostgreSQL connection string; without it Claws uses embedded PGlite under DATA_DIR. */
  DATABASE_URL: optionalString,
  DATA_DIR: z.string().default('.data'),
  DEPLOYMENT_TARGET: z.enum(['mac-mini', 'cloudflare']).default('mac-mini'),
  /** `k2:<base64 32 bytes>,k1:<…>`: first key encrypts, all decrypt. Generated into DATA_DIR for local runs. */
  CLAWS_SECRET_KEYS: optionalString,
  /** Public origin(s) of the dashboard, comma separated; the WebSocket proxy and mutations check them. */
  CLAWS_ALLOWED_ORIGINS: z.preprocess(emptyAsUndefined, z.string().optional()).transform((v, ctx) => {
    const origins: string[] = [];
    for (const raw of (v ?? '')
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean)) {
      const origin = originOf(raw);
      if (origin) origins.push(origin);
      else ctx.addIssue({ code: 'custom', message: `${JSON.stringify(raw)} is not an http(s) origin` });
    }
    return origins;
  }),
  TUNNEL_DOMAIN: z.string().default('claws.localhost'),
  /** tunnel: wss://<tunnelHostname> (Cloudflare); direct: the Mini's edge (server/gateway/upstream-url.ts). */
  UPSTREAM_MODE: z.enum(['tunnel', 'direct']).default('direct'),
  /** PEM file of CAs trusted for gateway connections besides the system's (a private CA; tests). */
  UPSTREAM_CA_FILE: optionalString,
  /** Tests: dial this IP for every tunnel hostname (TLS name and Host unchanged), where no DNS knows them. */
  UPSTREAM_TUNNEL_CONNECT_TO: z.preprocess(emptyAsUndefined, z.union([z.ipv4(), z.ipv6()]).optional()),
  R2_ENDPOINT: optionalString,
  R2_ACCESS_KEY_ID: optionalString,
  R2_SECRET_ACCESS_KEY: optionalString,
  R2_REGION: z.string().default('auto'),
  BUCKET_DIR: optionalString,
  /**
   * Local buckets (no R2 configured) are served to the Minis' agents from this address, through
   * presigned URLs; a Mini elsewhere needs BUCKET_PUBLIC_URL to reach it (or R2).
   */
  BUCKET_LISTEN_HOST: z.string().default('127.0.0.1'),
  BUCKET_LISTEN_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  BUCKET_PUBLIC_URL: optionalString,
  /** Every running claw is backed up this often (fleet-wide). */
  BACKUP_INTERVAL_MS: z.coerce.number().int().min(60_000).default(3_600_000),
  /** How often the backup scheduler looks for claws due, and how many it backs up at once. */
  BACKUP_CHECK_MS: z.coerce.number().int().positive().default(60_000),
  BACKUP_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(2),
  /** Retention: the newest N, plus the newest of each of the last N days and N weeks. */
  BACKUP_KEEP_LAST: z.coerce.number().int().min(1).default(5),
  BACKUP_KEEP_DAILY: z.coerce.number().int().min(0).default(7),
  BACKUP_KEEP_WEEKLY: z.coerce.number().int().min(0).default(4),
  /** How long a backup or restore may take on the Mini (hundreds of MB included). */
  BACKUP_TIMEOUT_MS: z.coerce.number().int().positive().default(600_000),
  CLAWS_WORKER: bool(true),
  /** Local runs only: start a Mini agent with dev gateways and register it when the fleet is empty. */
  CLAWS_DEV_MINI: bool(true),
  WORKER_POLL_MS: z.coerce.number().int().positive().default(1000),
  WORKER_MAX_ATTEMPTS: z.coerce.number().int().positive().default(5),
  WORKER_BACKOFF_BASE_MS: z.coerce.number().int().positive().default(1000),
  WORKER_BACKOFF_MAX_MS: z.coerce.number().int().positive().default(60_000),
  WORKER_READY_TIMEOUT_MS: z.coerce.number().int().positive().default(60_000),
  HEALTH_INTERVAL_MS: z.coerce.number().int().positive().default(10_000),
  /** How long a worker's claim on a claw lasts; renewed while a step runs, so a killed worker's claws move on after about this long. */
  WORKER_LEASE_MS: z.coerce.number().int().min(1000).default(10_000),
  /** How often each Mini's gateways are compared with the log (orphans stopped, missing ones restarted). */
  RECONCILE_INTERVAL_MS: z.coerce.number().int().positive().default(10_000),
  /** How long a Mini may be offline before it is lost (its claws' stops are given up). */
  MINI_LOST_AFTER_MS: z.coerce.number().int().positive().default(600_000),
  AGENT_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000),
  /** `npm run dev` only: the port of the local Mini agent it starts. */
  MINI_AGENT_PORT: z.coerce.number().int().min(1).max(65535).default(7070),
  /** `npm run seed:dev-mini`: the agent to register (default: the local one); also `claws mini register`'s token. */
  MINI_AGENT_URL: optionalString,
  MINI_AGENT_TOKEN: optionalString,
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  NEXT_DIST_DIR: NextDistDir,

  // ─── PostgreSQL roles and sessions, stalled live feeds, metrics ───────────────────────────
  /** The schema owner: migrations and the rebuild run as it; DATABASE_URL is then the application role. */
  DATABASE_OWNER_URL: optionalString,
  /** application_name of Claws' sessions (suffixed with the process: -server, -worker, -cli, -migrate). */
  DATABASE_APPLICATION_NAME: z.string().min(1).max(40).default('claws'),
  /** statement_timeout of the application's sessions; 0 leaves the server's. */
  DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(0).default(30_000),
  /** idle_in_transaction_session_timeout of every Claws session; 0 leaves the server's. */
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: z.coerce.number().int().min(0).default(15_000),
  /** How long a query waits for the database to accept connections again (a restart) before it fails. */
  DATABASE_CONNECT_RETRY_MS: z.coerce.number().int().min(0).default(5_000),
  /** How often the server looks for an open transaction holding the live feeds back. */
  FEED_STALL_CHECK_MS: z.coerce.number().int().positive().default(5_000),
  /** Held back this long, the transaction is named in a warning (repeated as long again while it lasts). */
  FEED_STALL_WARN_MS: z.coerce.number().int().positive().default(10_000),
  /** Bearer token for /metrics; without it only loopback clients that no proxy forwarded may read it. */
  METRICS_TOKEN: z.preprocess(emptyAsUndefined, z.string().min(16).optional()),

  // Identity, limits and hardening: server/identity-config.ts.
  ...identityEnv,
});

/** `https://claws.example.com/` → `https://claws.example.com`; null for anything but an http(s) origin. */
function originOf(value: string): string | null {
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    if (url.pathname !== '/' || url.search || url.hash || url.username) return null;
    return url.origin;
  } catch {
    return null;
  }
}

export type Env = z.infer<typeof EnvSchema>;

export interface Config extends Omit<Env, 'CLAWS_ALLOWED_ORIGINS'> {
  production: boolean;
  dataDir: string;
  pgliteDir: string;
  /** Origins allowed besides the server's own (CLAWS_ALLOWED_ORIGINS, normalized: no trailing `/`). */
  allowedOrigins: string[];
  /** The environment the configuration was read from, which child processes (the dev agent) inherit. */
  env: Readonly<Record<string, string | undefined>>;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  if (production && !e.CLAWS_SECRET_KEYS) {
    throw new ConfigError('CLAWS_SECRET_KEYS is required in production (no generated or default keys).');
  }
  const dataDir = path.resolve(e.DATA_DIR);
  const { CLAWS_ALLOWED_ORIGINS: allowedOrigins, ...rest } = e;
  return { ...rest, production, dataDir, pgliteDir: path.join(dataDir, 'pglite'), allowedOrigins, env };
}

/**
 * NEXT_DIST_DIR alone, for next.config.ts: `next build` runs with NODE_ENV=production and no
 * secrets, which the whole configuration would refuse.
 */
export function nextDistDir(env: Record<string, string | undefined> = process.env): string {
  const parsed = NextDistDir.safeParse(env.NEXT_DIST_DIR);
  if (!parsed.success)
    throw new ConfigError(`Invalid configuration:\n  NEXT_DIST_DIR: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

let cached: Config | undefined;
/** The process-wide configuration, parsed on first use. */
export function config(): Config {
  cached ??= loadConfig();
  return cached;
}
