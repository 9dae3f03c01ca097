import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { ClawsDatabase } from '../../db/client';
import { createScratchDatabase, type ScratchDatabase } from '../../db/scratch';
import { clawStream, type ClawEvent } from '../../events/claw';
import { ConcurrencyError } from '../../events/errors';
import { createEventStore } from '../../server/runtime';
import type { ClawState } from '../../events/claw';
import type { EventStore } from '../../events/store';
import { clawsProjection } from '../../projections/claws';
import { benchPostgres } from './lib/postgres';
import { printTable, writeResults } from './lib/report';

/**
 * `npm run bench:events` (PostgreSQL): append throughput with 1 and 8 writers over 1,000 streams and
 * over one hot stream, each next to a raw INSERT of identical rows measured in the same run; and the
 * rebuild rate over 100,000+ events next to a raw ordered scan of the same table.
 */
const OPS = Number(process.env.BENCH_OPS ?? 4000);
const REBUILD_CLAWS = Number(process.env.BENCH_REBUILD_CLAWS ?? 12_500); // × 8 events each

const meta = () => ({ actor: 'system:bench' as const, correlationId: randomUUID() });
const stepFailed = (n: number): ClawEvent => ({
  type: 'ProvisioningStepFailed',
  data: { step: 'start_agent', attempt: n, error: 'agent returned 503', retryAt: new Date(0).toISOString() },
});

async function freshDatabase(
  adminUrl: string,
): Promise<{ database: ScratchDatabase; drop(): Promise<void> }> {
  const database = await createScratchDatabase(adminUrl, { prefix: 'claws_bench', poolSize: 16 });
  // DDL is the owner's; the benchmark itself runs as the application role, as Claws does.
  await database.asOwner(({ db }) => sql`CREATE TABLE events_raw (LIKE events INCLUDING ALL)`.execute(db));
  return { database, drop: () => database.close() };
}

async function requestClaws(store: EventStore, n: number): Promise<ClawState[]> {
  const claws: ClawState[] = [];
  for (let i = 0; i < n; i++) {
    const id = randomUUID();
    const r = await store.append(
      clawsProjection,
      id,
      [
        {
          type: 'ClawRequested',
          data: {
            clawId: id,
            orgId: id,
            slug: `b-${i}-${id.slice(0, 6)}`,
            name: 'bench',
            target: 'mac-mini',
            requestedBy: 'bench',
            tokenFingerprint: 'fp_bench0001',
          },
        },
      ],
      { expected: 0, known: null, meta: meta() },
    );
    claws.push(r.state);
  }
  return claws;
}

/** Runs `writers` loops sharing `ops` operations; returns operations per second. */
async function timed(
  writers: number,
  ops: number,
  op: (writer: number, i: number) => Promise<void>,
): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = next++; i < ops; i = next++) await op(w, i);
    }),
  );
  return (ops / (performance.now() - started)) * 1000;
}

