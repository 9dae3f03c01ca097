import { createDatabase } from '../db/client';
import { migrateToLatest } from '../db/migrate';
import { loadConfig } from '../server/config';
import { runMain } from './lib/run-main';

/** `npm run db:migrate`: brings the configured database to the latest schema. */
await runMain(async () => {
  const cfg = loadConfig();
  const database = await createDatabase(
    cfg.DATABASE_URL ? { url: cfg.DATABASE_URL } : { dataDir: cfg.pgliteDir },
  );
  try {
    const applied = await migrateToLatest(database.db);
    console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'Database is up to date.');
  } finally {
    await database.close();
  }
});
