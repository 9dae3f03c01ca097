import { openDatabase } from '../db/open';
import { loadConfig } from '../server/config';
import { createEventStore } from '../server/runtime';
import { runMain } from './lib/run-main';

/** `npm run projections:rebuild`: replays the whole log into fresh `claws` and `mac_minis` rows. */
await runMain(async () => {
  const database = await openDatabase(loadConfig());
  const store = createEventStore(database);
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
    await database.close();
  }
});
