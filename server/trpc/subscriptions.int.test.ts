import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, testDrivers, type TestDatabase } from '../../tests/fixtures/db';
import { testRuntime } from '../../tests/fixtures/fleet';
import { waitFor } from '../../tests/fixtures/processes';
import { callerFor, newUser } from '../../tests/fixtures/trpc';
import type { SessionUser } from '../auth/session';
import type { Runtime } from '../runtime';

/** Reads a tracked subscription into an array until aborted: [id, data] pairs. */
function collect<T>(iterable: AsyncIterable<unknown>, into: { id: string; data: T }[]) {
  return (async () => {
    try {
      for await (const item of iterable) {
        const [id, data] = item as [string, T];
        into.push({ id, data });
      }
    } catch (err) {
      if ((err as Error).name !== 'AbortError') throw err;
    }
  })();
}

for (const driver of testDrivers()) {
  describe(`live subscriptions on ${driver}`, () => {
    let database: TestDatabase;
    let rt: Runtime;
    let owner: SessionUser;

    before(async () => {
      database = await createTestDatabase(driver);
      rt = testRuntime(database);
      owner = await newUser(rt, 'owner', { platformAdmin: true });
      await (await callerFor(rt, owner)).orgs.create({ name: 'Live', slug: 'live' });
      await (await callerFor(rt, owner)).orgs.create({ name: 'Other', slug: 'other' });
    });
    after(async () => {
      await rt?.close();
      await database?.close();
    });

    it("claws.onChange delivers the org's changes (and not another org's)", async () => {
      const ac = new AbortController();
      const got: { id: string; data: { slug: string; status: string } }[] = [];
      const c = await callerFor(rt, owner, { signal: ac.signal });
      const done = collect(await c.claws.onChange({ orgSlug: 'live' }), got);
      await new Promise((r) => setTimeout(r, 100));
      const api = await callerFor(rt, owner);
      await api.claws.create({ orgSlug: 'other', name: 'not mine' });
      const mine = await api.claws.create({ orgSlug: 'live', name: 'watched' });
      // Each update carries the claw as it is when read (changes coalesce), so the delete waits
      // until the first update is in.
      await waitFor('the create', async () => got.length >= 1);
      await api.claws.delete({ orgSlug: 'live', clawSlug: mine.slug });
      await waitFor('the delete', async () => got.some((g) => g.data.status === 'deleting'));
      ac.abort();
      await done;
      assert.deepEqual(got[0] && [got[0].data.slug, got[0].data.status], ['watched', 'requested']);
      assert.deepEqual(got.map((g) => [g.data.slug, g.data.status]).at(-1), ['watched', 'deleting']);
      assert.ok(got.every((g) => g.data.slug !== 'not-mine'));
    });

    it('resumes after the last event it saw: nothing lost, nothing doubled', async () => {
      const api = await callerFor(rt, owner);
      const seen: { id: string; data: { slug: string; status: string } }[] = [];
      const ac1 = new AbortController();
      const first = collect(
        await (await callerFor(rt, owner, { signal: ac1.signal })).claws.onChange({ orgSlug: 'live' }),
        seen,
      );
      await new Promise((r) => setTimeout(r, 100));
      for (let i = 0; i < 3; i++) await api.claws.create({ orgSlug: 'live', name: `before ${i}` });
      await waitFor('three', async () => seen.length >= 3);
      ac1.abort();
      await first;
      const lastEventId = seen.at(-1)!.id;

      // While disconnected, more happens.
      for (let i = 0; i < 4; i++) await api.claws.create({ orgSlug: 'live', name: `during ${i}` });

      const resumed: typeof seen = [];
      const ac2 = new AbortController();
      const second = collect(
        await (
          await callerFor(rt, owner, { signal: ac2.signal })
        ).claws.onChange({ orgSlug: 'live', lastEventId }),
        resumed,
      );
      await waitFor('the four missed', async () => resumed.length >= 4);
      await api.claws.create({ orgSlug: 'live', name: 'after' });
      await waitFor('and the next', async () => resumed.length >= 5);
      ac2.abort();
      await second;
      assert.deepEqual(
        resumed.map((r) => r.data.slug),
        ['during-0', 'during-1', 'during-2', 'during-3', 'after'],
      );
      const ids = [...seen, ...resumed].map((r) => r.id);
      assert.equal(new Set(ids).size, ids.length, 'no event delivered twice');
    });

    it('claws.onTimeline streams new entries of one claw and resumes by version', async () => {
      const api = await callerFor(rt, owner);
      const claw = await api.claws.create({ orgSlug: 'live', name: 'timeline' });
      const got: { id: string; data: { type: string; version: number } }[] = [];
      const ac = new AbortController();
      const done = collect(
        await (
          await callerFor(rt, owner, { signal: ac.signal })
        ).claws.onTimeline({ orgSlug: 'live', clawSlug: claw.slug, lastEventId: '0' }),
        got,
      );
      await waitFor('the request', async () => got.length >= 1);
      await api.claws.delete({ orgSlug: 'live', clawSlug: claw.slug });
      await waitFor('the deletion', async () => got.length >= 2);
      ac.abort();
      await done;
      assert.deepEqual(
        got.map((g) => [g.id, g.data.type]),
        [
          ['1', 'ClawRequested'],
          ['2', 'ClawDeletionRequested'],
        ],
      );
    });

    it('fleet.onChange sends the fleet when a Mini changes', async () => {
      const got: { id: string; data: { hostname: string; cordoned: boolean }[] }[] = [];
      const ac = new AbortController();
      const admin = owner; // a platform admin (newUser above)
      const done = collect(await (await callerFor(rt, admin, { signal: ac.signal })).fleet.onChange(), got);
      await new Promise((r) => setTimeout(r, 100));
      const api = await callerFor(rt, admin);
      const m = await api.fleet.register({
        hostname: 'live-mini.test',
        agentUrl: 'http://127.0.0.1:9',
        agentToken: 'agent-token-0123456789',
        tunnelSuffix: 'claws.test',
        portRangeStart: 20000,
        portRangeEnd: 20001,
        capacity: 2,
      });
      await api.fleet.cordon({ miniId: m.id });
      await waitFor('cordoned in the stream', async () =>
        got.some((g) => g.data.some((x) => x.hostname === 'live-mini.test' && x.cordoned)),
      );
      ac.abort();
      await done;
    });
  });
}
