import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SessionUser } from '../auth/session';
import { createSession } from '../auth/session';
import { createTestDatabase, testDrivers, type TestDatabase } from '../../tests/fixtures/db';
import { testRuntime } from '../../tests/fixtures/fleet';
import { callerFor, joinOrg, newApiToken, newUser, outcome } from '../../tests/fixtures/trpc';
import type { ApiTokenPrincipal } from '../auth/api-tokens';
import { requestClaw } from '../claws/commands';
import { createInvitation } from '../orgs/invitations';
import type { Runtime } from '../runtime';
import type { Role } from '../../db/types';

/**
 * Every procedure × every kind of caller: anonymous, a user of another organization, the
 * organization's member, admin and owner, a platform admin in no organization, and API tokens of
 * the organization (member and admin role) and of another organization.
 */
type Who =
  | 'anonymous'
  | 'outsider'
  | 'member'
  | 'admin'
  | 'owner'
  | 'platformAdmin'
  | 'tokenMember'
  | 'tokenAdmin'
  | 'otherToken';
const WHO: Who[] = [
  'anonymous',
  'outsider',
  'member',
  'admin',
  'owner',
  'platformAdmin',
  'tokenMember',
  'tokenAdmin',
  'otherToken',
];
type Person = 'outsider' | 'member' | 'admin' | 'owner' | 'platformAdmin';
type TokenWho = 'tokenMember' | 'tokenAdmin' | 'otherToken';
const isToken = (w: Who): w is TokenWho => w.startsWith('token') || w === 'otherToken';
const ROLE_IN_ORG: Partial<Record<Who, Role>> = { member: 'member', admin: 'admin', owner: 'owner' };

