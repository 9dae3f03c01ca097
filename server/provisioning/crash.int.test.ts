// test: serial (starts many gateway processes, or the real OpenClaw gateway: it runs alone)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createDatabase } from '../../db/client';
import { migrateToLatest } from '../../db/migrate';
import { prng } from '../../tests/fixtures/history';
import { createTestDatabase, testDrivers, type TestDatabase } from '../../tests/fixtures/db';
import {
  commandContext,
  registerAgentAsMini,
  startAgent,
  testKeySpec,
  testRuntime,
  testWorker,
  type AgentProcess,
} from '../../tests/fixtures/fleet';
import { isPortOpen, runTs, waitFor, tempDir } from '../../tests/fixtures/processes';
import { deleteClaw, requestClaw } from '../claws/commands';
import { createAgentClient } from '../fleet/agent-client';
import { createOrganization } from '../orgs/organizations';
import type { Runtime } from '../runtime';

const RUNS = Number(process.env.CRASH_RUNS ?? 20);

for (const driver of testDrivers()) {
  describe(`crash safety on ${driver}`, () => {
    const keySpec = testKeySpec();
    const work = tempDir('claws-crash-');
    const bucketDir = path.join(work, 'buckets');
    let pg: TestDatabase | undefined;
    let agent: AgentProcess;
    let workerEnv: Record<string, string | undefined>;

    /** PGlite has one owner at a time: the test opens the database only between worker runs. */
    async function withRuntime<T>(fn: (rt: Runtime) => Promise<T>): Promise<T> {
      const database = pg ?? (await createDatabase({ dataDir: path.join(work, 'pglite') }));
      const rt = testRuntime(database, keySpec);
      try {
        return await fn(rt);
      } finally {
        await rt.close();
        if (!pg) await database.close();
      }
    }

    before(async () => {
      if (driver === 'pg') pg = await createTestDatabase('pg');
      else {
        const d = await createDatabase({ dataDir: path.join(work, 'pglite') });
        await migrateToLatest(d.db);
        await d.close();
      }
      agent = await startAgent();
      workerEnv = {
        ...(pg ? { DATABASE_URL: pg.url } : { DATABASE_URL: '', DATA_DIR: work }),
        CLAWS_SECRET_KEYS: keySpec,
        BUCKET_DIR: bucketDir,
        WORKER_POLL_MS: '100',
        WORKER_BACKOFF_BASE_MS: '50',
        WORKER_BACKOFF_MAX_MS: '300',
        WORKER_MAX_ATTEMPTS: '20',
        HEALTH_INTERVAL_MS: '600000',
        AGENT_TIMEOUT_MS: '3000',
        LOG_LEVEL: 'error',
      };
      await withRuntime(async (rt) => {
        await registerAgentAsMini(rt, agent, { capacity: RUNS + 5 });
        await createOrganization(rt.database.db, { name: 'Crash', slug: 'crash' });
      });
    });
    after(async () => {
      await agent?.stop();
      await pg?.close();
      fs.rmSync(work, { recursive: true, force: true });
    });

    it(`finishes every claw, with no duplicate port and no orphaned gateway, after ${RUNS} SIGKILLs of the worker`, async () => {
      const rnd = prng(Number(process.env.CRASH_SEED ?? Date.now() % 100_000));
      const deleted: { id: string; port: number }[] = [];
      for (let run = 0; run < RUNS; run++) {
        await withRuntime(async (rt) => {
          const ctx = commandContext(rt, 'user:crash');
          const org = (
            await rt.database.db
              .selectFrom('organizations')
              .select('id')
              .where('slug', '=', 'crash')
              .executeTakeFirstOrThrow()
          ).id;
          await requestClaw(ctx, { orgId: org, name: `crash ${run}` });
          if (run % 5 === 4) {
            const victim = await rt.database.db
              .selectFrom('claws')
              .select(['id', 'mini_port'])
              .where('status', '=', 'active')
              .orderBy('created_at')
              .executeTakeFirst();
            if (victim) {
              await deleteClaw(ctx, victim.id);
              deleted.push({ id: victim.id, port: victim.mini_port! });
            }
          }
        });
        const worker = runTs('scripts/claws-cli.ts', ['worker'], workerEnv);
        await new Promise((r) => setTimeout(r, 300 + rnd.int(2200)));
        await worker.kill('SIGKILL');
      }

      // Restarted (here, in process), the worker finishes everything the killed ones left.
      await withRuntime(async (rt) => {
        const { worker } = testWorker(rt, { bucketDir, maxAttempts: 20 });
        worker.start();
        try {
          // A bound, not a timing assertion: twenty dev gateways start here, slowly on a busy machine.
          let open: { slug: string; status: string; last_error: string | null }[] = [];
          await waitFor(
            'every claw to settle',
            async () => {
              open = await rt.database.db
                .selectFrom('claws')
                .select(['slug', 'status', 'last_error'])
                .where((eb) =>
                  eb.or([eb('work_pending', '=', true), eb('status', 'not in', ['active', 'deleted'])]),
                )
                .execute();
              return open.length === 0;
            },
            240_000,
            200,
          ).catch((err: Error) => {
            throw new Error(
              `${err.message}; still open: ${open.map((c) => `${c.slug}:${c.status}:${c.last_error}`).join(', ')}`,
            );
          });
        } finally {
          await worker.stop();
        }
        const claws = await rt.database.db.selectFrom('claws').selectAll().execute();
        const live = claws.filter((c) => c.status !== 'deleted');
        assert.equal(claws.length, RUNS);
        assert.ok(
          live.every((c) => c.status === 'active'),
          claws.map((c) => `${c.slug}:${c.status}:${c.last_error}`).join(', '),
        );
        const ports = live.map((c) => `${c.mini_id}:${c.mini_port}`);
        assert.equal(new Set(ports).size, ports.length, 'no duplicate (mini, port)');
        const mini = await rt.database.db.selectFrom('mac_minis').selectAll().executeTakeFirstOrThrow();
        assert.equal(mini.allocated, live.length, 'allocated count matches the claws holding ports');

        // The agent runs exactly the active claws' gateways: none orphaned, none missing.
        const agentClient = createAgentClient({
          baseUrl: agent.url,
          token: agent.token,
          certFingerprint: agent.fingerprint,
          timeoutMs: 3000,
        });
        const onAgent = await agentClient.listClaws();
        const agentIds = onAgent.map((c) => c.clawId).sort();
        assert.deepEqual(agentIds, live.map((c) => c.id).sort());
        for (const c of live)
          assert.equal(await isPortOpen(c.mini_port!), true, `gateway of ${c.slug} listens`);
        for (const d of deleted) {
          const reused = live.some((c) => c.mini_port === d.port);
          if (!reused)
            assert.equal(await isPortOpen(d.port), false, `deleted claw's gateway on ${d.port} is gone`);
        }
      });
    });
  });
}
