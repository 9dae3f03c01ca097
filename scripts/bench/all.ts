import { spawnSync } from 'node:child_process';
import path from 'node:path';

/** `npm run bench`: every benchmark, one after another (each prints its table and writes JSON). */
const root = path.resolve(import.meta.dirname, '../..');
let failed = 0;
for (const name of ['events', 'provision', 'live', 'proxy', 'recovery', 'auth-load']) {
  console.log(`\n=== bench:${name} ===`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', `scripts/bench/${name}.ts`], {
    cwd: root,
    stdio: 'inherit',
  });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
