import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CompiledQuery, sql } from 'kysely';
import pg from 'pg';
import { waitFor } from '../tests/fixtures/processes';
import { PREPARED, type ConnectionMonitor } from './client';
import { isConnectionError } from './errors';
import { createScratchDatabase, type ScratchDatabase } from './scratch';

/**
 * Connections that die under the pool and the listener (chaos finding 1: a client cut mid-query
 * emitted an unhandled 'error' and Node exited). Killing our own backends with
 * pg_terminate_backend touches nothing but this test's database, so this runs on the shared
 * cluster; whole-server restarts run on a private one (db/restart.int.test.ts).
 */
describe(
  'PostgreSQL connections that die on pg',
  { skip: !process.env.TEST_DATABASE_URL && 'needs TEST_DATABASE_URL (PostgreSQL)' },
  () => {
    const adminUrl = process.env.TEST_DATABASE_URL!;
    const name = `claws-conn-${randomUUID().slice(0, 8)}`;
    const lost: { source: string; error: Error }[] = [];
    let restored = 0;
    const monitor: ConnectionMonitor = {
      lost: (source, error) => lost.push({ source, error }),
      restored: () => restored++,
    };
    let database: ScratchDatabase;
    let admin: pg.Client;

    before(async () => {
      database = await createScratchDatabase(adminUrl, {
        poolSize: 3,
        monitor,
        session: { applicationName: name, statementTimeoutMs: 4000, idleInTransactionTimeoutMs: 500 },
      });
      admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
    });
    after(async () => {
      await admin?.end();
      await database?.close();
    });

    /** Terminates this database's sessions of the app that match `where` (SQL on pg_stat_activity). */
    const terminate = async (where: string) => {
      const { rows } = await admin.query(
        `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity
         WHERE application_name = $1 AND pid <> pg_backend_pid() AND ${where}`,
        [name],
      );
      return rows.length;
    };

    it('starts every session with its application_name and timeouts', async () => {
      const { rows } = await sql<{ app: string; st: string; idle: string }>`
        SELECT current_setting('application_name') AS app, current_setting('statement_timeout') AS st,
          current_setting('idle_in_transaction_session_timeout') AS idle`.execute(database.db);
      assert.deepEqual(rows[0], { app: name, st: '4s', idle: '500ms' });
      await assert.rejects(sql`SELECT pg_sleep(5)`.execute(database.db), /statement timeout/);
    });

    it('runs a statement marked PREPARED as a named prepared statement, planned once per session', async () => {
      const text = `${PREPARED} SELECT $1::int + 1 AS n`;
      // One transaction: one session, so its own pg_prepared_statements shows what it prepared.
      const seen = await database.db.transaction().execute(async (trx) => {
        for (let i = 0; i < 3; i++) {
          const { rows } = await trx.executeQuery<{ n: number }>(CompiledQuery.raw(text, [i]));
          assert.equal(rows[0]!.n, i + 1);
        }
        const unmarked = 'SELECT $1::int AS same';
        await trx.executeQuery(CompiledQuery.raw(unmarked, [1]));
        const { rows } = await sql<{ statement: string }>`
          SELECT statement FROM pg_prepared_statements WHERE name LIKE 'claws\_%'`.execute(trx);
        return rows.map((r) => r.statement);
      });
      assert.deepEqual(
        seen.filter((s) => s === text),
        [text],
      );
      assert.ok(!seen.some((s) => s.includes('AS same')), 'an unmarked statement is not kept');
    });

    it('rejects the query of a connection killed under it, reports it, and goes on', async () => {
      lost.length = 0;
      const running = sql`SELECT pg_sleep(3)`.execute(database.db).then(
        () => new Error('the query must fail'),
        (e: unknown) => e,
      );
      await waitFor('the sleeping query', async () => (await terminate(`query LIKE '%pg_sleep(3)%'`)) === 1);
      const err = await running;
      assert.ok(isConnectionError(err), `a connection error: ${String(err)}`);
      // At once, before the dead client's socket has closed: the pool must not hand it out again
      // (it is the most recently released, the first the pool would pick).
      for (let i = 0; i < 5; i++) {
        const { rows } = await sql<{ one: number }>`SELECT 1 AS one`.execute(database.db);
        assert.equal(rows[0]!.one, 1);
      }
      await waitFor('the loss reported', async () => lost.some((l) => l.source === 'pool'));
    });

    it('survives idle clients killed in the pool (and an idle transaction cut by its timeout)', async () => {
      lost.length = 0;
      // Fill the pool with idle clients, then kill them all.
      await Promise.all([1, 2, 3].map(() => sql`SELECT pg_sleep(0.05)`.execute(database.db)));
      const killed = await terminate(`state = 'idle' AND query NOT LIKE 'LISTEN%'`);
      assert.ok(killed >= 1);
      // Until its error arrives, a killed idle client looks alive: the pool may still hand it out.
      await waitFor('the pool to notice', async () => lost.length >= killed);
      lost.length = 0;
      // An idle transaction is ended by the server after 500 ms: its session dies with it.
      const trx = await database.db.startTransaction().execute();
      await sql`SELECT 1`.execute(trx);
      await new Promise((r) => setTimeout(r, 900));
      await assert.rejects(
        sql`SELECT 1`.execute(trx),
        (e: unknown) => isConnectionError(e) || /terminat/.test(String(e)),
      );
      await trx
        .rollback()
        .execute()
        .catch(() => {});
      await waitFor('the cut transaction reported', async () => lost.length >= 1);
      const { rows } = await sql<{ one: number }>`SELECT 1 AS one`.execute(database.db);
      assert.equal(rows[0]!.one, 1);
    });

    it('reconnects a killed LISTEN connection, listens again and tells its listeners', async () => {
      const payloads: string[] = [];
      const unlisten = await database.listen('claws_conn_test', (p) => payloads.push(p));
      try {
        await database.notify('claws_conn_test', 'before');
        await waitFor('the first notification', async () => payloads.includes('before'));
        const restoredBefore = restored;
        assert.equal(await terminate(`query LIKE 'LISTEN%'`), 1);
        // The empty payload says "you may have missed something: read again".
        await waitFor('the reconnect signal', async () => payloads.includes('') && restored > restoredBefore);
        await database.notify('claws_conn_test', 'after');
        await waitFor('a notification after the reconnect', async () => payloads.includes('after'));
        assert.ok(lost.some((l) => l.source === 'listener'));
      } finally {
        await unlisten();
      }
    });
  },
);
