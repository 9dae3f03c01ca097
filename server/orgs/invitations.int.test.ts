import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, testDrivers, type TestDatabase } from '../../tests/fixtures/db';
import { testRuntime } from '../../tests/fixtures/fleet';
import { mailText, startSmtpServer } from '../../tests/fixtures/smtp';
import { callerFor, newUser, outcome } from '../../tests/fixtures/trpc';
import { waitFor } from '../../tests/fixtures/processes';
import type { Runtime } from '../runtime';

/**
 * A team lead invites a colleague (the link by e-mail through a local SMTP server, and shown to
 * the inviter), the colleague accepts as that address, the lead changes their role and removes
 * them; the colleague's live subscription ends at once. Ownership moves only by transfer.
 */
for (const driver of testDrivers()) {
  describe(`invitations and members on ${driver}`, () => {
    let database: TestDatabase;
    let rt: Runtime;
    let smtp: Awaited<ReturnType<typeof startSmtpServer>>;

    before(async () => {
      smtp = await startSmtpServer();
      database = await createTestDatabase(driver);
      rt = testRuntime(database, undefined, {
        SMTP_URL: smtp.url,
        SMTP_FROM: 'Claws <claws@test.example>',
        CLAWS_PUBLIC_URL: 'https://claws.test.example',
      });
    });
    after(async () => {
      await rt?.close();
      await database?.close();
      await smtp?.close();
    });

    it('invite by e-mail → accept as that address → change role → remove (the live subscription ends)', async () => {
      const lead = await newUser(rt, 'lead');
      const colleague = await newUser(rt, 'colleague');
      const stranger = await newUser(rt, 'stranger');
      const l = await callerFor(rt, lead);
      const { slug } = await l.orgs.create({ name: 'Team' });

      const sent = await l.orgs.invite({
        orgSlug: slug,
        email: colleague.email.toUpperCase(),
        role: 'member',
      });
      assert.equal(sent.emailed, true);
      assert.match(sent.link, /^https:\/\/claws\.test\.example\/invite\/[A-Za-z0-9_-]{43}$/);
      await waitFor('the e-mail', async () => smtp.mails.length === 1);
      const mail = smtp.mails[0]!;
      assert.deepEqual(mail.to, [colleague.email]);
      assert.ok(mailText(mail).includes(sent.link), 'the link is in the mail');
      assert.match(mailText(mail), /lead invited you to join the organization "Team"/);
      const token = sent.link.split('/').pop()!;
      const row = await database.db.selectFrom('invitations').selectAll().executeTakeFirstOrThrow();
      assert.ok(!JSON.stringify(row).includes(token), 'only the hash is stored');

      // The link shows what it is for; another account cannot use it.
      const view = await (await callerFor(rt, null)).invitations.get({ token });
      assert.deepEqual(
        [view.org.name, view.role, view.status, view.email],
        ['Team', 'member', 'pending', colleague.email],
      );
      await assert.rejects(
        (await callerFor(rt, stranger)).invitations.accept({ token }),
        /This invitation is for/,
      );
      assert.equal(await outcome((await callerFor(rt, null)).invitations.accept({ token })), 'UNAUTHORIZED');

      const c = await callerFor(rt, colleague);
      assert.deepEqual(await c.invitations.accept({ token }), { orgSlug: slug, role: 'member' });
      assert.equal(await outcome(c.invitations.accept({ token })), 'PRECONDITION_FAILED', 'one time only');
      assert.deepEqual(
        (await l.orgs.members({ orgSlug: slug })).members.map((m) => [m.email, m.role]),
        [
          [lead.email, 'owner'],
          [colleague.email, 'member'],
        ],
      );

      // The colleague watches the org live.
      const ac = new AbortController();
      const sub = (
        await (await callerFor(rt, colleague, { signal: ac.signal })).claws.onChange({ orgSlug: slug })
      )[Symbol.asyncIterator]();
      const ended = sub.next().then(
        () => 'ended',
        (e: { code?: string; message: string }) => `${e.code}: ${e.message}`,
      );

      await l.orgs.changeRole({ orgSlug: slug, userId: colleague.id, role: 'admin' });
      assert.equal((await c.orgs.members({ orgSlug: slug })).you.role, 'admin');
      // An admin cannot make an owner, nor touch the owner.
      assert.equal(
        await outcome(c.orgs.changeRole({ orgSlug: slug, userId: colleague.id, role: 'member' })),
        'FORBIDDEN',
      );
      assert.equal(await outcome(c.orgs.removeMember({ orgSlug: slug, userId: lead.id })), 'FORBIDDEN');
      assert.equal(
        await outcome(c.orgs.invite({ orgSlug: slug, email: 'x@example.com', role: 'owner' as 'admin' })),
        'BAD_REQUEST',
      );
      assert.equal(
        await outcome(c.orgs.transferOwnership({ orgSlug: slug, userId: colleague.id })),
        'FORBIDDEN',
      );

      await l.orgs.removeMember({ orgSlug: slug, userId: colleague.id });
      assert.equal(await ended, 'FORBIDDEN: You are no longer a member of this organization');
      assert.equal(await outcome(c.claws.list({ orgSlug: slug })), 'NOT_FOUND');
      ac.abort();
    });

    it('inviting answers the same whether or not the address has an account', async () => {
      const lead = await newUser(rt, 'lead2');
      const existing = await newUser(rt, 'existing');
      const l = await callerFor(rt, lead);
      const { slug } = await l.orgs.create({ name: 'Quiet' });
      const shape = (r: Awaited<ReturnType<typeof l.orgs.invite>>) => ({
        keys: Object.keys(r).sort(),
        emailed: r.emailed,
        invitation: Object.keys(r.invitation).sort(),
      });
      const a = await l.orgs.invite({ orgSlug: slug, email: existing.email, role: 'member' });
      const b = await l.orgs.invite({ orgSlug: slug, email: 'nobody-here@example.com', role: 'member' });
      assert.deepEqual(shape(a), shape(b));
      assert.equal((await l.orgs.invitations({ orgSlug: slug })).length, 2);
    });

    it('decline, withdraw, replace, expire', async () => {
      const lead = await newUser(rt, 'lead3');
      const l = await callerFor(rt, lead);
      const { slug } = await l.orgs.create({ name: 'Ends' });
      const anon = await callerFor(rt, null);
      const t = (link: string) => link.split('/').pop()!;

      const declined = await l.orgs.invite({ orgSlug: slug, email: 'd@example.com', role: 'member' });
      await anon.invitations.decline({ token: t(declined.link) });
      assert.equal((await anon.invitations.get({ token: t(declined.link) })).status, 'declined');

      const first = await l.orgs.invite({ orgSlug: slug, email: 'r@example.com', role: 'member' });
      const second = await l.orgs.invite({ orgSlug: slug, email: 'r@example.com', role: 'admin' });
      assert.equal((await anon.invitations.get({ token: t(first.link) })).status, 'revoked', 'replaced');
      await l.orgs.revokeInvitation({ orgSlug: slug, invitationId: second.invitation.id });
      assert.equal((await anon.invitations.get({ token: t(second.link) })).status, 'revoked');

      const late = await l.orgs.invite({ orgSlug: slug, email: 'late@example.com', role: 'member' });
      await database.db
        .updateTable('invitations')
        .set({ expires_at: new Date(Date.now() - 1000) })
        .where('id', '=', late.invitation.id)
        .execute();
      const latecomer = await newUser(rt, 'late');
      await database.db
        .updateTable('users')
        .set({ email: 'late@example.com' })
        .where('id', '=', latecomer.id)
        .execute();
      await assert.rejects(
        (await callerFor(rt, { ...latecomer, email: 'late@example.com' })).invitations.accept({
          token: t(late.link),
        }),
        /expired/,
      );
    });

    it('the last owner cannot leave; ownership moves by transfer, and then the old owner can leave', async () => {
      const owner = await newUser(rt, 'owner');
      const next = await newUser(rt, 'next');
      const o = await callerFor(rt, owner);
      const { slug } = await o.orgs.create({ name: 'Handover' });
      const inv = await o.orgs.invite({ orgSlug: slug, email: next.email, role: 'member' });
      await (await callerFor(rt, next)).invitations.accept({ token: inv.link.split('/').pop()! });
      await assert.rejects(o.orgs.leave({ orgSlug: slug }), /last owner/);
      await o.orgs.transferOwnership({ orgSlug: slug, userId: next.id });
      const members = (await o.orgs.members({ orgSlug: slug })).members.map((m) => [m.name, m.role]);
      assert.deepEqual(members, [
        ['owner', 'admin'],
        ['next', 'owner'],
      ]);
      await o.orgs.leave({ orgSlug: slug });
      assert.equal(await outcome(o.orgs.members({ orgSlug: slug })), 'NOT_FOUND');
    });

    it('logout and a revoked session end that session’s live subscriptions', async () => {
      const u = await newUser(rt, 'leaver');
      const { createSession } = await import('../auth/session');
      const { session } = await createSession(database.db, u.id);
      const { createContextInner } = await import('../trpc/context');
      const { createCallerFactory } = await import('../trpc/init');
      const { appRouter } = await import('../trpc/routers/_app');
      await (await callerFor(rt, u)).orgs.create({ name: 'Leaver' });
      const ac = new AbortController();
      const ctx = await createContextInner({
        runtime: rt,
        user: u,
        session,
        headers: new Headers({ 'x-claws-csrf': '1' }),
      });
      const caller = createCallerFactory(appRouter)(ctx, { signal: ac.signal });
      const it = (await caller.claws.onChange({ orgSlug: 'leaver' }))[Symbol.asyncIterator]();
      const ended = it.next().then(
        () => 'ended',
        (e: { code?: string }) => e.code,
      );
      await new Promise((r) => setTimeout(r, 50));
      await caller.auth.logout();
      assert.equal(await ended, 'UNAUTHORIZED');
      ac.abort();
    });
  });
}
