import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SessionUser } from '../auth/session';
import { createTestDatabase, testDrivers, type TestDatabase } from '../../tests/fixtures/db';
import { testRuntime } from '../../tests/fixtures/fleet';
import { callerFor, newUser, outcome } from '../../tests/fixtures/trpc';
import { requestClaw } from '../claws/commands';
import type { Runtime } from '../runtime';

type Who = 'anonymous' | 'outsider' | 'member' | 'admin' | 'owner' | 'platformAdmin';
const WHO: Who[] = ['anonymous', 'outsider', 'member', 'admin', 'owner', 'platformAdmin'];

for (const driver of testDrivers()) {
  describe(`authorization matrix on ${driver}`, () => {
    let database: TestDatabase;
    let rt: Runtime;
    const users = {} as Record<Exclude<Who, 'anonymous'>, SessionUser>;
    let orgSlug: string;
    let miniId: string;

    before(async () => {
      database = await createTestDatabase(driver);
      rt = testRuntime(database);
      users.platformAdmin = await newUser(rt, 'platform'); // first user: platform admin, in no org
      assert.equal(users.platformAdmin.is_platform_admin, true);
      for (const w of ['owner', 'admin', 'member', 'outsider'] as const) users[w] = await newUser(rt, w);
      const owner = await callerFor(rt, users.owner);
      orgSlug = (await owner.orgs.create({ name: 'Acme' })).slug;
      await owner.orgs.addMember({ orgSlug, email: users.admin.email, role: 'admin' });
      await owner.orgs.addMember({ orgSlug, email: users.member.email, role: 'member' });
      await (await callerFor(rt, users.outsider)).orgs.create({ name: 'Elsewhere' });
      const pa = await callerFor(rt, users.platformAdmin);
      miniId = (
        await pa.fleet.register({
          hostname: 'mini-auth.test',
          agentUrl: 'http://127.0.0.1:9',
          agentToken: 'agent-token-0123456789',
          tunnelSuffix: 'claws.test',
          portRangeStart: 20000,
          portRangeEnd: 20009,
          capacity: 5,
        })
      ).id;
    });
    after(async () => {
      await rt?.close();
      await database?.close();
    });

    const caller = (who: Who) => callerFor(rt, who === 'anonymous' ? null : users[who]);
    /** A claw to act on, created fresh by the owner so one row's delete does not affect another. */
    const freshClaw = async () => {
      const org = await database.db
        .selectFrom('organizations')
        .select('id')
        .where('slug', '=', orgSlug)
        .executeTakeFirstOrThrow();
      const ctx = { store: rt.store, secrets: rt.secrets, actor: `user:${users.owner.id}` as const };
      return (await requestClaw(ctx, { orgId: org.id, name: `c ${Math.random()}` })).slug;
    };

    const orgRead = {
      anonymous: 'UNAUTHORIZED',
      outsider: 'NOT_FOUND',
      member: 'OK',
      admin: 'OK',
      owner: 'OK',
      platformAdmin: 'NOT_FOUND',
    };
    const orgAdmin = { ...orgRead, member: 'FORBIDDEN' };
    const anyUser = {
      anonymous: 'UNAUTHORIZED',
      outsider: 'OK',
      member: 'OK',
      admin: 'OK',
      owner: 'OK',
      platformAdmin: 'OK',
    };
    const fleetAdmin = {
      anonymous: 'UNAUTHORIZED',
      outsider: 'FORBIDDEN',
      member: 'FORBIDDEN',
      admin: 'FORBIDDEN',
      owner: 'FORBIDDEN',
      platformAdmin: 'OK',
    };

    const matrix: [string, Record<Who, string>, (who: Who) => Promise<unknown>][] = [
      ['auth.me', { ...anyUser, anonymous: 'OK' }, async (w) => (await caller(w)).auth.me()],
      [
        'orgs.create',
        anyUser,
        async (w) => (await caller(w)).orgs.create({ name: `Org of ${w} ${Math.random()}` }),
      ],
      ['orgs.list', anyUser, async (w) => (await caller(w)).orgs.list()],
      ['orgs.members', orgRead, async (w) => (await caller(w)).orgs.members({ orgSlug })],
      [
        'orgs.addMember',
        orgAdmin,
        async (w) =>
          (await caller(w)).orgs.addMember({
            orgSlug,
            email: (await newUser(rt, 'extra')).email,
            role: 'member',
          }),
      ],
      [
        'claws.create',
        orgRead,
        async (w) => (await caller(w)).claws.create({ orgSlug, name: `claw ${Math.random()}` }),
      ],
      [
        'claws.slugPreview',
        anyUser,
        async (w) => (await caller(w)).claws.slugPreview({ name: 'Hello World' }),
      ],
      ['claws.list', orgRead, async (w) => (await caller(w)).claws.list({ orgSlug })],
      [
        'claws.get',
        orgRead,
        async (w) => (await caller(w)).claws.get({ orgSlug, clawSlug: await freshClaw() }),
      ],
      [
        'claws.timeline',
        orgRead,
        async (w) => (await caller(w)).claws.timeline({ orgSlug, clawSlug: await freshClaw() }),
      ],
      [
        'claws.stateAt',
        orgRead,
        async (w) => (await caller(w)).claws.stateAt({ orgSlug, clawSlug: await freshClaw(), version: 1 }),
      ],
      [
        'claws.delete',
        orgAdmin,
        async (w) => (await caller(w)).claws.delete({ orgSlug, clawSlug: await freshClaw() }),
      ],
      [
        'claws.retry',
        { ...orgAdmin, admin: 'PRECONDITION_FAILED', owner: 'PRECONDITION_FAILED' },
        async (w) => (await caller(w)).claws.retry({ orgSlug, clawSlug: await freshClaw() }),
      ],
      [
        'claws.onChange',
        orgRead,
        async (w) => {
          const ac = new AbortController();
          const it = await (
            await callerFor(rt, w === 'anonymous' ? null : users[w], { signal: ac.signal })
          ).claws.onChange({ orgSlug });
          ac.abort();
          return it;
        },
      ],
      [
        'claws.onTimeline',
        orgRead,
        async (w) => {
          const clawSlug = await freshClaw();
          const ac = new AbortController();
          const it = await (
            await callerFor(rt, w === 'anonymous' ? null : users[w], { signal: ac.signal })
          ).claws.onTimeline({ orgSlug, clawSlug });
          ac.abort();
          return it;
        },
      ],
      ['fleet.list', fleetAdmin, async (w) => (await caller(w)).fleet.list()],
      [
        'fleet.register',
        fleetAdmin,
        async (w) =>
          (await caller(w)).fleet.register({
            hostname: `m-${Math.random().toString(36).slice(2)}.test`,
            agentUrl: 'http://127.0.0.1:9',
            agentToken: 'agent-token-0123456789',
            tunnelSuffix: 'claws.test',
            portRangeStart: 21000,
            portRangeEnd: 21001,
            capacity: 2,
          }),
      ],
      [
        'fleet.update',
        fleetAdmin,
        async (w) => (await caller(w)).fleet.update({ miniId, changes: { capacity: 6 } }),
      ],
      ['fleet.cordon', fleetAdmin, async (w) => (await caller(w)).fleet.cordon({ miniId })],
      ['fleet.uncordon', fleetAdmin, async (w) => (await caller(w)).fleet.uncordon({ miniId })],
      [
        'fleet.remove',
        fleetAdmin,
        async (w) => {
          const pa = await caller('platformAdmin');
          const m = await pa.fleet.register({
            hostname: `rm-${Math.random().toString(36).slice(2)}.test`,
            agentUrl: 'http://127.0.0.1:9',
            agentToken: 'agent-token-0123456789',
            tunnelSuffix: 'claws.test',
            portRangeStart: 22000,
            portRangeEnd: 22001,
            capacity: 1,
          });
          return (await caller(w)).fleet.remove({ miniId: m.id });
        },
      ],
      [
        'fleet.onChange',
        fleetAdmin,
        async (w) => {
          const ac = new AbortController();
          const it = await (
            await callerFor(rt, w === 'anonymous' ? null : users[w], { signal: ac.signal })
          ).fleet.onChange();
          ac.abort();
          return it;
        },
      ],
      ['auth.logout', { ...anyUser }, async (w) => (await caller(w)).auth.logout()],
    ];

    for (const [name, expected, call] of matrix) {
      it(`${name}: ${WHO.map((w) => `${w} → ${expected[w]}`).join(', ')}`, async () => {
        const got = {} as Record<Who, string>;
        for (const w of WHO) got[w] = await outcome(() => call(w));
        assert.deepEqual(got, expected);
      });
    }

    it('refuses mutations without the same-origin header or from another origin', async () => {
      const owner = users.owner;
      const noHeader = await callerFor(rt, owner, { headers: new Headers() });
      assert.equal(await outcome(noHeader.orgs.create({ name: 'x' })), 'FORBIDDEN');
      const crossSite = await callerFor(rt, owner, {
        headers: new Headers({ 'x-claws-csrf': '1', origin: 'https://evil.example', host: '127.0.0.1:3000' }),
      });
      assert.equal(await outcome(crossSite.orgs.create({ name: 'x' })), 'FORBIDDEN');
      assert.equal(await outcome(noHeader.orgs.list()), 'OK', 'queries are not affected');
    });

    it('rate-limits claws.create per organization', async () => {
      const owner = await caller('owner');
      const org = (await owner.orgs.create({ name: 'Busy' })).slug;
      const results = [];
      for (let i = 0; i < 12; i++)
        results.push(await outcome(owner.claws.create({ orgSlug: org, name: `burst ${i}` })));
      assert.deepEqual(results.slice(0, 10), Array(10).fill('OK'));
      assert.equal(results.at(-1), 'TOO_MANY_REQUESTS');
    });

    it('never returns a secret: password hashes, tokens, fingerprints', async () => {
      const owner = await caller('owner');
      const slug = await freshClaw();
      const pa = await caller('platformAdmin');
      const outputs = JSON.stringify([
        await owner.auth.me(),
        await owner.orgs.members({ orgSlug }),
        await owner.claws.list({ orgSlug }),
        await owner.claws.get({ orgSlug, clawSlug: slug }),
        await owner.claws.timeline({ orgSlug, clawSlug: slug }),
        await pa.fleet.list(),
      ]);
      assert.doesNotMatch(
        outputs,
        /scrypt\$|password|token_hash|fp_[0-9a-f]{16}|agent-token-0123456789|ciphertext/i,
      );
      const secrets = await database.db.selectFrom('secrets').select('name').execute();
      for (const s of secrets) {
        const plaintext = await rt.secrets.get(s.name);
        if (plaintext) assert.ok(!outputs.includes(plaintext), `${s.name} leaked`);
      }
    });
  });
}
