// test: serial (starts many gateway processes, or the real OpenClaw gateway: it runs alone)
import { clawsProjection } from '../../projections/claws';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../../tests/fixtures/db';
import {
  commandContext,
  registerAgentAsMini,
  startAgent,
  testKeySpec,
  testRuntime,
  type AgentProcess,
} from '../../tests/fixtures/fleet';
import { runTs, waitFor, type TsProcess, tempDir } from '../../tests/fixtures/processes';
import { requestClaw } from '../claws/commands';
import { createAgentClient } from '../fleet/agent-client';
import { createOrganization } from '../orgs/organizations';
import type { Runtime } from '../runtime';

const MINIS = 5;
const CAPACITY = 20;

// Two worker processes racing over one PostgreSQL: only PostgreSQL has concurrent sessions
// (PGlite is one process, one connection), so this property is tested there.
describe(
  'two workers, 100 concurrent requests, 5 Minis of capacity 20 (PostgreSQL)',
  { skip: !process.env.TEST_DATABASE_URL && 'needs TEST_DATABASE_URL (PostgreSQL)' },
  () => {
    const keySpec = testKeySpec();
    const work = tempDir('claws-conc-');
    let database: TestDatabase;
    let rt: Runtime;
    const agents: AgentProcess[] = [];
    const workers: TsProcess[] = [];

    before(async () => {
      database = await createTestDatabase('pg');
      rt = testRuntime(database, keySpec);
      for (let i = 0; i < MINIS; i++) {
        const agent = await startAgent();
        agents.push(agent);
        // Every Mini is this machine, so each gets its own port range.
        await registerAgentAsMini(rt, agent, {
          capacity: CAPACITY,
          ports: [23000 + i * 100, 23000 + i * 100 + CAPACITY - 1],
          hostname: `mini-${i}.test`,
        });
      }
      for (let i = 0; i < 2; i++)
        workers.push(
          runTs('scripts/claws-cli.ts', ['worker'], {
            DATABASE_URL: database.url,
            CLAWS_SECRET_KEYS: keySpec,
            BUCKET_DIR: path.join(work, 'buckets'),
            WORKER_POLL_MS: '200',
            WORKER_BACKOFF_BASE_MS: '100',
            WORKER_MAX_ATTEMPTS: '10',
            HEALTH_INTERVAL_MS: '600000',
            LOG_LEVEL: 'error',
          }),
        );
    });
    after(async () => {
      for (const w of workers) await w.kill('SIGTERM');
      await Promise.all(agents.map((a) => a.stop()));
      await rt?.close();
      await database?.close();
      fs.rmSync(work, { recursive: true, force: true });
    });

    it('gives 100 active claws with unique (mini, port), and the 101st fails with "no capacity"', async () => {
      const org = await createOrganization(database.db, { name: 'Busy', slug: 'busy' });
      const ctx = commandContext(rt, 'user:busy');
      const claws = await Promise.all(
        Array.from({ length: MINIS * CAPACITY }, (_, i) =>
          requestClaw(ctx, { orgId: org.id, name: `busy ${i}` }),
        ),
      );
      await waitFor(
        'all 100 claws active',
        async () => {
          const rows = await database.db.selectFrom('claws').select(['status', 'last_error']).execute();
          const failed = rows.filter((r) => r.status === 'failed');
          if (failed.length) throw new Error(`failed: ${failed.map((f) => f.last_error).join('; ')}`);
          return rows.filter((r) => r.status === 'active').length === claws.length;
        },
        180_000,
        500,
      );
      const rows = await database.db.selectFrom('claws').selectAll().execute();
      const pairs = rows.map((r) => `${r.mini_id}:${r.mini_port}`);
      assert.equal(new Set(pairs).size, 100, 'unique (mini, port)');
      const minis = await database.db.selectFrom('mac_minis').selectAll().execute();
      assert.deepEqual(
        minis.map((m) => m.allocated),
        Array(MINIS).fill(CAPACITY),
      );
      for (const agent of agents) {
        const listed = await createAgentClient({
          baseUrl: agent.url,
          token: agent.token,
          certFingerprint: agent.fingerprint,
          timeoutMs: 5000,
        }).listClaws();
        assert.equal(listed.length, CAPACITY);
      }
      const workerLogs = workers.map((w) => w.output()).join('\n');
      assert.ok(!/claw step crashed/.test(workerLogs), workerLogs.slice(0, 2000));

      const extra = await requestClaw(ctx, { orgId: org.id, name: 'one too many' });
      const failed = await waitFor('the 101st claw to fail', async () => {
        const c = await rt.store.load(clawsProjection, extra.id);
        return c?.status === 'failed' ? c : null;
      });
      assert.match(failed.lastError!, /no capacity/i);
      assert.equal(failed.miniPort, null);
    });
  },
);
