import { createDatabase, type ClawsDatabase, type ConnectionMonitor, type SessionSettings } from './client';
import { migrateToLatest } from './migrate';
import { currentRole, grantAppRole } from './roles';

export interface OpenDatabaseConfig {
  DATABASE_URL?: string;
  /** The schema owner's URL: migrations run as it, then the application role is granted its privileges. */
  DATABASE_OWNER_URL?: string;
  pgliteDir: string;
  poolSize?: number;
  session?: SessionSettings;
  monitor?: ConnectionMonitor;
  connectRetryMs?: number;
}

/**
 * The configured database (PostgreSQL with DATABASE_URL, else PGlite under DATA_DIR), migrated.
 * With DATABASE_OWNER_URL the migration runs as the owner and the connection returned is the
 * application's; without it the one URL does both, as before there were two roles.
 */
export async function openDatabase(cfg: OpenDatabaseConfig): Promise<ClawsDatabase> {
  const database = await createDatabase(
    cfg.DATABASE_URL
      ? {
          url: cfg.DATABASE_URL,
          poolSize: cfg.poolSize,
          session: cfg.session,
          monitor: cfg.monitor,
          connectRetryMs: cfg.connectRetryMs,
        }
      : { dataDir: cfg.pgliteDir },
  );
  try {
    if (cfg.DATABASE_URL && cfg.DATABASE_OWNER_URL)
      await migrateAsOwner(cfg.DATABASE_OWNER_URL, database, cfg.session);
    else await migrateToLatest(database.db);
  } catch (err) {
    await database.close();
    throw err;
  }
  return database;
}

/**
 * Migrates as the owner, then grants the role `app` logs in as (whatever its URL says, or the
 * driver's default user) its privileges on every table, new ones included. Returns the migrations
 * applied.
 */
export async function migrateAsOwner(
  ownerUrl: string,
  app: ClawsDatabase,
  session: SessionSettings = {},
): Promise<string[]> {
  const appRole = await currentRole(app.db);
  const owner = await openOwner(ownerUrl, session, 'migrate');
  try {
    const applied = await migrateToLatest(owner.db);
    if ((await currentRole(owner.db)) !== appRole) await grantAppRole(owner.db, appRole);
    return applied;
  } finally {
    await owner.close();
  }
}

/**
 * A connection as the schema owner, for migrations and the projection rebuild. No statement
 * timeout of ours: a rebuild replays the whole log in one transaction (an idle transaction is
 * still cut, so a stuck one never holds the SHARE lock on events for long).
 */
export function openOwner(ownerUrl: string, session: SessionSettings, purpose: string) {
  return createDatabase({
    url: ownerUrl,
    poolSize: 2,
    session: {
      applicationName: `${session.applicationName ?? 'claws'}-${purpose}`,
      idleInTransactionTimeoutMs: session.idleInTransactionTimeoutMs,
    },
  });
}
