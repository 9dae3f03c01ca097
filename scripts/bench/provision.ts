import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createScratchDatabase } from '../../db/scratch';
import type { ClawEvent } from '../../events/claw';
import { clawsProjection } from '../../projections/claws';
import { minisProjection } from '../../projections/minis';
import { createEventStore } from '../../server/runtime';
import type { ClawState } from '../../events/claw';
import { LocalBucketStore, bucketNameForClaw } from '../../server/buckets';
import { requestClaw } from '../../server/claws/commands';
import { createDeploymentServices } from '../../server/deployment';
import { registerMini } from '../../server/fleet/commands';
import { silentLogger } from '../../server/log';
import { createOrganization } from '../../server/orgs/organizations';
import { ProvisioningWorker } from '../../server/provisioning/worker';
import { loadConfig } from '../../server/config';
import { parseKeyRing } from '../../server/secrets/keyring';
import { SecretStore } from '../../server/secrets/secret-store';
import { benchPostgres } from './lib/postgres';
import { printTable, summarize, writeResults } from './lib/report';

/**
 * `npm run bench:provision` (PostgreSQL): 500 claws over 10 Minis whose agent answers instantly (a
 * stand-in for Minis this machine does not have), through the real worker; control-plane overhead
 * per claw (request → active) and claws/s, next to the bare appends the lifecycle makes, same run.
 */
const CLAWS = Number(process.env.BENCH_CLAWS ?? 500);
const MINIS = 10;

function instantAgent() {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.method === 'GET' && req.url?.endsWith('/status'))
        return res.end('{"status":"running","paired":true}');
      if (req.url === '/health') return res.end('{"ok":true,"claws":0,"version":"bench"}');
      res.end('{"ok":true}');
    });
  });
  return new Promise<{ url: string; close(): void }>((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => server.close(),
      }),
    ),
  );
}

async function freshDb(adminUrl: string) {
  const database = await createScratchDatabase(adminUrl, { prefix: 'claws_bench' });
  return { database, drop: () => database.close() };
}

