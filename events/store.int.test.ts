import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { createTestDatabase, testDrivers, type TestDatabase } from '../tests/fixtures/db';
import { meta } from '../tests/fixtures/ids';
import { inlineProjections } from '../projections';
import { clawsProjection } from '../projections/claws';
import { minisProjection } from '../projections/minis';
import { clawStream, type ClawEvent } from './claw';
import type { MiniEvent } from './mini';
import { InvalidEventError } from './stream';
import type { RecordedEvent } from './types';
import { ConcurrencyError, ProjectionConflictError } from './errors';
import { appendToStream } from './append';
import { readAll, START } from './read';
import { createEventStore } from '../server/runtime';
import type { Appended, EventStore } from './store';

const requested = (clawId: string, orgId = randomUUID()): ClawEvent => ({
  type: 'ClawRequested',
  data: {
    clawId,
    orgId,
    slug: `c-${clawId.slice(0, 8)}`,
    name: 'Claw',
    target: 'mac-mini',
    requestedBy: 'u1',
    tokenFingerprint: 'fp_0123456789',
  },
});
const registered = (miniId: string, capacity = 2): MiniEvent => ({
  type: 'MiniRegistered',
  data: {
    miniId,
    hostname: `mini-${miniId.slice(0, 8)}.local`,
    agentUrl: 'http://127.0.0.1:7070',
    tunnelSuffix: 'claws.test',
    portRangeStart: 20000,
    portRangeEnd: 20009,
    capacity,
    agentTokenFingerprint: 'fp_abcdef0123',
  },
});

/**
 * Reads the global log from `after` in pages until `done` holds for what was read. The reader
 * stops below the oldest transaction running anywhere in the cluster, and suites on the shared
 * test cluster run transactions of their own (migrations of their scratch databases): what has
 * committed becomes readable once those end, never out of order and never skipped.
 */
async function readSettled(
  db: TestDatabase['db'],
  after: string,
  pageSize: number,
  done: (events: RecordedEvent[]) => boolean,
): Promise<RecordedEvent[]> {
  const all: RecordedEvent[] = [];
  let checkpoint = after;
  const deadline = Date.now() + 30_000;
  while (!done(all)) {
    if (Date.now() > deadline) throw new Error(`the log did not settle: read ${all.length} events`);
    const page = await readAll(db, checkpoint, pageSize);
    all.push(...page.events);
    checkpoint = page.checkpoint;
    if (page.events.length < pageSize && !done(all)) await new Promise((r) => setTimeout(r, 50));
  }
  return all;
}

