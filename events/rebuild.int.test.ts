import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createDatabase, type ClawsDatabase } from '../db/client';
import { migrateToLatest } from '../db/migrate';
import { createEventStore } from '../server/runtime';
import { asOwnItsOwner, createTestDatabase, testDrivers, type TestDatabase } from '../tests/fixtures/db';
import { writeRandomHistory } from '../tests/fixtures/history';
import { inlineProjections } from '../projections';
import { clawToRow } from '../projections/claws';
import { miniToRow } from '../projections/minis';
import type { ClawState } from './claw';
import type { MiniState } from './mini';
import { projectLog } from './rebuild';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');

async function snapshot(database: ClawsDatabase) {
  const claws = await database.db.selectFrom('claws').selectAll().orderBy('id').execute();
  const minis = await database.db.selectFrom('mac_minis').selectAll().orderBy('id').execute();
  return { claws, minis };
}

for (const driver of testDrivers()) {
  describe(`projection rebuild on ${driver}`, () => {
    let database: TestDatabase;
    let dir: string | undefined;
    let env: Record<string, string | undefined>;
    const seed = Number(process.env.HISTORY_SEED ?? Date.now() % 100_000);

    before(async () => {
      if (driver === 'pg') {
        database = await createTestDatabase('pg');
        // The rebuild locks events against appends, which only the owner may: it runs as the owner.
        env = { ...process.env, DATABASE_URL: database.url, DATABASE_OWNER_URL: database.ownerUrl };
      } else {
        // A real data directory, so the rebuild script (another process) can open it after us.
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'claws-rebuild-'));
        database = asOwnItsOwner(await createDatabase({ dataDir: path.join(dir, 'pglite') }));
        await migrateToLatest(database.db);
        env = { ...process.env, DATABASE_URL: '', DATABASE_OWNER_URL: '', DATA_DIR: dir };
      }
    });
    after(async () => {
      await database.close();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it(`reproduces identical rows from a randomized history of 1,000+ events (seed ${seed})`, async () => {
      const store = createEventStore(database);
      const written = await writeRandomHistory(store, { seed, minEvents: 1200 });
      assert.ok(written >= 1000);
      const inline = await snapshot(database);
      assert.ok(inline.claws.length > 50, `history has many claw streams (${inline.claws.length})`);
      assert.ok(
        inline.claws.some((c) => c.status === 'deleted') && inline.claws.some((c) => c.status === 'active'),
      );
      assert.ok(inline.minis.some((m) => m.allocated > 0));

      // The in-memory fold agrees with the inline projections row for row (a Mini's allocated
      // count is the allocation projection's).
      const folded = await projectLog(database.db, inlineProjections, 97);
      const claws = [...folded.states.get('claws')!.values()] as ClawState[];
      assert.deepEqual(
        claws.map(clawToRow).sort((a, b) => a.id.localeCompare(b.id)),
        inline.claws,
      );
      const allocated = folded.accumulators.get('mini-allocation') as Map<string, number>;
      const minis = [...folded.states.get('minis')!.values()] as MiniState[];
      assert.deepEqual(
        minis
          .map((m) => ({ ...miniToRow(m), allocated: allocated.get(m.id) ?? 0 }))
          .sort((a, b) => a.id.localeCompare(b.id)),
        inline.minis,
      );

      // Corrupt the read models, then rebuild in process: they come back exactly.
      await database.db.updateTable('claws').set({ status: 'active', mini_port: null }).execute();
      await database.db.updateTable('mac_minis').set({ allocated: 0 }).execute();
      const r = await database.asOwner((owner) => createEventStore(owner).rebuild({ batchSize: 250 }));
      assert.equal(r.events, folded.events);
      assert.deepEqual(await snapshot(database), inline);
      await store.close();

      // And through `npm run projections:rebuild`, as an operator would run it.
      await database.db.deleteFrom('claws').execute();
      if (driver === 'pglite') await database.close();
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'scripts/rebuild-projections.ts'], {
        cwd: root,
        env: env as NodeJS.ProcessEnv,
      });
      assert.match(
        stdout,
        new RegExp(
          `Rebuilt ${inline.claws.length} claws and ${inline.minis.length} Minis from ${r.events} events`,
        ),
      );
      if (driver === 'pglite') {
        database = asOwnItsOwner(await createDatabase({ dataDir: path.join(dir!, 'pglite') }));
      }
      assert.deepEqual(await snapshot(database), inline);
    });
  });
}
