import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAppServer, trpcClient, type AppServer } from '../../tests/fixtures/app-server';
import { createTestDatabase, testDrivers, type TestDatabase } from '../../tests/fixtures/db';
import { testRuntime } from '../../tests/fixtures/fleet';
import { waitFor } from '../../tests/fixtures/processes';
import { callerFor, newUser } from '../../tests/fixtures/trpc';
import { createSession, SESSION_COOKIE, type SessionUser } from '../auth/session';
import type { Runtime } from '../runtime';

/**
 * What a browser tab sees when a live feed's generator throws mid-stream (anything but a lost
 * database connection, which the feed waits out): tRPC sends the error as an SSE event and ends
 * the stream; the link takes INTERNAL_SERVER_ERROR as retryable, EventSource reconnects with the
 * Last-Event-ID it holds, and the server prefers that header to the input's lastEventId. So the
 * feed resumes after the last change it delivered: nothing lost, nothing twice.
 */
for (const driver of testDrivers()) {
  describe(`a live feed that fails mid-stream, over SSE, on ${driver}`, () => {
    let database: TestDatabase;
    let rt: Runtime;
    let app: AppServer;
    let user: SessionUser;
    let cookie: string;

    before(async () => {
      database = await createTestDatabase(driver);
      rt = testRuntime(database);
      user = await newUser(rt, 'sse');
      await (await callerFor(rt, user)).orgs.create({ name: 'Sse', slug: 'sse' });
      cookie = `${SESSION_COOKIE}=${(await createSession(database.db, user.id)).token}`;
      app = await startAppServer(rt);
    });
    after(async () => {
      await app?.close();
      await rt?.close();
      await database?.close();
    });

    it('reconnects with its last event id and resumes after it', async () => {
      const got: { id: string; slug: string }[] = [];
      const errors: string[] = [];
      let connections = 0;
      const sub = trpcClient(app.url, cookie).claws.onChange.subscribe(
        { orgSlug: 'sse' },
        {
          onStarted: () => connections++,
          onData: (d) => got.push({ id: d.id, slug: d.data.slug }),
          onError: (err) => errors.push(err.message),
        },
      );
      try {
        await waitFor('connected', async () => connections === 1);
        const api = await callerFor(rt, user);
        await api.claws.create({ orgSlug: 'sse', name: 'first' });
        await waitFor('the first', async () => got.length === 1);

        // The next read of the log fails once, as a bug or a bad row would make it.
        const readAll = rt.store.readAll.bind(rt.store);
        let failures = 0;
        rt.store.readAll = async (after, limit) => {
          if (failures++ === 0) throw new Error('read failed');
          return readAll(after, limit);
        };
        await api.claws.create({ orgSlug: 'sse', name: 'second' });
        await waitFor('a new connection', async () => connections === 2, 15_000);
        await waitFor('the second', async () => got.some((g) => g.slug === 'second'), 15_000);
        await api.claws.create({ orgSlug: 'sse', name: 'third' });
        await waitFor('the third', async () => got.some((g) => g.slug === 'third'));

        assert.deepEqual(
          got.map((g) => g.slug),
          ['first', 'second', 'third'],
        );
        assert.deepEqual(errors, [], 'the subscription itself never failed');
      } finally {
        sub.unsubscribe();
      }
    });
  });
}
