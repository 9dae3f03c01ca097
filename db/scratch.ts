import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDatabase, type ClawsDatabase } from './client';
import { migrateToLatest } from './migrate';

export interface ScratchDatabase extends ClawsDatabase {
  readonly kind: 'pg';
  /** The URL of this database (child processes can connect to it). */
  readonly url: string;
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
 * A fresh, migrated PostgreSQL database on the server `adminUrl` points at, for one test or one
 * benchmark; closing it drops it. The name is random, so concurrent runs never meet.
 */
export async function createScratchDatabase(
  adminUrl: string,
  opts: { prefix?: string; poolSize?: number } = {},
): Promise<ScratchDatabase> {
  const name = `${opts.prefix ?? 'claws_t'}_${randomBytes(6).toString('hex')}`;
  await admin(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database = await createDatabase({ url: url.toString(), poolSize: opts.poolSize ?? 20 });
  try {
    await migrateToLatest(database.db);
  } catch (err) {
    await database.close();
    await admin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    throw err;
  }
  return {
    ...database,
    kind: 'pg',
    url: url.toString(),
    async close() {
      await database.close();
      await admin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
