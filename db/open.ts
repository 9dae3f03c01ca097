import { createDatabase, type ClawsDatabase } from './client';
import { migrateToLatest } from './migrate';

/** The configured database (PostgreSQL with DATABASE_URL, else PGlite under DATA_DIR), migrated. */
export async function openDatabase(cfg: {
  DATABASE_URL?: string;
  pgliteDir: string;
}): Promise<ClawsDatabase> {
  const database = await createDatabase(
    cfg.DATABASE_URL ? { url: cfg.DATABASE_URL } : { dataDir: cfg.pgliteDir },
  );
  try {
    await migrateToLatest(database.db);
  } catch (err) {
    await database.close();
    throw err;
  }
  return database;
}
