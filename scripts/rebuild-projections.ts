import { openDatabase } from '../db/open';
import { rebuildProjections } from '../projections/rebuild';
import { loadConfig } from '../server/config';
import { runMain } from './lib/run-main';

/** `npm run projections:rebuild`: replays the whole log into fresh `claws` and `mac_minis` rows. */
await runMain(async () => {
  const database = await openDatabase(loadConfig());
  try {
    const started = performance.now();
    const r = await rebuildProjections(database.db);
    const ms = performance.now() - started;
    console.log(
      `Rebuilt ${r.claws} claws and ${r.minis} Minis from ${r.events} events in ${ms.toFixed(0)} ms` +
        (r.events ? ` (${Math.round((r.events / ms) * 1000)} events/s)` : ''),
    );
  } finally {
    await database.close();
  }
});