for (const driver of testDrivers()) {
  describe(`authorization matrix on ${driver}`, () => {
    let database: TestDatabase;
    let rt: Runtime;
    const users = {} as Record<Person, SessionUser>;
    const tokens = {} as Record<TokenWho, ApiTokenPrincipal>;
    let orgSlug: string;
    let orgId: string;
    let miniId: string;
    let n = 0;
    const uniq = () => `${++n}-${Math.random().toString(36).slice(2, 8)}`;

    before(async () => {
      database = await createTestDatabase(driver);
      rt = testRuntime(database);
      users.platformAdmin = await newUser(rt, 'platform', { platformAdmin: true });
      for (const w of ['owner', 'admin', 'member', 'outsider'] as const) users[w] = await newUser(rt, w);
      const owner = await callerFor(rt, users.owner);
      orgSlug = (await owner.orgs.create({ name: 'Acme' })).slug;
      orgId = (
        await database.db
          .selectFrom('organizations')
          .select('id')
          .where('slug', '=', orgSlug)
          .executeTakeFirstOrThrow()
      ).id;
      await joinOrg(rt, orgSlug, users.admin, 'admin');
      await joinOrg(rt, orgSlug, users.member, 'member');
      const elsewhere = (await (await callerFor(rt, users.outsider)).orgs.create({ name: 'Elsewhere' })).slug;
      tokens.tokenMember = (await newApiToken(rt, orgSlug, users.owner, 'member')).principal;
      tokens.tokenAdmin = (await newApiToken(rt, orgSlug, users.owner, 'admin')).principal;
      tokens.otherToken = (await newApiToken(rt, elsewhere, users.outsider, 'admin')).principal;
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

    const caller = (who: Who, options: { signal?: AbortSignal } = {}) =>
      isToken(who)
        ? callerFor(rt, null, { ...options, apiToken: tokens[who] })
        : callerFor(rt, who === 'anonymous' ? null : users[who], options);
    const userOf = (w: Who) => (w === 'anonymous' || isToken(w) ? null : users[w]);

    /** A claw to act on, created fresh by the owner so one row's delete does not affect another. */
    const freshClaw = async () => {
      const ctx = { store: rt.store, secrets: rt.secrets, actor: `user:${users.owner.id}` as const };
      return (await requestClaw(ctx, { orgId, name: `c ${uniq()}` })).slug;
    };
    /** A member to act on. */
    const freshMember = async () => {
      const u = await newUser(rt, 'target');
      await joinOrg(rt, orgSlug, u, 'member');
      return u.id;
    };
    /**
     * An organization of its own in which `w` has the role it has in Acme (for leave and transfer,
     * which would change Acme for the other rows); for others, Acme itself.
     */
    const ownOrg = async (w: Who) => {
      const role = ROLE_IN_ORG[w];
      if (!role) return { slug: orgSlug, other: await freshMember() };
      const founder = role === 'owner' ? users.owner : await newUser(rt, 'founder');
      const slug = (await (await callerFor(rt, founder)).orgs.create({ name: `Own ${uniq()}` })).slug;
      if (role !== 'owner') await joinOrg(rt, slug, users[w as Person], role);
      const other = await newUser(rt, 'other');
      await joinOrg(rt, slug, other, 'member');
      return { slug, other: other.id };
    };
    const invitationFor = async (email: string, into = orgId) => (await inviteToAcme(email, into)).token;
    const inviteToAcme = (email: string, into = orgId) =>
      createInvitation(database.db, {
        orgId: into,
        actorId: users.owner.id,
        actorRole: 'owner',
        email,
        role: 'member',
        ttlMs: 3_600_000,
        memberQuota: 1000,
      });

    const base: Record<Who, string> = {
      anonymous: 'UNAUTHORIZED',
      outsider: 'OK',
      member: 'OK',
      admin: 'OK',
      owner: 'OK',
      platformAdmin: 'OK',
      tokenMember: 'FORBIDDEN',
      tokenAdmin: 'FORBIDDEN',
      otherToken: 'FORBIDDEN',
    };
    const anyUser = base;
    const everyone = Object.fromEntries(WHO.map((w) => [w, 'OK'])) as Record<Who, string>;
    /** The organization's claws: its members and its tokens. */
    const orgRead = {
      ...base,
      outsider: 'NOT_FOUND',
      platformAdmin: 'NOT_FOUND',
      tokenMember: 'OK',
      tokenAdmin: 'OK',
      otherToken: 'NOT_FOUND',
    };
    const orgAdmin = { ...orgRead, member: 'FORBIDDEN', tokenMember: 'FORBIDDEN' };
    /** The organization's people and tokens: signed-in members only. */
    const orgPeople = { ...orgRead, tokenMember: 'FORBIDDEN', tokenAdmin: 'FORBIDDEN' };
    const orgManager = { ...orgPeople, member: 'FORBIDDEN' };
    const fleetAdmin = {
      ...base,
      outsider: 'FORBIDDEN',
      member: 'FORBIDDEN',
      admin: 'FORBIDDEN',
      owner: 'FORBIDDEN',
    };
    const subscribe = async (w: Who, open: (c: Awaited<ReturnType<typeof caller>>) => Promise<unknown>) => {
      const ac = new AbortController();
      const it = await open(await caller(w, { signal: ac.signal }));
      ac.abort();
      return it;
    };

    const matrix: [string, Record<Who, string>, (who: Who) => Promise<unknown>][] = [
      ['auth.me', everyone, async (w) => (await caller(w)).auth.me()],
      [
        'auth.signup',
        everyone,
        async (w) =>
          (await caller(w)).auth.signup({
            email: `new-${uniq()}@example.com`,
            password: 'password-123',
            name: 'N',
          }),
      ],
      [
        'auth.login',
        everyone,
        async (w) => {
          const u = await newUser(rt, 'login');
          return (await caller(w)).auth.login({ email: u.email, password: 'password-123' });
        },
      ],
      ['account.sessions', anyUser, async (w) => (await caller(w)).account.sessions()],
      [
        'account.revokeSession',
        anyUser,
        async (w) => {
          const u = userOf(w);
          const sessionId = u
            ? (await createSession(database.db, u.id)).session.id
            : '00000000-0000-4000-8000-000000000000';
          return (await caller(w)).account.revokeSession({ sessionId });
        },
      ],
      ['account.revokeOtherSessions', anyUser, async (w) => (await caller(w)).account.revokeOtherSessions()],
      [
        'account.changePassword',
        anyUser,
        async (w) => {
          const u = userOf(w);
          // A user of its own, so the others keep their passwords.
          const c = u ? await callerFor(rt, await newUser(rt, 'pw')) : await caller(w);
          return c.account.changePassword({ currentPassword: 'password-123', newPassword: 'password-456' });
        },
      ],
      [
        'platform.redeemBootstrap',
        {
          ...anyUser,
          outsider: 'BAD_REQUEST',
          member: 'BAD_REQUEST',
          admin: 'BAD_REQUEST',
          owner: 'BAD_REQUEST',
          platformAdmin: 'BAD_REQUEST',
        },
        async (w) => (await caller(w)).platform.redeemBootstrap({ code: 'WRONG-CODE' }),
      ],
      ['orgs.create', anyUser, async (w) => (await caller(w)).orgs.create({ name: `Org of ${w} ${uniq()}` })],
      ['orgs.list', anyUser, async (w) => (await caller(w)).orgs.list()],
      ['orgs.members', orgPeople, async (w) => (await caller(w)).orgs.members({ orgSlug })],
      [
        'orgs.invite',
        orgManager,
        async (w) =>
          (await caller(w)).orgs.invite({ orgSlug, email: `invitee-${uniq()}@example.com`, role: 'member' }),
      ],
      ['orgs.invitations', orgManager, async (w) => (await caller(w)).orgs.invitations({ orgSlug })],
      [
        'orgs.revokeInvitation',
        orgManager,
        async (w) => {
          const { invitation } = await inviteToAcme(`rev-${uniq()}@example.com`);
          return (await caller(w)).orgs.revokeInvitation({ orgSlug, invitationId: invitation.id });
        },
      ],
      [
        'orgs.changeRole',
        orgManager,
        async (w) =>
          (await caller(w)).orgs.changeRole({ orgSlug, userId: await freshMember(), role: 'admin' }),
      ],
      [
        'orgs.removeMember',
        orgManager,
        async (w) => (await caller(w)).orgs.removeMember({ orgSlug, userId: await freshMember() }),
      ],
      [
        'orgs.leave',
        { ...orgPeople, owner: 'PRECONDITION_FAILED' },
        async (w) => (await caller(w)).orgs.leave({ orgSlug: (await ownOrg(w)).slug }),
      ],
      [
        'orgs.transferOwnership',
        { ...orgManager, admin: 'FORBIDDEN' },
        async (w) => {
          const o = await ownOrg(w);
          return (await caller(w)).orgs.transferOwnership({ orgSlug: o.slug, userId: o.other });
        },
      ],
      [
        'invitations.get',
        everyone,
        async (w) =>
          (await caller(w)).invitations.get({ token: await invitationFor(`get-${uniq()}@example.com`) }),
      ],
      [
        'invitations.accept',
        { ...anyUser, member: 'CONFLICT', admin: 'CONFLICT', owner: 'CONFLICT' },
        async (w) => {
          const u = userOf(w);
          // Members of Acme cannot be invited to it again. Everyone else is invited to an
          // organization of its own, so Acme's members stay the same for the other rows.
          if (u && ROLE_IN_ORG[w]) return invitationFor(u.email);
          const into = await (await callerFor(rt, users.owner)).orgs.create({ name: `Invites ${uniq()}` });
          const token = await invitationFor(u?.email ?? `anon-${uniq()}@example.com`, into.id);
          return (await caller(w)).invitations.accept({ token });
        },
      ],
      [
        'invitations.decline',
        everyone,
        async (w) =>
          (await caller(w)).invitations.decline({ token: await invitationFor(`dec-${uniq()}@example.com`) }),
      ],
      ['apiTokens.list', orgManager, async (w) => (await caller(w)).apiTokens.list({ orgSlug })],
      [
        'apiTokens.create',
        orgManager,
        async (w) => (await caller(w)).apiTokens.create({ orgSlug, name: `t ${uniq()}`, role: 'member' }),
      ],
      [
        'apiTokens.revoke',
        orgManager,
        async (w) =>
          (await caller(w)).apiTokens.revoke({
            orgSlug,
            tokenId: (await newApiToken(rt, orgSlug, users.owner, 'member')).principal.id,
          }),
      ],
      [
        'apiTokens.whoami',
        {
          ...base,
          outsider: 'UNAUTHORIZED',
          member: 'UNAUTHORIZED',
          admin: 'UNAUTHORIZED',
          owner: 'UNAUTHORIZED',
          platformAdmin: 'UNAUTHORIZED',
          tokenMember: 'OK',
          tokenAdmin: 'OK',
          otherToken: 'OK',
        },
        async (w) => (await caller(w)).apiTokens.whoami(),
      ],
      [
        'claws.create',
        orgRead,
        async (w) => (await caller(w)).claws.create({ orgSlug, name: `claw ${uniq()}` }),
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
        {
          ...orgAdmin,
          admin: 'PRECONDITION_FAILED',
          owner: 'PRECONDITION_FAILED',
          tokenAdmin: 'PRECONDITION_FAILED',
        },
        async (w) => (await caller(w)).claws.retry({ orgSlug, clawSlug: await freshClaw() }),
      ],
      [
        'claws.model',
        orgRead,
        async (w) => (await caller(w)).claws.model({ orgSlug, clawSlug: await freshClaw() }),
      ],
      [
        'claws.setModel',
        orgAdmin,
        async (w) =>
          (await caller(w)).claws.setModel({
            orgSlug,
            clawSlug: await freshClaw(),
            settings: { provider: 'openai', model: 'gpt-4.1-mini', apiKey: 'sk-matrix' },
          }),
      ],
      // A fresh claw has no model and is not running: admins pass the role check and meet the claw's
      // own precondition.
      [
        'claws.clearModel',
        {
          ...orgAdmin,
          admin: 'PRECONDITION_FAILED',
          owner: 'PRECONDITION_FAILED',
          tokenAdmin: 'PRECONDITION_FAILED',
        },
        async (w) => (await caller(w)).claws.clearModel({ orgSlug, clawSlug: await freshClaw() }),
      ],
      [
        'claws.secrets',
        orgRead,
        async (w) => (await caller(w)).claws.secrets({ orgSlug, clawSlug: await freshClaw() }),
      ],
      [
        'claws.setSecret',
        orgAdmin,
        async (w) =>
          (await caller(w)).claws.setSecret({
            orgSlug,
            clawSlug: await freshClaw(),
            secret: { name: 'MATRIX_TOKEN', value: 'matrix-value' },
          }),
      ],
      // A fresh claw has no secrets: admins pass the role check and find nothing to remove.
      [
        'claws.removeSecret',
        { ...orgAdmin, admin: 'NOT_FOUND', owner: 'NOT_FOUND', tokenAdmin: 'NOT_FOUND' },
        async (w) =>
          (await caller(w)).claws.removeSecret({
            orgSlug,
            clawSlug: await freshClaw(),
            name: 'MATRIX_TOKEN',
          }),
      ],
      ['claws.defaultModel', orgRead, async (w) => (await caller(w)).claws.defaultModel({ orgSlug })],
      [
        'claws.setDefaultModel',
        orgAdmin,
        async (w) =>
          (await caller(w)).claws.setDefaultModel({
            orgSlug,
            settings: { provider: 'openai', model: 'gpt-4.1-mini', apiKey: 'sk-matrix' },
          }),
      ],
      // The owner sets a default first, so whoever may clear it can.
      [
        'claws.clearDefaultModel',
        orgAdmin,
        async (w) => {
          await (
            await caller('owner')
          ).claws.setDefaultModel({
            orgSlug,
            settings: { provider: 'openai', model: 'gpt-4.1-mini', apiKey: 'sk-matrix' },
          });
          return (await caller(w)).claws.clearDefaultModel({ orgSlug });
        },
      ],
      [
        'claws.stop',
        {
          ...orgAdmin,
          admin: 'PRECONDITION_FAILED',
          owner: 'PRECONDITION_FAILED',
          tokenAdmin: 'PRECONDITION_FAILED',
        },
        async (w) => (await caller(w)).claws.stop({ orgSlug, clawSlug: await freshClaw() }),
      ],
      [
        'claws.start',
        {
          ...orgAdmin,
          admin: 'PRECONDITION_FAILED',
          owner: 'PRECONDITION_FAILED',
          tokenAdmin: 'PRECONDITION_FAILED',
        },
        async (w) => (await caller(w)).claws.start({ orgSlug, clawSlug: await freshClaw() }),
      ],
      [
        'claws.restart',
        {
          ...orgAdmin,
          admin: 'PRECONDITION_FAILED',
          owner: 'PRECONDITION_FAILED',
          tokenAdmin: 'PRECONDITION_FAILED',
        },
        async (w) => (await caller(w)).claws.restart({ orgSlug, clawSlug: await freshClaw() }),
      ],
      [
        'claws.backups',
        orgRead,
        async (w) => (await caller(w)).claws.backups({ orgSlug, clawSlug: await freshClaw() }),
      ],
      // A fresh claw has no bucket and no backups yet: admins meet the claw's own precondition.
      [
        'claws.backupNow',
        {
          ...orgAdmin,
          admin: 'PRECONDITION_FAILED',
          owner: 'PRECONDITION_FAILED',
          tokenAdmin: 'PRECONDITION_FAILED',
        },
        async (w) => (await caller(w)).claws.backupNow({ orgSlug, clawSlug: await freshClaw() }),
      ],
      [
        'claws.restore',
        {
          ...orgAdmin,
          admin: 'PRECONDITION_FAILED',
          owner: 'PRECONDITION_FAILED',
          tokenAdmin: 'PRECONDITION_FAILED',
        },
        async (w) =>
          (await caller(w)).claws.restore({
            orgSlug,
            clawSlug: await freshClaw(),
            backupId: '44444444-4444-4444-8444-444444444444',
          }),
      ],
      [
        'claws.logs',
        orgAdmin,
        async (w) => (await caller(w)).claws.logs({ orgSlug, clawSlug: await freshClaw() }),
      ],
      [
        'claws.onLogs',
        orgAdmin,
        async (w) => {
          const clawSlug = await freshClaw();
          return subscribe(w, (c) => c.claws.onLogs({ orgSlug, clawSlug, after: 0, file: 0 }));
        },
      ],
      [
        'claws.onUsage',
        orgRead,
        async (w) => {
          const clawSlug = await freshClaw();
          return subscribe(w, (c) => c.claws.onUsage({ orgSlug, clawSlug }));
        },
      ],
      ['claws.onChange', orgRead, (w) => subscribe(w, (c) => c.claws.onChange({ orgSlug }))],
      [
        'claws.onTimeline',
        orgRead,
        async (w) => {
          const clawSlug = await freshClaw();
          return subscribe(w, (c) => c.claws.onTimeline({ orgSlug, clawSlug }));
        },
      ],
      ['fleet.list', fleetAdmin, async (w) => (await caller(w)).fleet.list()],
      [
        'fleet.register',
        fleetAdmin,
        async (w) =>
          (await caller(w)).fleet.register({
            hostname: `m-${uniq()}.test`,
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
        'fleet.unblockPort',
        fleetAdmin,
        async (w) => (await caller(w)).fleet.unblockPort({ miniId, port: 20001 }),
      ],
      [
        'fleet.remove',
        fleetAdmin,
        async (w) => {
          const pa = await caller('platformAdmin');
          const m = await pa.fleet.register({
            hostname: `rm-${uniq()}.test`,
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
      ['fleet.onChange', fleetAdmin, (w) => subscribe(w, (c) => c.fleet.onChange())],
      ['fleet.onUsage', fleetAdmin, (w) => subscribe(w, (c) => c.fleet.onUsage())],
      ['auth.logout', anyUser, async (w) => (await caller(w)).auth.logout()],
    ];

    it('covers every procedure of the router', async () => {
      const { appRouter } = await import('./routers/_app');
      const all = Object.keys(appRouter._def.procedures as object).sort();
      assert.deepEqual(matrix.map(([name]) => name).sort(), all);
    });

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

    it('never returns a secret: password hashes, tokens, fingerprints', async () => {
      const owner = await caller('owner');
      const slug = await freshClaw();
      const pa = await caller('platformAdmin');
      const outputs = JSON.stringify([
        await owner.auth.me(),
        await owner.orgs.members({ orgSlug }),
        await owner.orgs.invitations({ orgSlug }),
        await owner.apiTokens.list({ orgSlug }),
        await owner.account.sessions(),
        await owner.claws.list({ orgSlug }),
        await owner.claws.get({ orgSlug, clawSlug: slug }),
        await owner.claws.timeline({ orgSlug, clawSlug: slug }),
        await pa.fleet.list(),
      ]);
      assert.doesNotMatch(
        outputs,
        /scrypt\$|password|token_hash|code_hash|claws_[A-Za-z0-9_-]{43}|fp_[0-9a-f]{16}|agent-token-0123456789|ciphertext/i,
      );
      const secrets = await database.db.selectFrom('secrets').select('name').execute();
      for (const s of secrets) {
        const plaintext = await rt.secrets.get(s.name);
        if (plaintext) assert.ok(!outputs.includes(plaintext), `${s.name} leaked`);
      }
    });
  });
}
