import assert from 'node:assert/strict';
import { waitFor } from '../../tests/fixtures/processes';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, testDrivers, type TestDatabase } from '../../tests/fixtures/db';
import { testRuntime } from '../../tests/fixtures/fleet';
import { GENEROUS_LIMITS } from '../../tests/fixtures/limits';
import { callerFor, joinOrg, newUser, outcome } from '../../tests/fixtures/trpc';
import { SESSION_COOKIE } from '../auth/session';
import { createLogger } from '../log';
import type { Runtime } from '../runtime';
import { handleTrpcRequest } from '../trpc/http';
import { CLIENT_ADDRESS_HEADER, throttleKeyOfAddress } from './client-address';
import { hitThrottle } from './throttle';
import { Semaphore } from './semaphore';
import { LeaseBook } from './leases';

/**
 * Throttles and quotas as an abuser meets them: over HTTP where the request shape matters
 * (batches, addresses), through callers elsewhere. Limits are the production defaults unless a
 * test says otherwise; nothing here asserts a duration.
 */
const HOST = '127.0.0.1:3000';
const BASE = `http://${HOST}/api/trpc`;

for (const driver of testDrivers()) {
  describe(`limits on ${driver}`, () => {
    let database: TestDatabase;
    let rt: Runtime;
    const log = createLogger('error', {}, () => {});

    before(async () => {
      database = await createTestDatabase(driver);
      // The defaults, except what a test below sets itself.
      const defaults = Object.fromEntries(Object.keys(GENEROUS_LIMITS).map((k) => [k, '']));
      rt = testRuntime(database, undefined, defaults);
    });
    after(async () => {
      await rt?.close();
      await database?.close();
    });

    const post = (path: string, input: unknown, address: string, extra: Record<string, string> = {}) =>
      handleTrpcRequest(
        new Request(`${BASE}/${path}`, {
          method: 'POST',
          headers: {
            host: HOST,
            'content-type': 'application/json',
            'x-claws-csrf': '1',
            [CLIENT_ADDRESS_HEADER]: address,
            ...extra,
          },
          body: JSON.stringify(input),
        }),
        { runtime: rt, log },
      );
    const login = (email: string, password: string, address: string) =>
      post('auth.login', { json: { email, password } }, address);
    const messageOf = async (res: Response) =>
      ((await res.json()) as { error: { json: { message: string } } }).error.json.message;

    it('a throttle admits exactly its limit under concurrent hits, then says when to retry', async () => {
      const policy = { limit: 5, windowMs: 60_000 };
      const results = await Promise.all(
        Array.from({ length: 12 }, () => hitThrottle(database.db, 'race', policy)),
      );
      assert.equal(results.filter((r) => r.ok).length, 5);
      const refused = results.find((r) => !r.ok) as { ok: false; retryAfterS: number };
      assert.ok(refused.retryAfterS >= 1 && refused.retryAfterS <= 60, String(refused.retryAfterS));
      // A refused hit is not recorded: the window still holds the five admitted ones only.
      const row = await database.db
        .selectFrom('throttles')
        .select('hits')
        .where('key', '=', 'race')
        .executeTakeFirstOrThrow();
      assert.equal(row.hits.length, 5);
    });

    it('the window slides: hits older than it no longer count', async () => {
      const policy = { limit: 2, windowMs: 1000 };
      assert.equal((await hitThrottle(database.db, 'slide', policy)).ok, true);
      assert.equal((await hitThrottle(database.db, 'slide', policy)).ok, true);
      assert.equal((await hitThrottle(database.db, 'slide', policy)).ok, false);
      await database.db
        .updateTable('throttles')
        .set({ hits: [new Date(Date.now() - 5000), new Date(Date.now() - 4000)] })
        .where('key', '=', 'slide')
        .execute();
      assert.equal((await hitThrottle(database.db, 'slide', policy)).ok, true);
    });

    it('login: one account from one address gets 10 guesses per 15 minutes, then 429 "try again in N s"', async () => {
      const u = await newUser(rt, 'victim');
      const codes: number[] = [];
      for (let i = 0; i < 12; i++) codes.push((await login(u.email, `guess-${i}`, '203.0.113.7')).status);
      assert.deepEqual(codes.slice(0, 10), Array(10).fill(400));
      assert.deepEqual(codes.slice(10), [429, 429]);
      const refused = await login(u.email, 'password-123', '203.0.113.7');
      assert.equal(refused.status, 429, 'even the right password waits: the guesses are over');
      assert.match(await messageOf(refused), /Too many login attempts for this account; try again in \d+ s/);
      assert.match(refused.headers.get('retry-after') ?? '', /^\d+$/);
      // The owner, from elsewhere, still gets in: the per-account key alone allows more.
      const ok = await login(u.email, 'password-123', '198.51.100.20');
      assert.equal(ok.status, 200);
      assert.ok(ok.headers.getSetCookie().some((c) => c.startsWith(`${SESSION_COOKIE}=`)));
    });

    it('login: one address spraying many accounts is stopped by the address key', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 32; i++)
        statuses.push((await login(`spray${i}@example.com`, 'x', '192.0.2.99')).status);
      assert.equal(statuses.filter((s) => s === 400).length, 30);
      assert.deepEqual(statuses.slice(30), [429, 429]);
      assert.match(await messageOf(await login('other@example.com', 'x', '192.0.2.99')), /from your address/);
      // IPv6: one /64 is one address.
      assert.equal(
        throttleKeyOfAddress('2001:db8:1:2:aaaa::1'),
        throttleKeyOfAddress('2001:db8:1:2:bbbb::9'),
      );
    });

    it('login, sign-up and password change cannot be batched', async () => {
      const paths = Array.from({ length: 3 }, () => 'auth.login').join(',');
      const batch = Object.fromEntries(
        [0, 1, 2].map((i) => [i, { json: { email: 'a@example.com', password: 'x' } }]),
      );
      const res = await post(`${paths}?batch=1`, batch, '192.0.2.50');
      assert.equal(res.status, 400);
      const mixed = await post('auth.me,auth.signup?batch=1', { 0: {}, 1: { json: {} } }, '192.0.2.50');
      assert.equal(mixed.status, 400);
      // Alone in a "batch" of one (what the tRPC client sends): fine.
      const single = await post(
        'auth.login?batch=1',
        { 0: { json: { email: 'a@example.com', password: 'x' } } },
        '192.0.2.50',
      );
      assert.equal(single.status, 400, 'wrong password, not refused as a batch');
      assert.match(await single.text(), /Wrong email or password/);
    });

    it('sign-up: 10 per address per hour', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 11; i++)
        statuses.push(
          (
            await post(
              'auth.signup',
              { json: { email: `s${i}@example.com`, password: 'password-123', name: 'S' } },
              '192.0.2.77',
            )
          ).status,
        );
      assert.deepEqual(statuses, [...Array(10).fill(200), 429]);
    });

    it('quotas: organizations per user, claws per organization (exact under concurrency)', async () => {
      const u = await newUser(rt, 'quota');
      const c = await callerFor(rt, u);
      const orgs: string[] = [];
      for (let i = 0; i < 4; i++) orgs.push(await outcome(c.orgs.create({ name: `Quota ${i}` })));
      assert.deepEqual(orgs, ['OK', 'OK', 'OK', 'FORBIDDEN']);
      await assert.rejects(
        c.orgs.create({ name: 'Quota 5' }),
        /Limit reached: you can own at most 3 organizations/,
      );
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          outcome(c.claws.create({ orgSlug: 'quota-0', name: `claw ${i}` })),
        ),
      );
      assert.equal(results.filter((r) => r === 'OK').length, 5, results.join(','));
      assert.ok(
        results.every((r) => r === 'OK' || r === 'FORBIDDEN' || r === 'TOO_MANY_REQUESTS'),
        results.join(','),
      );
      await assert.rejects(c.claws.create({ orgSlug: 'quota-0', name: 'one more' }), /at most 5 claws/);
    });

    it('claw creation is throttled per caller across organizations', async () => {
      const rt2 = testRuntime(database, undefined, { THROTTLE_CLAW_CREATE_PER_USER: '3/10m' });
      const u = await newUser(rt2, 'fast');
      const c = await callerFor(rt2, u);
      await c.orgs.create({ name: 'Fast A' });
      await c.orgs.create({ name: 'Fast B' });
      const got = [];
      for (const org of ['fast-a', 'fast-b', 'fast-a', 'fast-b'])
        got.push(await outcome(c.claws.create({ orgSlug: org, name: `c ${got.length}` })));
      assert.deepEqual(got, ['OK', 'OK', 'OK', 'TOO_MANY_REQUESTS']);
      await rt2.close();
    });

    it('members: invitations count against the organization’s seats', async () => {
      const rt2 = testRuntime(database, undefined, { QUOTA_MEMBERS_PER_ORG: '3' });
      const owner = await newUser(rt2, 'seats');
      const c = await callerFor(rt2, owner);
      const { slug } = await c.orgs.create({ name: 'Seats' });
      await joinOrg(rt2, slug, await newUser(rt2, 'm1'), 'member');
      assert.equal(
        await outcome(c.orgs.invite({ orgSlug: slug, email: 'i1@example.com', role: 'member' })),
        'OK',
      );
      await assert.rejects(
        c.orgs.invite({ orgSlug: slug, email: 'i2@example.com', role: 'member' }),
        /at most 3 members and open invitations/,
      );
      await rt2.close();
    });

    it('live subscriptions per user are capped; closing one frees its seat', async () => {
      const rt2 = testRuntime(database, undefined, { QUOTA_SUBSCRIPTIONS_PER_USER: '3' });
      const u = await newUser(rt2, 'tabs');
      await (await callerFor(rt2, u)).orgs.create({ name: 'Tabs' });
      const open = async () => {
        const ac = new AbortController();
        const it = (
          await (await callerFor(rt2, u, { signal: ac.signal })).claws.onChange({ orgSlug: 'tabs' })
        )[Symbol.asyncIterator]();
        const first = it.next(); // starts the generator: the lease is taken here
        return { ac, first };
      };
      // One at a time: four generators started at once race for the three seats, and any of them
      // may be the one refused.
      const seats = async () =>
        Number(
          (
            await rt2.database.db
              .selectFrom('live_leases')
              .select((eb) => eb.fn.countAll<number>().as('n'))
              .where('principal', 'like', `%${u.id}%`)
              .executeTakeFirstOrThrow()
          ).n,
        );
      const subs = [];
      for (let i = 1; i <= 3; i++) {
        subs.push(await open());
        await waitFor(`seat ${i} taken`, async () => (await seats()) === i, 5000, 20);
      }
      const fourth = await open();
      await assert.rejects(fourth.first, /Too many live updates.*at most 3/);
      subs[0]!.ac.abort();
      await subs[0]!.first.catch(() => {});
      // The seat is given back as the closed subscription ends (a database write): soon, not at once.
      await waitFor(
        'a seat freed by the closed subscription',
        async () => {
          const fifth = await open();
          fifth.ac.abort();
          return fifth.first.then(
            () => true,
            () => false,
          );
        },
        5000,
        100,
      );
      for (const s of subs.slice(1)) s.ac.abort();
      await rt2.close();
    });

    // PostgreSQL only: PGlite is one process's database, so there is no second instance to ask.
    if (driver === 'pg')
      it('caps and throttles hold across server instances (two database handles on PostgreSQL)', async () => {
        assert.ok(database.url, 'a PostgreSQL test database has a URL');
        const { createDatabase } = await import('../../db/client');
        const other = await createDatabase({ url: database.url });
        try {
          const a = new LeaseBook(database.db);
          const b = new LeaseBook(other.db);
          const got = await Promise.all(
            [a, b, a, b, a, b].map((book) =>
              book.acquire('user:two-instances', 'subscription', 4).then(
                () => 'OK',
                () => 'REFUSED',
              ),
            ),
          );
          assert.equal(got.filter((g) => g === 'OK').length, 4);
          const policy = { limit: 3, windowMs: 60_000 };
          const hits = await Promise.all(
            [database.db, other.db, database.db, other.db, database.db].map((db) =>
              hitThrottle(db, 'two-instances', policy),
            ),
          );
          assert.equal(hits.filter((h) => h.ok).length, 3);
        } finally {
          await other.close();
        }
      });

    it('leases expire when their instance dies (not renewed)', async () => {
      const book = new LeaseBook(database.db);
      await book.acquire('user:ghost', 'chat', 1);
      await assert.rejects(book.acquire('user:ghost', 'chat', 1), /Too many chat connections/);
      await database.db
        .updateTable('live_leases')
        .set({ expires_at: new Date(Date.now() - 1) })
        .where('principal', '=', 'user:ghost')
        .execute();
      await book.acquire('user:ghost', 'chat', 1);
    });
  });
}

describe('password hashing queue', () => {
  it('runs at most `concurrency` tasks at once, queues the rest in order, refuses past the queue', async () => {
    const s = new Semaphore(2, 3);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const release: (() => void)[] = [];
    const task = (i: number) =>
      s.run(async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise<void>((r) => release.push(r));
        order.push(i);
        running--;
      });
    const tasks = [0, 1, 2, 3, 4].map(task);
    await assert.rejects(task(5), /busy/);
    while (order.length < 5) {
      await new Promise((r) => setImmediate(r));
      release.shift()?.();
    }
    await Promise.all(tasks);
    assert.equal(peak, 2);
    assert.deepEqual(order, [0, 1, 2, 3, 4]);
  });
});
