import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { ClawsDatabase, ConnectionMonitor, SessionSettings } from './client';
import { openDatabase, openOwner } from './open';
import { grantAppRole } from './roles';

/** The two roles of a scratch database, as README's "PostgreSQL in production" creates them. */
export const SCRATCH_ROLES = { owner: 'claws_owner', app: 'claws_app' } as const;

export interface ScratchDatabase extends ClawsDatabase {
  readonly kind: 'pg';
  /** The URL of this database as the application role (child processes can connect to it). */
  readonly url: string;
  /** The same database as its owner (migrations, the rebuild). */
  readonly ownerUrl: string;
  /**
   * Runs `fn` on a connection as the owner (DDL, the rebuild), then grants the application role
   * its privileges again, as a migration would, so a table `fn` creates is the app's to use.
   */
  asOwner<T>(fn: (owner: ClawsDatabase) => Promise<T>): Promise<T>;
  /** Closes the pool and drops the database. */
  close(): Promise<void>;
}

async function admin<T>(adminUrl: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates the two roles if the cluster has not got them yet (.ci/postgres.sh creates them; another
 * cluster may not have). They log in with the admin URL's password, if it has one. Suites run in
 * parallel, so a role created by another suite in the meantime is not an error.
 */
async function ensureRoles(adminUrl: string): Promise<void> {
  const password = decodeURIComponent(new URL(adminUrl).password);
  await admin(adminUrl, async (c) => {
    for (const role of Object.values(SCRATCH_ROLES)) {
      const withPassword = password ? ` PASSWORD ${c.escapeLiteral(password)}` : '';
      await c.query(`
        DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${c.escapeLiteral(role)}) THEN
            CREATE ROLE ${pg.escapeIdentifier(role)} LOGIN${withPassword};
          END IF;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END $$`);
    }
  });
}

const urlFor = (base: string, user: string, database: string) => {
  const url = new URL(base);
  url.username = encodeURIComponent(user);
  url.pathname = `/${database}`;
  return url.toString();
};

/**
 * A fresh, migrated PostgreSQL database on the server `adminUrl` (a superuser) points at, for one
 * test or one benchmark; closing it drops it. The name is random, so concurrent runs never meet.
 * It is set up as production should be: owned by `claws_owner`, which runs the migrations, and
 * used through `claws_app`, which may only append to and read the log.
 */
export async function createScratchDatabase(
  adminUrl: string,
  opts: { prefix?: string; poolSize?: number; session?: SessionSettings; monitor?: ConnectionMonitor } = {},
): Promise<ScratchDatabase> {
  const name = `${opts.prefix ?? 'claws_t'}_${randomBytes(6).toString('hex')}`;
  await ensureRoles(adminUrl);
  await admin(adminUrl, (c) =>
    c.query(`CREATE DATABASE ${name} OWNER ${pg.escapeIdentifier(SCRATCH_ROLES.owner)}`),
  );
  const drop = () => admin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  const url = urlFor(adminUrl, SCRATCH_ROLES.app, name);
  const ownerUrl = urlFor(adminUrl, SCRATCH_ROLES.owner, name);
  let database: ClawsDatabase;
  try {
    database = await openDatabase({
      DATABASE_URL: url,
      DATABASE_OWNER_URL: ownerUrl,
      pgliteDir: '',
      poolSize: opts.poolSize ?? 20,
      session: opts.session,
      monitor: opts.monitor,
    });
  } catch (err) {
    await drop();
    throw err;
  }
  return {
    ...database,
    kind: 'pg',
    url,
    ownerUrl,
    async asOwner(fn) {
      const owner = await openOwner(ownerUrl, opts.session ?? {}, 'test');
      try {
        const value = await fn(owner);
        await grantAppRole(owner.db, SCRATCH_ROLES.app);
        return value;
      } finally {
        await owner.close();
      }
    },
    async close() {
      await database.close();
      await drop();
    },
  };
}
