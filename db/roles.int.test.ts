import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { clawStream } from '../events/claw';
import { clawsProjection } from '../projections/claws';
import { createEventStore } from '../server/runtime';
import { createTestDatabase, type TestDatabase } from '../tests/fixtures/db';
import { meta } from '../tests/fixtures/ids';
import { openDatabase } from './open';
import { currentRole, grantAppRole, immutabilityBypass } from './roles';
import { SCRATCH_ROLES } from './scratch';

/**
 * Least privilege on PostgreSQL (PGlite has one user, a superuser: nothing to test there). Every
 * test database is owned by claws_owner and used as claws_app; here the application role tries
 * every way around the log's triggers a superuser or an owner would have.
 */
describe(
  'the application role on pg',
  { skip: !process.env.TEST_DATABASE_URL && 'needs TEST_DATABASE_URL (PostgreSQL)' },
  () => {
    let database: TestDatabase;
    let clawId: string;
    /** One session of the application role, for session-level settings. */
    let session: pg.Client;

    before(async () => {
      database = await createTestDatabase('pg');
      const store = createEventStore(database);
      clawId = randomUUID();
      await store.append(
        clawsProjection,
        clawId,
        [
          {
            type: 'ClawRequested',
            data: {
              clawId,
              orgId: randomUUID(),
              slug: 'kept',
              name: 'Kept',
              target: 'mac-mini',
              requestedBy: 'u1',
              tokenFingerprint: 'fp_0123456789',
            },
          },
        ],
        { expected: 0, meta: meta() },
      );
      await store.close();
      session = new pg.Client({ connectionString: database.url });
      await session.connect();
    });
    after(async () => {
      await session?.end();
      await database?.close();
    });

    const refused = (statement: string, why: RegExp) =>
      assert.rejects(session.query(statement), why, `${statement} must be refused`);

    it('connects as claws_app, which is neither superuser nor owner', async () => {
      assert.equal(await currentRole(database.db), SCRATCH_ROLES.app);
      assert.equal(await immutabilityBypass(database.db), null);
      await database.asOwner(async (owner) =>
        assert.match((await immutabilityBypass(owner.db)) ?? '', /owns the events table/),
      );
    });

    it('refuses every way of changing or removing events', async () => {
      const denied = /permission denied for table events/;
      const notOwner = /must be owner of (table|relation) events/;
      await refused(`UPDATE events SET event_type = 'X'`, denied);
      await refused(`DELETE FROM events`, denied);
      await refused(`TRUNCATE events`, denied);
      // What a superuser would do to skip the triggers: replica mode fires none.
      await refused(`SET session_replication_role = replica`, /permission denied to set parameter/);
      await refused(`DELETE FROM events`, denied);
      await session.query('BEGIN');
      await refused(`SET LOCAL session_replication_role = replica`, /permission denied to set parameter/);
      await session.query('ROLLBACK');
      // What an owner would do.
      await refused(`ALTER TABLE events DISABLE TRIGGER events_no_update_delete`, notOwner);
      await refused(`ALTER TABLE events DISABLE TRIGGER ALL`, notOwner);
      await refused(`DROP TRIGGER events_no_update_delete ON events`, notOwner);
      await refused(`DROP TRIGGER events_no_truncate ON events`, notOwner);
      await refused(`ALTER TABLE events RENAME TO events_old`, notOwner);
      await refused(`ALTER TABLE events DROP CONSTRAINT events_stream_version_unique`, notOwner);
      await refused(`ALTER TABLE events ALTER COLUMN data TYPE text`, notOwner);
      await refused(`DROP TABLE events`, notOwner);
      await refused(
        `CREATE OR REPLACE FUNCTION events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$`,
        /permission denied for schema public|must be owner of function events_refuse_change/,
      );
      // A shadow table, a role change, a sequence moved back, a lock that stops every reader.
      await refused(`CREATE TABLE events_shadow (id int)`, /permission denied for schema public/);
      await refused(`ALTER ROLE ${SCRATCH_ROLES.app} SUPERUSER`, /must be superuser/);
      await refused(`GRANT ${SCRATCH_ROLES.owner} TO ${SCRATCH_ROLES.app}`, /must have admin option/);
      await refused(
        `SELECT setval(pg_get_serial_sequence('events', 'global_position'), 1)`,
        /permission denied for sequence/,
      );
      await session.query('BEGIN');
      await refused(`LOCK TABLE events IN ACCESS EXCLUSIVE MODE`, denied);
      await session.query('ROLLBACK');

      const events = await sql<{ event_type: string }>`
        SELECT event_type FROM events WHERE stream_id = ${clawStream.streamId(clawId)}`.execute(database.db);
      assert.deepEqual(
        events.rows.map((r) => r.event_type),
        ['ClawRequested'],
      );
    });

    it('may append to and read the log, and write the read models', async () => {
      const store = createEventStore(database);
      try {
        const state = await store.load(clawsProjection, clawId);
        await store.append(
          clawsProjection,
          clawId,
          [{ type: 'ClawDeletionRequested', data: { requestedBy: 'u1' } }],
          {
            expected: state!.version,
            known: state,
            meta: meta(),
          },
        );
        assert.equal((await store.load(clawsProjection, clawId))!.status, 'deleting');
        assert.equal((await store.readStream(clawStream, clawId)).length, 2);
      } finally {
        await store.close();
      }
      await sql`UPDATE claws SET last_error = 'x' WHERE id = ${clawId}`.execute(database.db);
      await sql`DELETE FROM claw_leases`.execute(database.db);
    });

    it('is granted what a later migration adds, and a grant made by hand is taken back', async () => {
      await database.asOwner(async ({ db }) => {
        await sql`CREATE TABLE later_table (id int PRIMARY KEY, note text)`.execute(db);
        await sql`GRANT UPDATE, DELETE, TRUNCATE ON events TO ${sql.id(SCRATCH_ROLES.app)}`.execute(db);
        await grantAppRole(db, SCRATCH_ROLES.app);
        await grantAppRole(db, SCRATCH_ROLES.app); // idempotent
      });
      await session.query(`INSERT INTO later_table VALUES (1, 'a')`);
      await session.query(`UPDATE later_table SET note = 'b'`);
      await session.query(`DELETE FROM later_table`);
      await refused(`DELETE FROM events`, /permission denied for table events/);
      await refused(`TRUNCATE later_table`, /permission denied for table later_table/);
    });

    it('opens with the one application URL as before (no owner URL): a current schema needs no DDL', async () => {
      const app = await openDatabase({ DATABASE_URL: database.url, pgliteDir: '' });
      try {
        assert.equal(await currentRole(app.db), SCRATCH_ROLES.app);
      } finally {
        await app.close();
      }
    });
  },
);
