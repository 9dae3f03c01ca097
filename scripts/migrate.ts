import { createDatabase } from '../db/client';
import { migrateToLatest } from '../db/migrate';
import { migrateAsOwner } from '../db/open';
import { loadConfig } from '../server/config';
import { sessionSettings } from '../server/runtime';
import { runMain } from './lib/run-main';

/**
 * `npm run db:migrate`: brings the configured database to the latest schema. With
 * DATABASE_OWNER_URL the migrations run as the owner and DATABASE_URL's role is granted its
 * privileges afterwards (every table, new ones too).
 */
await runMain(async () => {
  const cfg = loadConfig();
  const session = sessionSettings(cfg, 'cli');
  const database = await createDatabase(
    cfg.DATABASE_URL ? { url: cfg.DATABASE_URL, poolSize: 1, session } : { dataDir: cfg.pgliteDir },
  );
  try {
    const applied =
      cfg.DATABASE_URL && cfg.DATABASE_OWNER_URL
        ? await migrateAsOwner(cfg.DATABASE_OWNER_URL, database, session)
        : await migrateToLatest(database.db);
    console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'Database is up to date.');
  } finally {
    await database.close();
  }
});
