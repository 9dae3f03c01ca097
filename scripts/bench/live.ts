import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createDatabase } from '../../db/client';
import { migrateToLatest } from '../../db/migrate';
import { clawsProjection } from '../../projections/claws';
import { bucketStoreFor, createEventStore } from '../../server/runtime';
import type { ClawState } from '../../events/claw';
import { signup } from '../../server/auth/users';
import { requestClaw } from '../../server/claws/commands';
import { loadConfig } from '../../server/config';
import { parseKeyRing } from '../../server/secrets/keyring';
import { SecretStore } from '../../server/secrets/secret-store';
import { createContextInner } from '../../server/trpc/context';
import { createCallerFactory } from '../../server/trpc/init';
import { appRouter } from '../../server/trpc/routers/_app';
import { benchPostgres } from './lib/postgres';
import { printTable, summarize, writeResults } from './lib/report';

/**
 * `npm run bench:live` (PostgreSQL): latency from an append to a subscribed claws.onChange consumer
 * (p50/p95) with 10 and 100 subscribers, and claws.list latency for an org with 1,000 claws.
 * Subscribers are tRPC callers in this process (the path minus SSE framing).
 */
const APPENDS = Number(process.env.BENCH_LIVE_APPENDS ?? 100);
const pgServer = benchPostgres();
const name = `claws_bench_${randomUUID().slice(0, 8)}`;
const admin = new pg.Client({ connectionString: pgServer.url });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
await admin.end();
const url = new URL(pgServer.url);
url.pathname = `/${name}`;
const database = await createDatabase({ url: url.toString(), poolSize: 20 });
try {
  await migrateToLatest(database.db);
  const keyRing = parseKeyRing(`b1:${Buffer.alloc(32, 9).toString('base64')}`);
  const store = createEventStore(database);
  const secrets = new SecretStore(database.db, keyRing);
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'claws-live-')),
  });
  const runtime = {
    config,
    database,
    store,
    secrets,
    keyRing,
    buckets: bucketStoreFor(config),
    close: async () => {},
  };
  const user = await signup(database.db, {
    email: 'bench@example.com',
    password: 'password-123',
    name: 'Bench',
  });
  const caller = async (signal?: AbortSignal) =>
    createCallerFactory(appRouter)(
      await createContextInner({ runtime, user, headers: new Headers({ 'x-claws-csrf': '1' }) }),
      { signal },
    );
  const org = await (await caller()).orgs.create({ name: 'Live bench', slug: 'live-bench' });
  const ctx = { store, secrets, actor: `user:${user.id}` as const };
  const claw = (await requestClaw(ctx, { orgId: org.id, name: 'pinged' })) as ClawState;

  const results: Record<string, unknown>[] = [];
  let state = claw;
  for (const subscribers of [10, 100]) {
    const ac = new AbortController();
    setMaxListeners(subscribers + 10, ac.signal); // one listener per subscriber, on purpose
    // Per subscriber, when each claw version arrived. onChange sends the claw's latest state, so a
    // subscriber that falls behind gets one newer version instead of each one: version v has reached
    // it when any version ≥ v has.
    const arrivals: { version: number; at: number }[][] = Array.from({ length: subscribers }, () => []);
    const loops = await Promise.all(
      Array.from({ length: subscribers }, async () =>
        (await caller(ac.signal)).claws.onChange({ orgSlug: org.slug }),
      ),
    );
    const consumers = loops.map((it, k) =>
      (async () => {
        try {
          for await (const item of it as AsyncIterable<[string, { version: number }]>)
            arrivals[k]!.push({ version: item[1].version, at: performance.now() });
        } catch {
          // aborted
        }
      })(),
    );
    await new Promise((r) => setTimeout(r, 300));
    const sentAt = new Map<number, number>();
    for (let i = 0; i < APPENDS; i++) {
      const t = performance.now();
      const r = await store.append(
        clawsProjection,
        claw.id,
        [
          {
            type: 'ProvisioningStepFailed',
            data: { step: 'start_agent', attempt: i + 1, error: 'bench', retryAt: new Date(0).toISOString() },
          },
        ],
        {
          expected: state.version,
          known: state,
          meta: { actor: 'system:bench', correlationId: randomUUID() },
        },
      );
      state = r.state;
      sentAt.set(state.version, t);
      await new Promise((r2) => setTimeout(r2, 20));
    }
    await new Promise((r) => setTimeout(r, 1000));
    ac.abort();
    await Promise.all(consumers);
    const latencies: number[] = [];
    let missing = 0;
    for (const [v, t] of sentAt) {
      for (const seen of arrivals) {
        const first = seen.find((a) => a.version >= v);
        if (first) latencies.push(first.at - t);
        else missing++;
      }
    }
    const s = summarize(latencies);
    results.push({
      case: `append → onChange, ${subscribers} subscribers`,
      n: s.n,
      'p50 ms': s.p50,
      'p95 ms': s.p95,
      missed: missing,
    });
  }

  // claws.list for an org with 1,000 claws.
  const big = await (await caller()).orgs.create({ name: 'Thousand', slug: 'thousand' });
  for (let i = 0; i < 1000; i += 50)
    await Promise.all(
      Array.from({ length: 50 }, (_, j) => requestClaw(ctx, { orgId: big.id, name: `claw ${i + j}` })),
    );
  const c = await caller();
  for (let i = 0; i < 5; i++) await c.claws.list({ orgSlug: 'thousand' });
  const times: number[] = [];
  for (let i = 0; i < 100; i++) {
    const t = performance.now();
    const list = await c.claws.list({ orgSlug: 'thousand' });
    times.push(performance.now() - t);
    if (list.length !== 1000) throw new Error(`listed ${list.length}`);
  }
  const l = summarize(times);
  results.push({ case: 'claws.list, 1,000 claws', n: l.n, 'p50 ms': l.p50, 'p95 ms': l.p95, missed: 0 });
  printTable('Live updates and list latency (PostgreSQL; targets: p95 ≤ 150 ms, list p95 ≤ 20 ms)', results);
  console.log(`results: ${writeResults('live', { appends: APPENDS, results })}`);
  await store.close();
} finally {
  await database.close();
  const a = new pg.Client({ connectionString: pgServer.url });
  await a.connect();
  await a.query(`DROP DATABASE ${name} WITH (FORCE)`);
  await a.end();
  pgServer.stop();
}