async function appendCase(database: ClawsDatabase, writers: number, hot: boolean) {
  const store = createEventStore(database);
  const claws = await requestClaws(store, hot ? 1 : 1000);
  const state = new Map(claws.map((c) => [c.id, c]));
  const rawVersions = new Map(claws.map((c) => [c.id, 1000]));
  const ids = claws.map((c) => c.id);
  // Each writer owns its share of the 1,000 streams (as separate users' claws would be); on the hot
  // stream every writer appends to the same one and loses races, which it retries from the new end.
  const streamFor = (w: number, i: number) => (hot ? ids[0]! : ids[(i * writers + w) % ids.length]!);

  let conflicts = 0;
  const append = await timed(writers, OPS, async (w, i) => {
    const id = streamFor(w, i);
    for (;;) {
      const known = state.get(id)!;
      try {
        const r = await store.append(clawsProjection, id, [stepFailed(i + 1)], {
          expected: known.version,
          known,
          meta: meta(),
        });
        const s = r.state;
        if (s.version > state.get(id)!.version) state.set(id, s);
        return;
      } catch (err) {
        if (!(err instanceof ConcurrencyError)) throw err;
        conflicts++;
        state.set(id, (await store.load(clawsProjection, id))!);
      }
    }
  });

  const pool = database.pool!;
  const row = stepFailed(1);
  const raw = await timed(writers, OPS, async (w, i) => {
    const id = streamFor(w, i);
    const v = rawVersions.get(id)! + 1;
    rawVersions.set(id, v);
    await pool.query(
      `INSERT INTO events_raw (stream_id, stream_version, event_type, event_id, data, actor, correlation_id, causation_id, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        clawStream.streamId(id),
        v,
        row.type,
        randomUUID(),
        JSON.stringify(row.data),
        'system:bench',
        randomUUID(),
        null,
        new Date(),
      ],
    );
  });
  await store.close();
  return { append, raw, ratio: append / raw, conflicts };
}

async function seedHistory(database: ClawsDatabase, claws: number): Promise<number> {
  const minis = 50;
  // Valid histories generated in SQL (fast): every claw requested, allocated, started, bucketed,
  // active, then deleted back down to its bucket; Minis registered first.
  await sql`
    INSERT INTO events (stream_id, stream_version, event_type, event_id, data, actor, correlation_id, created_at)
    SELECT 'mini-' || m.id, 1, 'MiniRegistered', gen_random_uuid(),
      jsonb_build_object('miniId', m.id, 'hostname', 'mini-' || m.n || '.bench', 'agentUrl', 'http://127.0.0.1:7070',
        'tunnelSuffix', 'bench', 'portRangeStart', 20000, 'portRangeEnd', 29999, 'capacity', 10000, 'agentTokenFingerprint', 'fp_bench0001'),
      'system:bench', gen_random_uuid(), now()
    FROM (SELECT n, (lpad(to_hex(n), 8, '0') || '-0000-4000-8000-000000000000')::uuid AS id FROM generate_series(1, ${minis}) n) m`.execute(
    database.db,
  );
  await sql`
    INSERT INTO events (stream_id, stream_version, event_type, event_id, data, actor, correlation_id, created_at)
    SELECT 'claw-' || c.id, s.v, s.t, gen_random_uuid(),
      CASE s.t
        WHEN 'ClawRequested' THEN jsonb_build_object('clawId', c.id, 'orgId', c.id, 'slug', 'c' || c.n, 'name', 'c', 'target', 'mac-mini', 'requestedBy', 'bench', 'tokenFingerprint', 'fp_bench0001')
        WHEN 'MiniAllocated' THEN jsonb_build_object('miniId', c.mini, 'port', 20000 + c.n / ${minis}, 'tunnelHostname', 'claw-' || c.id || '.bench')
        WHEN 'AgentStarted' THEN jsonb_build_object('miniId', c.mini, 'port', 20000 + c.n / ${minis})
        WHEN 'BucketCreated' THEN jsonb_build_object('bucket', 'claws-' || c.n)
        WHEN 'ClawActive' THEN jsonb_build_object('warmupMs', 1200)
        WHEN 'ClawDeletionRequested' THEN jsonb_build_object('requestedBy', 'bench')
        WHEN 'AgentStopped' THEN jsonb_build_object('miniId', c.mini)
        ELSE jsonb_build_object('bucket', 'claws-' || c.n)
      END,
      'system:bench', gen_random_uuid(), now()
    FROM (SELECT n, gen_random_uuid() AS id, (lpad(to_hex(n % ${minis} + 1), 8, '0') || '-0000-4000-8000-000000000000')::uuid AS mini
          FROM generate_series(1, ${claws}) n) c
    CROSS JOIN (VALUES (1, 'ClawRequested'), (2, 'MiniAllocated'), (3, 'AgentStarted'), (4, 'BucketCreated'), (5, 'ClawActive'),
                       (6, 'ClawDeletionRequested'), (7, 'AgentStopped'), (8, 'BucketDeleted')) AS s(v, t)
    ORDER BY c.n, s.v`.execute(database.db);
  const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM events`.execute(database.db);
  return rows[0]!.n;
}

async function rawScan(database: ClawsDatabase, batch: number): Promise<number> {
  let after = 0;
  let n = 0;
  for (;;) {
    const { rows } = await database.pool!.query(
      'SELECT * FROM events WHERE global_position > $1 ORDER BY global_position LIMIT $2',
      [after, batch],
    );
    n += rows.length;
    if (rows.length < batch) return n;
    after = Number(rows[rows.length - 1].global_position);
  }
}

const pgServer = benchPostgres();
try {
  const results: Record<string, unknown>[] = [];
  for (const [name, writers, hot] of [
    ['1 writer, 1000 streams', 1, false],
    ['8 writers, 1000 streams', 8, false],
    ['1 writer, hot stream', 1, true],
    ['8 writers, hot stream', 8, true],
  ] as const) {
    const { database, drop } = await freshDatabase(pgServer.url);
    try {
      const r = await appendCase(database, writers, hot);
      results.push({
        case: name,
        'append ev/s': Math.round(r.append),
        'raw insert ev/s': Math.round(r.raw),
        ratio: r.ratio,
        conflicts: r.conflicts,
      });
    } finally {
      await drop();
    }
  }
  const { database, drop } = await freshDatabase(pgServer.url);
  let rebuild;
  try {
    const events = await seedHistory(database, REBUILD_CLAWS);
    await database.asOwner(({ db }) => sql`ANALYZE events`.execute(db));
    const t0 = performance.now();
    const scanned = await rawScan(database, 5000);
    const scanMs = performance.now() - t0;
    // The rebuild locks events against appends: the owner's to run (npm run projections:rebuild).
    const { r, rebuildMs } = await database.asOwner(async (owner) => {
      const t1 = performance.now();
      const r = await createEventStore(owner).rebuild({ batchSize: 5000 });
      return { r, rebuildMs: performance.now() - t1 };
    });
    if (r.events !== events || scanned !== events) throw new Error('rebuild did not read every event');
    rebuild = {
      events,
      claws: r.rows.claws,
      'rebuild ev/s': Math.round((events / rebuildMs) * 1000),
      'raw scan ev/s': Math.round((scanned / scanMs) * 1000),
      ratio: scanMs / rebuildMs,
    };
  } finally {
    await drop();
  }
  printTable('Append throughput (single-event appends, PostgreSQL)', results);
  printTable('Rebuild (replay of the whole log)', [rebuild]);
  console.log('');
  for (const r of results)
    console.log(`append/raw-insert ratio (${r.case}): ${(r.ratio as number).toFixed(2)}`);
  console.log(`rebuild: ${rebuild['rebuild ev/s']} events/s`);
  console.log(`results: ${writeResults('events', { ops: OPS, append: results, rebuild })}`);
} finally {
  pgServer.stop();
}
