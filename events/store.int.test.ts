import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { createTestDatabase, testDrivers, type TestDatabase } from '../tests/fixtures/db';
import { meta } from '../tests/fixtures/ids';
import { clawAt } from '../projections/claw-at';
import { clawStream, InvalidEventError, miniStream, type DomainEvent } from './catalog';
import { ConcurrencyError, ProjectionConflictError } from './errors';
import { appendToStream } from './append';
import { readAll, START } from './read';
import { EventStore, type Appended } from './store';

const requested = (clawId: string, orgId = randomUUID()): DomainEvent => ({
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
const registered = (miniId: string, capacity = 2): DomainEvent => ({
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

for (const driver of testDrivers()) {
  describe(`event store on ${driver}`, () => {
    let database: TestDatabase;
    let store: EventStore;
    before(async () => {
      database = await createTestDatabase(driver);
      store = new EventStore(database);
    });
    after(async () => {
      await store.close();
      await database.close();
    });

    it('appends, assigns versions and positions, records metadata, and projects inline', async () => {
      const clawId = randomUUID();
      const m = meta('user:alice');
      const r = await store.append(clawStream(clawId), 0, [requested(clawId)], m);
      assert.equal(r.nextVersion, 1);
      const events = await store.readStream(clawStream(clawId));
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
      await store.append(clawStream(clawId), 0, [requested(clawId)], meta());
      for (const expected of [0, 2, 5]) {
        await assert.rejects(
          store.append(
            clawStream(clawId),
            expected,
            [{ type: 'ClawDeletionRequested', data: { requestedBy: 'u' } }],
            meta(),
          ),
          (err) => err instanceof ConcurrencyError && err.expected === expected,
        );
      }
      // A stale `known` state also loses cleanly.
      const stale = await store.loadClaw(clawId);
      await store.append(
        clawStream(clawId),
        1,
        [{ type: 'ClawDeletionRequested', data: { requestedBy: 'u' } }],
        meta(),
      );
      await assert.rejects(
        appendToStream(
          database.db,
          clawStream(clawId),
          1,
          [{ type: 'ClawDeleted', data: {} }],
          meta(),
          stale,
        ),
        ConcurrencyError,
      );
      assert.equal((await store.readStream(clawStream(clawId))).length, 2);
      assert.equal((await store.loadClaw(clawId))!.status, 'deleting');
    });

    it("appends at the end with 'any'", async () => {
      const clawId = randomUUID();
      await store.append(clawStream(clawId), 'any', [requested(clawId)], meta());
      const r = await store.append(
        clawStream(clawId),
        'any',
        [{ type: 'ClawDeletionRequested', data: { requestedBy: 'u' } }],
        meta(),
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
        store.append(clawStream(clawId), 0, [bad as unknown as DomainEvent], meta()),
        (err: unknown) =>
          err instanceof InvalidEventError &&
          /Invalid ClawRequested event: clawId: Invalid UUID/.test(err.message) &&
          /slug/.test(err.message),
      );
      await assert.rejects(
        store.append(clawStream(clawId), 0, [{ type: 'Nope', data: {} } as unknown as DomainEvent], meta()),
        InvalidEventError,
      );
      await assert.rejects(
        store.append(clawStream(clawId), 0, [registered(randomUUID())], meta()),
        /does not belong on stream/,
      );
      assert.deepEqual(await store.readStream(clawStream(clawId)), []);
    });

    it('rejects events out of lifecycle order before writing', async () => {
      const clawId = randomUUID();
      await assert.rejects(
        store.append(clawStream(clawId), 0, [{ type: 'ClawDeleted', data: {} }], meta()),
        /before ClawRequested/,
      );
      assert.deepEqual(await store.readStream(clawStream(clawId)), []);
    });

    it('refuses UPDATE, DELETE and TRUNCATE on the events table', async () => {
      const clawId = randomUUID();
      await store.append(clawStream(clawId), 0, [requested(clawId)], meta());
      await assert.rejects(
        sql`UPDATE events SET event_type = 'X' WHERE stream_id = ${clawStream(clawId)}`.execute(database.db),
        /immutable: UPDATE refused/,
      );
      await assert.rejects(
        sql`DELETE FROM events WHERE stream_id = ${clawStream(clawId)}`.execute(database.db),
        /immutable: DELETE refused/,
      );
      await assert.rejects(sql`TRUNCATE events`.execute(database.db), /immutable: TRUNCATE refused/);
      assert.equal((await store.readStream(clawStream(clawId)))[0]!.type, 'ClawRequested');
    });

    it("keeps a Mini's allocated count and refuses going over capacity or sharing a port", async () => {
      const miniId = randomUUID();
      await store.append(miniStream(miniId), 0, [registered(miniId, 2)], meta());
      const alloc = (clawId: string, port: number): DomainEvent => ({
        type: 'MiniAllocated',
        data: { miniId, port, tunnelHostname: `claw-${clawId}.claws.test` },
      });
      const claws = [randomUUID(), randomUUID(), randomUUID()];
      for (const c of claws) await store.append(clawStream(c), 0, [requested(c)], meta());
      await store.append(clawStream(claws[0]!), 1, [alloc(claws[0]!, 20000)], meta());
      await assert.rejects(
        store.append(clawStream(claws[1]!), 1, [alloc(claws[1]!, 20000)], meta()),
        (e) => e instanceof ProjectionConflictError && e.conflict === 'port_taken',
      );
      await store.append(clawStream(claws[1]!), 1, [alloc(claws[1]!, 20001)], meta());
      await assert.rejects(
        store.append(clawStream(claws[2]!), 1, [alloc(claws[2]!, 20002)], meta()),
        (e) => e instanceof ProjectionConflictError && e.conflict === 'capacity_exceeded',
      );
      assert.equal((await store.loadMini(miniId))!.allocated, 2);
      assert.equal((await store.readStream(clawStream(claws[2]!))).length, 1);
      await store.append(
        clawStream(claws[0]!),
        2,
        [
          { type: 'ClawDeletionRequested', data: { requestedBy: 'u' } },
          { type: 'AllocationReleased', data: { miniId, port: 20000 } },
        ],
        meta(),
      );
      assert.equal((await store.loadMini(miniId))!.allocated, 1);
      const c0 = (await store.loadClaw(claws[0]!))!;
      assert.equal(c0.miniPort, null);
      // The released port can be taken again.
      await store.append(clawStream(claws[2]!), 1, [alloc(claws[2]!, 20000)], meta());
    });

    it('folds a stream to any version with the same evolve (clawAt)', async () => {
      const clawId = randomUUID();
      await store.append(clawStream(clawId), 0, [requested(clawId)], meta());
      await store.append(
        clawStream(clawId),
        1,
        [{ type: 'ClawDeletionRequested', data: { requestedBy: 'u' } }],
        meta(),
      );
      await store.append(clawStream(clawId), 2, [{ type: 'ClawDeleted', data: {} }], meta());
      assert.equal((await clawAt(store, clawId, 1))!.status, 'requested');
      assert.equal((await clawAt(store, clawId, 2))!.status, 'deleting');
      assert.deepEqual(await clawAt(store, clawId, 3), await store.loadClaw(clawId));
    });

    it('reads the global log in order in pages, and signals appends after commit', async () => {
      const seen: Appended[] = [];
      const off = store.onAppended((a) => a && seen.push(a));
      const ids = [randomUUID(), randomUUID(), randomUUID()];
      for (const id of ids) await store.append(clawStream(id), 0, [requested(id)], meta());
      off();
      assert.deepEqual(
        seen.map((s) => s.streamId),
        ids.map(clawStream),
      );
      let checkpoint = START;
      const all = [];
      for (;;) {
        const page = await readAll(database.db, checkpoint, 2);
        if (page.events.length === 0) break;
        all.push(...page.events);
        checkpoint = page.checkpoint;
      }
      const positions = all.map((e) => e.globalPosition);
      assert.deepEqual(
        positions,
        [...positions].sort((a, b) => a - b),
      );
      const mine = all.filter((e) => ids.some((id) => e.streamId === clawStream(id))).map((e) => e.streamId);
      assert.deepEqual(mine, ids.map(clawStream));
    });

    if (driver === 'pg') {
      it('lets exactly one of many concurrent writers win a version (real concurrent connections)', async () => {
        const clawId = randomUUID();
        await store.append(clawStream(clawId), 0, [requested(clawId)], meta());
        const writers = 16;
        const results = await Promise.allSettled(
          Array.from({ length: writers }, () =>
            appendToStream(
              database.db,
              clawStream(clawId),
              1,
              [{ type: 'ClawDeletionRequested', data: { requestedBy: 'u' } }],
              meta(),
            ),
          ),
        );
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r) => r.status === 'rejected');
        assert.equal(won.length, 1);
        assert.equal(lost.length, writers - 1);
        for (const l of lost) assert.ok((l as PromiseRejectedResult).reason instanceof ConcurrencyError);
        const events = await store.readStream(clawStream(clawId));
        assert.deepEqual(
          events.map((e) => e.streamVersion),
          [1, 2],
        );
        assert.equal((await store.loadClaw(clawId))!.version, 2);
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
          const ra = await appendToStream(a, clawStream(idA), 0, [requested(idA)], meta());
          const rb = await appendToStream(b, clawStream(idB), 0, [requested(idB)], meta());
          assert.ok(ra.lastPosition < rb.lastPosition, 'A took the earlier position');
          await b.commit().execute();
          // B is committed but A, positioned before it, is still open: the reader must not move past A.
          const during = await readAll(database.db, checkpoint, 100);
          assert.deepEqual(
            during.events
              .map((e) => e.streamId)
              .filter((s) => s === clawStream(idA) || s === clawStream(idB)),
            [],
          );
          await a.commit().execute();
          const afterCommit = await readAll(database.db, during.checkpoint, 100);
          assert.deepEqual(
            afterCommit.events.map((e) => e.streamId),
            [clawStream(idA), clawStream(idB)],
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
        const otherStore = new EventStore(other);
        try {
          let woke = 0;
          const off = otherStore.onAppended(() => woke++);
          await new Promise((r) => setTimeout(r, 200)); // LISTEN is issued asynchronously
          const trx = await database.db.startTransaction().execute();
          const id = randomUUID();
          await appendToStream(trx, clawStream(id), 0, [requested(id)], meta());
          await new Promise((r) => setTimeout(r, 100));
          assert.equal(woke, 0, 'no signal before commit');
          await trx.rollback().execute();
          await store.append(clawStream(id), 0, [requested(id)], meta());
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
