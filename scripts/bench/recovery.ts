import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createScratchDatabase } from '../../db/scratch';
import { requestClaw } from '../../server/claws/commands';
import { loadConfig } from '../../server/config';
import { createOrganization } from '../../server/orgs/organizations';
import {
  commandContext,
  registerAgentAsMini,
  startAgent,
  testKeySpec,
  testRuntime,
} from '../../tests/fixtures/fleet';
import { runTs, waitFor, type TsProcess } from '../../tests/fixtures/processes';
import { startHoldingHop } from './lib/holding-hop';
import { benchPostgres } from './lib/postgres';
import { printTable, summarize, writeResults } from './lib/report';

/**
 * `npm run bench:recovery` (PostgreSQL, a real Mini agent with dev gateways): how long after a
 * SIGKILL of a worker its claims are picked up by another worker and the claws finish. Per run:
 * N claws requested; worker A (`claws worker`, a process) claims all of them and sends each one's
 * agent call, which a hop in front of the agent leaves unanswered, so A is mid-step holding N
 * claims; worker B is already running beside it, as a second server's worker would be; A is
 * SIGKILLed; then kill → B's first step on them (pickup) and kill → all N active.
 *
 * The lease is what B waits out. It is reported as the worker's configuration gives it
 * (WORKER_LEASE_MS) and as observed in claw_leases: the lease A took (expiry − claim) and what
 * was left of it at the kill, so the figure stays honest when the lease changes.
 */
const RUNS = Number(process.env.BENCH_RECOVERY_RUNS ?? 5);
/** At most the worker's claim batch (its concurrency, 8), so that A holds every one at once. */
const CLAWS = Number(process.env.BENCH_RECOVERY_CLAWS ?? 8);

const pgServer = benchPostgres();
const keySpec = testKeySpec();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'claws-bench-recovery-'));
const workerEnv = (url: string, extra: Record<string, string> = {}) => ({
  DATABASE_URL: url,
  CLAWS_SECRET_KEYS: keySpec,
  DATA_DIR: work,
  BUCKET_DIR: path.join(work, 'buckets'),
  LOG_LEVEL: 'warn',
  // `WORKER_LEASE_MS=30000 npm run bench:recovery` measures the lease the worker had before it was renewed.
  ...(process.env.WORKER_LEASE_MS ? { WORKER_LEASE_MS: process.env.WORKER_LEASE_MS } : {}),
  ...extra,
});
/** The worker's lease as its configuration gives it. */
const configured = loadConfig(workerEnv(pgServer.url)).WORKER_LEASE_MS;

type Run = {
  run: number;
  claws: number;
  'lease ms': number;
  'left at kill ms': number;
  'pickup ms': number;
  'all active ms': number;
};

async function once(run: number): Promise<Run> {
  const database = await createScratchDatabase(pgServer.url, { prefix: 'claws_bench_recovery' });
  // A dev agent (plain HTTP on loopback): the holding hop in front of it speaks HTTP.
  const agent = await startAgent({ dev: true });
  const hop = await startHoldingHop(agent.url);
  const rt = testRuntime(database, keySpec);
  const workers: TsProcess[] = [];
  try {
    await registerAgentAsMini(rt, { url: hop.url, token: agent.token }, { capacity: CLAWS });
    const org = await createOrganization(database.db, { name: `Recovery ${run}`, slug: `recovery-${run}` });
    const ctx = commandContext(rt, 'system:bench');
    const ids: string[] = [];
    for (let i = 0; i < CLAWS; i++) ids.push((await requestClaw(ctx, { orgId: org.id, name: `r${i}` })).id);

    // A: its agent calls never time out on their own, so it is mid-step when killed.
    const a = runTs(
      'scripts/claws-cli.ts',
      ['worker'],
      workerEnv(database.url, { AGENT_TIMEOUT_MS: '600000' }),
    );
    workers.push(a);
    await waitFor(
      'worker A to hold every claim mid-step',
      async () => hop.heldAt().length === CLAWS,
      120_000,
    );
    const b = runTs('scripts/claws-cli.ts', ['worker'], workerEnv(database.url));
    workers.push(b);
    await waitFor('worker B to run', async () => b.output().includes('running'), 60_000);

    const leases = await database.db
      .selectFrom('claw_leases')
      .select(['expires_at', 'owner'])
      .where('claw_id', 'in', ids)
      .execute();
    const expiry = Math.max(...leases.map((l) => l.expires_at.getTime()));
    const claimedAt = Math.max(...hop.heldAt());
    const killedAt = Date.now();
    await a.kill('SIGKILL');
    hop.release();

    let pickup = NaN;
    await waitFor(
      'every claw active',
      async () => {
        const rows = await database.db.selectFrom('claws').select(['status', 'mini_port']).execute();
        if (rows.some((r) => r.status === 'failed')) throw new Error('a claw failed');
        const started = await database.db
          .selectFrom('events')
          .select('created_at')
          .where('event_type', '=', 'AgentStarted')
          .orderBy('global_position')
          .executeTakeFirst();
        if (started && Number.isNaN(pickup)) pickup = started.created_at.getTime() - killedAt;
        return rows.every((r) => r.status === 'active');
      },
      300_000,
      25,
    );
    return {
      run,
      claws: CLAWS,
      'lease ms': Math.round((expiry - claimedAt) / 100) * 100,
      'left at kill ms': expiry - killedAt,
      'pickup ms': pickup,
      'all active ms': Date.now() - killedAt,
    };
  } finally {
    for (const w of workers) await w.kill('SIGTERM');
    await agent.stop();
    await hop.close();
    await rt.close();
    await database.close();
  }
}

try {
  const runs: Run[] = [];
  for (let i = 1; i <= RUNS; i++) {
    runs.push(await once(i));
    console.log(
      `run ${i}/${RUNS}: all ${CLAWS} active ${runs.at(-1)!['all active ms']} ms after the SIGKILL`,
    );
  }
  const pickup = summarize(runs.map((r) => r['pickup ms']));
  const active = summarize(runs.map((r) => r['all active ms']));
  const observedLease = summarize(runs.map((r) => r['lease ms'])).p50;
  printTable(
    `Recovery after a SIGKILL of a worker holding ${CLAWS} claims mid-step (PostgreSQL, dev gateways)`,
    [...runs],
  );
  printTable('Summary', [
    { figure: 'kill → first step by the other worker', 'p50 ms': pickup.p50, 'max ms': pickup.max },
    { figure: `kill → all ${CLAWS} active`, 'p50 ms': active.p50, 'max ms': active.max },
  ]);
  console.log(
    `\nlease in use: ${observedLease} ms observed in claw_leases; configured: WORKER_LEASE_MS=${configured}`,
  );
  console.log(
    `results: ${writeResults('recovery', {
      claws: CLAWS,
      runs: RUNS,
      lease: { observedMs: observedLease, configuredMs: configured ?? null },
      pickup,
      allActive: active,
      rows: runs,
    })}`,
  );
} finally {
  fs.rmSync(work, { recursive: true, force: true });
  pgServer.stop();
}
