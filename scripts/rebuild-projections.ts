import { openDatabase, openOwner } from '../db/open';
import { loadConfig } from '../server/config';
import { createEventStore, sessionSettings } from '../server/runtime';
import { runMain } from './lib/run-main';

/**
 * `npm run projections:rebuild`: replays the whole log into fresh `claws` and `mac_minis` rows.
 * With DATABASE_OWNER_URL it runs as the owner: the rebuild holds appends off with a SHARE lock on
 * events, which the application role may not take.
 */
await runMain(async () => {
  const cfg = loadConfig();
  const session = sessionSettings(cfg, 'cli');
  const database = await openDatabase({ ...cfg, session });
  const owner =
    cfg.DATABASE_URL && cfg.DATABASE_OWNER_URL
      ? await openOwner(cfg.DATABASE_OWNER_URL, session, 'rebuild')
      : database;
  const store = createEventStore(owner);
  try {
    const started = performance.now();
    const r = await store.rebuild();
    const ms = performance.now() - started;
    console.log(
      `Rebuilt ${r.rows.claws} claws and ${r.rows.minis} Minis from ${r.events} events in ${ms.toFixed(0)} ms` +
        (r.events ? ` (${Math.round((r.events / ms) * 1000)} events/s)` : ''),
    );
  } finally {
    await store.close();
    if (owner !== database) await owner.close();
    await database.close();
  }
});