for (const driver of testDrivers()) {
  describe(`event store on ${driver}`, () => {
    let database: TestDatabase;
    let store: EventStore;
    before(async () => {
      database = await createTestDatabase(driver);
      store = createEventStore(database);
    });
    after(async () => {
      await store.close();
      await database.close();
    });

    it('appends, assigns versions and positions, records metadata, and projects inline', async () => {
      const clawId = randomUUID();
      const m = meta('user:alice');
      const r = await store.append(clawsProjection, clawId, [requested(clawId)], { expected: 0, meta: m });
      assert.equal(r.nextVersion, 1);
      const events = await store.readStream(clawStream, clawId);
      assert.equal(events.length, 1);
      const [e] = events;
      assert.equal(e!.type, 'ClawRequested');
      assert.equal(e!.streamVersion, 1);
      assert.equal(e!.actor, 'user:alice');
      assert.equal(e!.correlationId, m.correlationId);
      assert.equal(e!.causationId, null);
      assert.ok(e!.createdAt instanceof Date);
      assert.ok(e!.globalPosition > 0);
      assert.match(e!.transactionId, /^\d+$/);
      const row = await database.db
        .selectFrom('claws')
        .selectAll()
        .where('id', '=', clawId)
        .executeTakeFirstOrThrow();
      assert.equal(row.status, 'requested');
      assert.equal(row.version, 1);
      assert.equal(row.work_pending, true);
    });

    it('rejects a wrong expected version with a typed error and writes nothing', async () => {
      const clawId = randomUUID();
      await store.append(clawsProjection, clawId, [requested(clawId)], { expected: 0, meta: meta() });
      for (const expected of [0, 2, 5]) {
        await assert.rejects(
          store.append(
            clawsProjection,
            clawId,
            [{ type: 'ClawDeletionRequested', data: { requestedBy: 'u' } }],
            { expected: expected, meta: meta() },
          ),
          (err) => err instanceof ConcurrencyError && err.expected === expected,
        );
      }
      // A stale `known` state also loses cleanly.
      const stale = await store.load(clawsProjection, clawId);
      await store.append(
        clawsProjection,
        clawId,
        [{ type: 'ClawDeletionRequested', data: { requestedBy: 'u' } }],
        { expected: 1, meta: meta() },
      );
      await assert.rejects(
        appendToStream(
          database.db,
          inlineProjections,
          clawsProjection,
          clawId,
          [{ type: 'ClawDeleted', data: {} }],
          { expected: 1, known: stale, meta: meta() },
        ),
        ConcurrencyError,
      );
      assert.equal((await store.readStream(clawStream, clawId)).length, 2);
      assert.equal((await store.load(clawsProjection, clawId))!.status, 'deleting');
    });

    it("appends at the end with 'any'", async () => {
      const clawId = randomUUID();
      await store.append(clawsProjection, clawId, [requested(clawId)], { expected: 'any', meta: meta() });
      const r = await store.append(
        clawsProjection,
        clawId,
        [{ type: 'ClawDeletionRequested', data: { requestedBy: 'u' } }],
        { expected: 'any', meta: meta() },
      );
      assert.equal(r.nextVersion, 2);
    });

    it('rejects event data that does not match its schema, with a clear message, writing nothing', async () => {
      const clawId = randomUUID();
      const bad = {
        type: 'ClawRequested',
        data: { clawId: 'not-a-uuid', orgId: randomUUID(), slug: '', name: 'x' },
      };
      await assert.rejects(
        store.append(clawsProjection, clawId, [bad as unknown as ClawEvent], { expected: 0, meta: meta() }),
        (err: unknown) =>
          err instanceof InvalidEventError &&
          /Invalid ClawRequested event: clawId: Invalid UUID/.test(err.message) &&
          /slug/.test(err.message),
      );
      await assert.rejects(
        store.append(clawsProjection, clawId, [{ type: 'Nope', data: {} } as unknown as ClawEvent], {
          expected: 0,
          meta: meta(),
        }),
        InvalidEventError,
      );
      await assert.rejects(
        store.append(clawsProjection, clawId, [registered(randomUUID()) as unknown as ClawEvent], {
          expected: 0,
          meta: meta(),
        }),
        /MiniRegistered does not belong on claw streams/,
      );
      assert.deepEqual(await store.readStream(clawStream, clawId), []);
    });

    it('rejects events out of lifecycle order before writing', async () => {
      const clawId = randomUUID();
      await assert.rejects(
        store.append(clawsProjection, clawId, [{ type: 'ClawDeleted', data: {} }], {
          expected: 0,
          meta: meta(),
        }),
        /before ClawRequested/,
      );
      assert.deepEqual(await store.readStream(clawStream, clawId), []);
    });

    // The triggers bind even the table's owner (the application role has not even the privileges:
    // db/roles.int.test.ts).
    it('refuses UPDATE, DELETE and TRUNCATE on the events table, even to its owner', async () => {
      const clawId = randomUUID();
      await store.append(clawsProjection, clawId, [requested(clawId)], { expected: 0, meta: meta() });
      await database.asOwner(async ({ db }) => {
        await assert.rejects(
          sql`UPDATE events SET event_type = 'X' WHERE stream_id = ${clawStream.streamId(clawId)}`.execute(
            db,
          ),
          /immutable: UPDATE refused/,
        );
        await assert.rejects(
          sql`DELETE FROM events WHERE stream_id = ${clawStream.streamId(clawId)}`.execute(db),
          /immutable: DELETE refused/,
        );
        await assert.rejects(sql`TRUNCATE events`.execute(db), /immutable: TRUNCATE refused/);
      });
      assert.equal((await store.readStream(clawStream, clawId))[0]!.type, 'ClawRequested');
    });

    it("keeps a Mini's allocated count and refuses going over capacity or sharing a port", async () => {
      const miniId = randomUUID();
      await store.append(minisProjection, miniId, [registered(miniId, 2)], { expected: 0, meta: meta() });
      const alloc = (clawId: string, port: number): ClawEvent => ({
        type: 'MiniAllocated',
        data: { miniId, port, tunnelHostname: `claw-${clawId}.claws.test` },
      });
      const claws = [randomUUID(), randomUUID(), randomUUID()];
      for (const c of claws)
        await store.append(clawsProjection, c, [requested(c)], { expected: 0, meta: meta() });
      await store.append(clawsProjection, claws[0]!, [alloc(claws[0]!, 20000)], {
        expected: 1,
        meta: meta(),
      });
      await assert.rejects(
        store.append(clawsProjection, claws[1]!, [alloc(claws[1]!, 20000)], { expected: 1, meta: meta() }),
        (e) => e instanceof ProjectionConflictError && e.conflict === 'port_taken',
      );
      await store.append(clawsProjection, claws[1]!, [alloc(claws[1]!, 20001)], {
        expected: 1,
        meta: meta(),
      });
      await assert.rejects(
        store.append(clawsProjection, claws[2]!, [alloc(claws[2]!, 20002)], { expected: 1, meta: meta() }),
        (e) => e instanceof ProjectionConflictError && e.conflict === 'capacity_exceeded',
      );
      assert.equal((await store.load(minisProjection, miniId))!.allocated, 2);
      assert.equal((await store.readStream(clawStream, claws[2]!)).length, 1);
      await store.append(
        clawsProjection,
        claws[0]!,
        [
          { type: 'ClawDeletionRequested', data: { requestedBy: 'u' } },
          { type: 'AllocationReleased', data: { miniId, port: 20000 } },
        ],
        { expected: 2, meta: meta() },
      );
      assert.equal((await store.load(minisProjection, miniId))!.allocated, 1);
      const c0 = (await store.load(clawsProjection, claws[0]!))!;
      assert.equal(c0.miniPort, null);
      // The released port can be taken again.
      await store.append(clawsProjection, claws[2]!, [alloc(claws[2]!, 20000)], {
        expected: 1,
        meta: meta(),
      });
    });

    it('folds a stream to any version with the same evolve (clawAt)', async () => {
      const clawId = randomUUID();
      await store.append(clawsProjection, clawId, [requested(clawId)], { expected: 0, meta: meta() });
      await store.append(
        clawsProjection,
        clawId,
        [{ type: 'ClawDeletionRequested', data: { requestedBy: 'u' } }],
        { expected: 1, meta: meta() },
      );
      await store.append(clawsProjection, clawId, [{ type: 'ClawDeleted', data: {} }], {
        expected: 2,
        meta: meta(),
      });
      assert.equal((await store.stateAt(clawsProjection, clawId, 1))!.status, 'requested');
      assert.equal((await store.stateAt(clawsProjection, clawId, 2))!.status, 'deleting');
      assert.deepEqual(
        await store.stateAt(clawsProjection, clawId, 3),
        await store.load(clawsProjection, clawId),
      );
    });

    it('reads the global log in order in pages, and signals appends after commit', async () => {
      const seen: Appended[] = [];
      const off = store.onAppended((a) => a && seen.push(a));
      const ids = [randomUUID(), randomUUID(), randomUUID()];
      for (const id of ids)
        await store.append(clawsProjection, id, [requested(id)], { expected: 0, meta: meta() });
      off();
      assert.deepEqual(
        seen.map((s) => s.streamId),
        ids.map((id) => clawStream.streamId(id)),
      );
      const wanted = new Set(ids.map((id) => clawStream.streamId(id)));
      const all = await readSettled(database.db, START, 2, (events) =>
        [...wanted].every((s) => events.some((e) => e.streamId === s)),
      );
      const positions = all.map((e) => e.globalPosition);
      assert.deepEqual(
        positions,
        [...positions].sort((a, b) => a - b),
      );
      const mine = all
        .filter((e) => ids.some((id) => e.streamId === clawStream.streamId(id)))
        .map((e) => e.streamId);
      assert.deepEqual(
        mine,
        ids.map((id) => clawStream.streamId(id)),
      );
    });

    if (driver === 'pg') {
      it('lets exactly one of many concurrent writers win a version (real concurrent connections)', async () => {
        const clawId = randomUUID();
        await store.append(clawsProjection, clawId, [requested(clawId)], { expected: 0, meta: meta() });
        const writers = 16;
        const results = await Promise.allSettled(
          Array.from({ length: writers }, () =>
            appendToStream(
              database.db,
              inlineProjections,
              clawsProjection,
              clawId,
              [{ type: 'ClawDeletionRequested', data: { requestedBy: 'u' } }],
              { expected: 1, meta: meta() },
            ),
          ),
        );
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r) => r.status === 'rejected');
        assert.equal(won.length, 1);
        assert.equal(lost.length, writers - 1);
        for (const l of lost) assert.ok((l as PromiseRejectedResult).reason instanceof ConcurrencyError);
        const events = await store.readStream(clawStream, clawId);
        assert.deepEqual(
          events.map((e) => e.streamVersion),
          [1, 2],
        );
        assert.equal((await store.load(clawsProjection, clawId))!.version, 2);
      });

      it('never lets a reader skip an event whose transaction commits late', async () => {
        const { events: before } = await readAll(database.db, START, 100_000);
        const checkpoint = before.length
          ? `${before.at(-1)!.transactionId}:${before.at(-1)!.globalPosition}`
          : START;
        const a = await database.db.startTransaction().execute();
        const b = await database.db.startTransaction().execute();
        try {
          const idA = randomUUID();
          const idB = randomUUID();
          const ra = await appendToStream(a, inlineProjections, clawsProjection, idA, [requested(idA)], {
            expected: 0,
            meta: meta(),
          });
          const rb = await appendToStream(b, inlineProjections, clawsProjection, idB, [requested(idB)], {
            expected: 0,
            meta: meta(),
          });
          assert.ok(ra.lastPosition < rb.lastPosition, 'A took the earlier position');
          await b.commit().execute();
          // B is committed but A, positioned before it, is still open: the reader must not move past A.
          const during = await readAll(database.db, checkpoint, 100);
          assert.deepEqual(
            during.events
              .map((e) => e.streamId)
              .filter((s) => s === clawStream.streamId(idA) || s === clawStream.streamId(idB)),
            [],
          );
          await a.commit().execute();
          const afterCommit = await readSettled(
            database.db,
            during.checkpoint,
            100,
            (events) => events.length >= 2,
          );
          assert.deepEqual(
            afterCommit.map((e) => e.streamId),
            [clawStream.streamId(idA), clawStream.streamId(idB)],
          );
        } finally {
          await a
            .rollback()
            .execute()
            .catch(() => {});
          await b
            .rollback()
            .execute()
            .catch(() => {});
        }
      });

      it('wakes a listener in another process-like connection through NOTIFY, after commit only', async () => {
        const { createDatabase } = await import('../db/client');
        const other = await createDatabase({ url: database.url });
        const otherStore = createEventStore(other);
        try {
          let woke = 0;
          const off = otherStore.onAppended(() => woke++);
          await new Promise((r) => setTimeout(r, 200)); // LISTEN is issued asynchronously
          const trx = await database.db.startTransaction().execute();
          const id = randomUUID();
          await appendToStream(trx, inlineProjections, clawsProjection, id, [requested(id)], {
            expected: 0,
            meta: meta(),
          });
          await new Promise((r) => setTimeout(r, 100));
          assert.equal(woke, 0, 'no signal before commit');
          await trx.rollback().execute();
          await store.append(clawsProjection, id, [requested(id)], { expected: 0, meta: meta() });
          const deadline = Date.now() + 5000;
          while (woke === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
          assert.ok(woke > 0, 'the other connection was notified');
          off();
        } finally {
          await otherStore.close();
          await other.close();
        }
      });
    }
  });
}
