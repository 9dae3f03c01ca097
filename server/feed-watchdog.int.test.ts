import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createScratchDatabase, type ScratchDatabase } from '../db/scratch';
import { testRuntime } from '../tests/fixtures/fleet';
import {
  postgresBinDir,
  startPostgresCluster,
  type PostgresCluster,
} from '../tests/fixtures/postgres-cluster';
import { waitFor } from '../tests/fixtures/processes';
import { callerFor, newUser } from '../tests/fixtures/trpc';
import type { SessionUser } from './auth/session';
import { FeedWatchdog } from './feed-watchdog';
import { createLogger } from './log';
import { metrics } from './metrics';
import type { Runtime } from './runtime';

/**
 * Chaos finding 6: a long transaction anywhere in the cluster freezes every live feed (the
 * commit-safe reader waits below it, by design) and nothing said so. The held transaction stalls
 * every reader of its cluster, so this runs on a cluster of its own, not the shared one.
 */
describe(
  'stalled live feeds on pg',
  { skip: !postgresBinDir() && 'needs the PostgreSQL server binaries' },
  () => {
    let cluster: PostgresCluster;
    let database: ScratchDatabase;
    let rt: Runtime;
    let owner: SessionUser;
    const lines: Record<string, unknown>[] = [];
    const gauge = metrics().liveFeedsHeldBackSeconds;
    let watchdog: FeedWatchdog;

    before(async () => {
      cluster = await startPostgresCluster();
      database = await createScratchDatabase(cluster.adminUrl);
      rt = testRuntime(database);
      owner = await newUser(rt, 'watch');
      await (await callerFor(rt, owner)).orgs.create({ name: 'Watched', slug: 'watched' });
      watchdog = new FeedWatchdog(database.db, {
        checkMs: 100,
        warnMs: 500,
        gauge,
        log: createLogger('info', {}, (l) => lines.push(JSON.parse(l))),
      });
      watchdog.start();
    });
    after(async () => {
      await watchdog?.stop();
      await rt?.close();
      await database?.close();
      await cluster?.close();
    });

    const held = async () => (await gauge.get()).values[0]?.value ?? 0;

    /** A session that opens a write transaction (it has a transaction id) and keeps it open. */
    async function holdTransaction(url: string, statement: string) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await client.query('BEGIN');
      await client.query(statement);
      return { pid: rows[0]!.pid, end: () => client.query('COMMIT').then(() => client.end()) };
    }

    it('names the transaction holding the feeds back, and the held-back event arrives once it ends', async () => {
      const ac = new AbortController();
      const got: string[] = [];
      const feed = (async () => {
        try {
          const sub = await (
            await callerFor(rt, owner, { signal: ac.signal })
          ).claws.onChange({ orgSlug: 'watched' });
          for await (const item of sub) got.push((item as unknown as [string, { slug: string }])[1].slug);
        } catch (err) {
          if ((err as Error).name !== 'AbortError') throw err;
        }
      })();
      await new Promise((r) => setTimeout(r, 200));
      // Another role, in another database of the cluster: what the application role may not look into.
      const admin = new URL(cluster.adminUrl);
      const holder = await holdTransaction(admin.toString(), 'SELECT pg_current_xact_id()');
      const api = await callerFor(rt, owner);
      await api.claws.create({ orgSlug: 'watched', name: 'held back' });

      const warning = await waitFor(
        'the warning',
        async () =>
          lines.find((l) => l.msg === 'live feeds held back by an open transaction' && l.pid === holder.pid),
        5_000,
      );
      assert.equal(warning.level, 'warn');
      assert.equal(warning.user, 'claws');
      assert.equal(warning.database, 'postgres');
      assert.ok((warning.heldBackEvents as number) >= 1);
      assert.match(String(warning.hint), new RegExp(`pg_terminate_backend\\(${holder.pid}\\)`));
      assert.ok((await held()) > 0, 'the gauge shows the feeds held back');
      assert.equal(got.length, 0, 'the feed is held back');

      await holder.end();
      await waitFor('the gauge back at 0', async () => (await held()) === 0, 5_000);
      await waitFor('the held-back event delivered', async () => got.includes('held-back'), 10_000);
      assert.ok(
        lines.some((l) => l.msg?.toString().startsWith('live feeds released') && l.pid === holder.pid),
      );
      ac.abort();
      await feed;
    });

    it("shows its own sessions' statement with the literals taken out, and warns again while it lasts", async () => {
      const secret = 'not-for-the-log';
      const holder = await holdTransaction(database.url, `SELECT pg_current_xact_id(), '${secret}' AS s`);
      try {
        const warnings = () => lines.filter((l) => l.pid === holder.pid && l.level === 'warn');
        const first = await waitFor('the warning', async () => warnings()[0], 5_000);
        assert.equal(first.user, 'claws_app');
        assert.equal(first.state, 'idle in transaction');
        assert.match(String(first.query), /^SELECT pg_current_xact_id\(\), \? AS s$/);
        assert.ok(!lines.some((l) => JSON.stringify(l).includes(secret)), 'no literal in any line');
        await waitFor('a second warning', async () => warnings().length >= 2, 5_000);
      } finally {
        await holder.end();
      }
      await waitFor('the gauge back at 0', async () => (await held()) === 0, 5_000);
    });
  },
);
