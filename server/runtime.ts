import type { ClawsDatabase, ConnectionMonitor, SessionSettings } from '../db/client';
import { openDatabase } from '../db/open';
import { EventStore } from '../events/store';
import { inlineProjections } from '../projections';
import { configurePasswordHashing } from './auth/passwords';
import { createBucketStore, type BucketStore } from './buckets';
import { config as processConfig, type Config } from './config';
import { createLogger, type Logger } from './log';
import { loadOrCreateLocalKeyRing } from './secrets/local-keyring';
import { parseKeyRing } from './secrets/keyring';
import { SecretStore, type KeyRing } from './secrets/secret-store';

/**
 * The process's shared services: one database (PGlite allows exactly one opener), one event store,
 * the secret store. Next bundles route handlers into a separate module graph from server/main.ts,
 * so the instance lives on globalThis, where both graphs find the same one.
 */
export interface Runtime {
  config: Config;
  database: ClawsDatabase;
  store: EventStore;
  secrets: SecretStore;
  keyRing: KeyRing;
  /** The claws' backup buckets (R2 when configured, else local directories served on loopback). */
  buckets: BucketStore;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** What this process is, in its sessions' application_name: server, worker, cli. */
  component?: string;
  log?: Logger;
}

export async function createRuntime(cfg: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  configurePasswordHashing(cfg);
  const keyRing = cfg.CLAWS_SECRET_KEYS
    ? parseKeyRing(cfg.CLAWS_SECRET_KEYS)
    : loadOrCreateLocalKeyRing(cfg.dataDir);
  const log = options.log ?? createLogger(cfg.LOG_LEVEL, { component: 'db' });
  const database = await openDatabase({
    ...cfg,
    session: sessionSettings(cfg, options.component ?? 'server'),
    monitor: connectionMonitor(log),
    connectRetryMs: cfg.DATABASE_CONNECT_RETRY_MS,
  });
  const store = createEventStore(database);
  const secrets = new SecretStore(database.db, keyRing);
  const buckets = bucketStoreFor(cfg);
  return {
    config: cfg,
    database,
    store,
    secrets,
    keyRing,
    buckets,
    async close() {
      await buckets.close();
      await store.close();
      await database.close();
    },
  };
}

/** R2 (any S3) when an endpoint and keys are configured, else local directories. */
export const bucketStoreFor = (cfg: Config): BucketStore =>
  createBucketStore(
    cfg.R2_ENDPOINT && cfg.R2_ACCESS_KEY_ID && cfg.R2_SECRET_ACCESS_KEY
      ? {
          endpoint: cfg.R2_ENDPOINT,
          accessKeyId: cfg.R2_ACCESS_KEY_ID,
          secretAccessKey: cfg.R2_SECRET_ACCESS_KEY,
          region: cfg.R2_REGION,
        }
      : {
          rootDir: cfg.BUCKET_DIR ?? `${cfg.dataDir}/buckets`,
          listenHost: cfg.BUCKET_LISTEN_HOST,
          listenPort: cfg.BUCKET_LISTEN_PORT,
          publicBaseUrl: cfg.BUCKET_PUBLIC_URL,
        },
  );

/** The settings every PostgreSQL session of this process starts with (config.ts has the defaults). */
export const sessionSettings = (cfg: Config, component: string): SessionSettings => ({
  applicationName: `${cfg.DATABASE_APPLICATION_NAME}-${component}`,
  statementTimeoutMs: cfg.DATABASE_STATEMENT_TIMEOUT_MS,
  idleInTransactionTimeoutMs: cfg.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
});

/** A lost connection is worth a line (the pool and the listener heal by themselves). */
export const connectionMonitor = (log: Logger): ConnectionMonitor => ({
  lost: (source, err) => log.warn('database connection lost', { source, error: err.message }),
  restored: (source) => log.info('database connection restored', { source }),
});

/** The event store with every inline projection registered: the one way the log is written. */
export const createEventStore = (database: ClawsDatabase) =>
  new EventStore(database, { projections: inlineProjections });

const holder = globalThis as typeof globalThis & { __clawsRuntime?: Promise<Runtime> };

/** The process-wide runtime, created on first use from the environment's configuration. */
export function getRuntime(): Promise<Runtime> {
  holder.__clawsRuntime ??= createRuntime(processConfig()).catch((err) => {
    holder.__clawsRuntime = undefined;
    throw err;
  });
  return holder.__clawsRuntime;
}

/** Installs an already-created runtime as the process-wide one (server/main.ts, tests). */
export function setRuntime(runtime: Runtime): void {
  holder.__clawsRuntime = Promise.resolve(runtime);
}

export async function closeRuntime(): Promise<void> {
  const r = holder.__clawsRuntime;
  holder.__clawsRuntime = undefined;
  await (await r?.catch(() => undefined))?.close();
}