const pgServer = benchPostgres();
const agent = await instantAgent();
try {
  // 1. Through the worker.
  const { database, drop } = await freshDb(pgServer.url);
  const keyRing = parseKeyRing(`b1:${Buffer.alloc(32, 7).toString('base64')}`);
  const store = createEventStore(database);
  const secrets = new SecretStore(database.db, keyRing);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'claws-bench-prov-'));
  const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir });
  const buckets = new LocalBucketStore({ rootDir: path.join(dataDir, 'buckets') });
  const runtime = { config, database, store, secrets, keyRing, buckets, close: () => buckets.close() };
  // An instant plain-HTTP stand-in for the agent: the bench measures the control plane alone.
  const ctx = { store, secrets, actor: 'system:bench' as const, production: false };
  for (let i = 0; i < MINIS; i++)
    await registerMini(ctx, {
      hostname: `bench-${i}.local`,
      agentUrl: agent.url,
      agentToken: 'bench-agent-token-0123456789',
      tunnelSuffix: 'bench',
      portRangeStart: 30000 + i * 100,
      portRangeEnd: 30000 + i * 100 + 99,
      capacity: Math.ceil(CLAWS / MINIS),
    });
  const org = await createOrganization(database.db, { name: 'Bench', slug: 'bench' });
  const deployments = createDeploymentServices(runtime);
  const worker = new ProvisioningWorker(
    {
      store,
      secrets,
      buckets,
      deploymentFor: deployments.forTarget,
      // The gateway handshake is on the Mini too; here it answers at once, like the agent.
      verifyAccess: async () => ({ ok: true, deviceId: 'ab'.repeat(32) }),
      log: silentLogger,
    },
    {
      pollMs: 200,
      maxAttempts: 3,
      backoffBaseMs: 100,
      backoffMaxMs: 1000,
      readyTimeoutMs: 30_000,
      concurrency: 16,
    },
  );
  worker.start();
  const activeCount = async () =>
    Number(
      (await database.pool!.query(`SELECT count(*)::int AS n FROM claws WHERE status = 'active'`)).rows[0].n,
    );
  const waitActive = async (n: number) => {
    while ((await activeCount()) < n) {
      const failed = await database.pool!.query(
        `SELECT count(*)::int AS n FROM claws WHERE status = 'failed'`,
      );
      if (failed.rows[0].n > 0) throw new Error(`${failed.rows[0].n} claws failed`);
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  // Overhead per claw: one claw at a time, request → active, with nothing queued ahead of it.
  const overhead: number[] = [];
  const SOLO = Math.min(100, CLAWS);
  for (let i = 0; i < SOLO; i++) {
    const t = performance.now();
    await requestClaw(ctx, { orgId: org.id, name: `solo ${i}` });
    await waitActive(i + 1);
    overhead.push(performance.now() - t);
  }
  const perClaw = summarize(overhead);
  // Throughput: all at once.
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLAWS - SOLO }, (_, i) => requestClaw(ctx, { orgId: org.id, name: `bench ${i}` })),
  );
  await waitActive(CLAWS);
  const totalMs = ((performance.now() - started) * CLAWS) / Math.max(1, CLAWS - SOLO);
  await worker.stop();
  await store.close();
  await drop();

  // 2. The same lifecycle events appended bare (no worker, no agent, no bucket), same concurrency.
  const bare = await freshDb(pgServer.url);
  const bareStore = createEventStore(bare.database);
  const miniId = randomUUID();
  await bareStore.append(
    minisProjection,
    miniId,
    [
      {
        type: 'MiniRegistered',
        data: {
          miniId,
          hostname: 'bare.local',
          agentUrl: agent.url,
          tunnelSuffix: 'bench',
          portRangeStart: 21000,
          portRangeEnd: 21999,
          capacity: CLAWS,
          agentTokenFingerprint: 'fp_bench0001',
        },
      },
    ],
    { expected: 0, meta: { actor: 'system:bench', correlationId: randomUUID() } },
  );
  const bareStarted = performance.now();
  let next = 0;
  const bareTimes: number[] = [];
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = next++; i < CLAWS; i = next++) {
        const t0 = performance.now();
        const id = randomUUID();
        const meta = { actor: 'system:bench' as const, correlationId: randomUUID() };
        const steps: ClawEvent[][] = [
          [
            {
              type: 'ClawRequested',
              data: {
                clawId: id,
                orgId: id,
                slug: `b${i}`,
                name: 'b',
                target: 'mac-mini',
                requestedBy: 'bench',
                tokenFingerprint: 'fp_bench0001',
              },
            },
          ],
          [{ type: 'MiniAllocated', data: { miniId, port: 21000 + i, tunnelHostname: `claw-${id}.bench` } }],
          [{ type: 'AgentStarted', data: { miniId, port: 21000 + i } }],
          [{ type: 'BucketCreated', data: { bucket: bucketNameForClaw(id) } }],
          [
            { type: 'GatewayPaired', data: { deviceId: 'ab'.repeat(32) } },
            { type: 'ClawActive', data: { warmupMs: 1 } },
          ],
        ];
        let state = null as ClawState | null;
        for (const events of steps)
          state = (
            await bareStore.append(clawsProjection, id, events, {
              expected: state?.version ?? 0,
              known: state,
              meta,
            })
          ).state;
        bareTimes.push(performance.now() - t0);
      }
    }),
  );
  const bareMs = performance.now() - bareStarted;
  const bareSummary = summarize(bareTimes);
  await bareStore.close();
  await bare.drop();

  const rows = [
    {
      path: 'worker (request → active)',
      'claws/s': Math.round((CLAWS / totalMs) * 1000),
      'p50 ms': perClaw.p50,
      'p99 ms': perClaw.p99,
    },
    {
      path: 'bare appends of the same events',
      'claws/s': Math.round((CLAWS / bareMs) * 1000),
      'p50 ms': bareSummary.p50,
      'p99 ms': bareSummary.p99,
    },
  ];
  printTable(
    `Provisioning over ${MINIS} Minis (agent answers instantly; PostgreSQL): latency one claw at a time, claws/s with ${CLAWS} at once`,
    rows,
  );
  console.log(`\nworker/bare-appends throughput ratio: ${(totalMs ? bareMs / totalMs : 0).toFixed(2)}`);
  console.log(`results: ${writeResults('provision', { claws: CLAWS, minis: MINIS, rows })}`);
} finally {
  agent.close();
  pgServer.stop();
}
