import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, testDrivers, type TestDatabase } from '../../tests/fixtures/db';
import { requireMembership, createOrganizationWithOwner, addMemberDirectly } from '../orgs/memberships';
import { ensureBootstrapCode, redeemBootstrapCode, replaceBootstrapCode } from './bootstrap';
import {
  authenticateCookieHeader,
  authenticateToken,
  createSession,
  DEFAULT_SESSION_POLICY,
  hashSessionToken,
  listSessions,
  revokeSession,
  revokeUserSessions,
  SESSION_COOKIE,
} from './session';
import { changePassword, login, signup } from './users';

const SESSION_TTL_MS = DEFAULT_SESSION_POLICY.lifetimeMs;
const IDLE_MS = DEFAULT_SESSION_POLICY.idleMs;

for (const driver of testDrivers()) {
  describe(`identity on ${driver}`, () => {
    let db: TestDatabase;
    before(async () => {
      db = await createTestDatabase(driver);
    });
    after(async () => {
      await db?.close();
    });

    it('makes nobody platform admin by signing up first; CLAWS_ADMIN_EMAILS or the bootstrap code does', async () => {
      const results = await Promise.all(
        Array.from({ length: 4 }, (_, i) =>
          signup(db.db, { email: `racer${i}@example.com`, password: 'password-123', name: `r${i}` }),
        ),
      );
      assert.equal(results.filter((u) => u.is_platform_admin).length, 0);
      const listed = await signup(
        db.db,
        { email: 'Ops@Example.com', password: 'password-123', name: 'Ops' },
        { adminEmails: ['ops@example.com'] },
      );
      assert.equal(listed.is_platform_admin, true);
    });

    it('redeems the bootstrap code once, and only the code', async () => {
      const fresh = await createTestDatabase(driver);
      try {
        const code = await ensureBootstrapCode(fresh.db);
        assert.ok(code);
        assert.equal(await ensureBootstrapCode(fresh.db), null, 'a second start prints nothing');
        const row = await fresh.db.selectFrom('platform_bootstrap').selectAll().executeTakeFirstOrThrow();
        assert.ok(!row.code_hash.includes(code!), 'stored as a hash');
        const u = await signup(fresh.db, { email: 'boot@example.com', password: 'password-123', name: 'B' });
        await assert.rejects(
          redeemBootstrapCode(fresh.db, u.id, 'AAAAA-AAAAA-AAAAA-AAAAA-AAAAA'),
          /not valid/,
        );
        await redeemBootstrapCode(fresh.db, u.id, code!.toLowerCase());
        const admin = await fresh.db
          .selectFrom('users')
          .select('is_platform_admin')
          .where('id', '=', u.id)
          .executeTakeFirstOrThrow();
        assert.equal(admin.is_platform_admin, true);
        const other = await signup(fresh.db, {
          email: 'late@example.com',
          password: 'password-123',
          name: 'L',
        });
        await assert.rejects(redeemBootstrapCode(fresh.db, other.id, code!), /not valid|used/);
        assert.equal(await ensureBootstrapCode(fresh.db), null, 'an admin exists now');
        const again = await replaceBootstrapCode(fresh.db);
        await redeemBootstrapCode(fresh.db, other.id, again);
      } finally {
        await fresh.close();
      }
    });

    it('stores emails lowercased, unique regardless of case, and never the password', async () => {
      const u = await signup(db.db, { email: 'Mixed.Case@Example.com', password: 'password-123', name: 'M' });
      assert.equal(u.email, 'mixed.case@example.com');
      await assert.rejects(
        signup(db.db, { email: 'MIXED.CASE@example.com', password: 'password-456', name: 'M2' }),
        /already exists/,
      );
      const row = await db.db
        .selectFrom('users')
        .selectAll()
        .where('id', '=', u.id)
        .executeTakeFirstOrThrow();
      assert.match(row.password_hash, /^scrypt\$/);
      assert.ok(!row.password_hash.includes('password-123'));
      assert.equal(
        (await login(db.db, { email: 'MIXED.case@example.com', password: 'password-123' })).id,
        u.id,
      );
      await assert.rejects(
        login(db.db, { email: 'mixed.case@example.com', password: 'nope' }),
        /Wrong email or password/,
      );
      await assert.rejects(
        login(db.db, { email: 'nobody@example.com', password: 'nope' }),
        /Wrong email or password/,
      );
    });

    it('keeps only the token hash; authenticates until expiry or revocation', async () => {
      const u = await signup(db.db, { email: 'sess@example.com', password: 'password-123', name: 'S' });
      const now = new Date();
      const { token, session } = await createSession(db.db, u.id, { now });
      const row = await db.db
        .selectFrom('sessions')
        .selectAll()
        .where('id', '=', session.id)
        .executeTakeFirstOrThrow();
      assert.equal(row.token_hash, hashSessionToken(token));
      assert.ok(!JSON.stringify(row).includes(token));
      assert.equal(row.expires_at.getTime(), now.getTime() + SESSION_TTL_MS);

      const auth = await authenticateCookieHeader(db.db, `x=1; ${SESSION_COOKIE}=${token}`);
      assert.equal(auth?.user.id, u.id);
      assert.equal(auth?.session.id, session.id);
      assert.deepEqual(Object.keys(auth!.user).sort(), ['email', 'id', 'is_platform_admin', 'name']);

      assert.equal(
        await authenticateToken(
          db.db,
          token,
          DEFAULT_SESSION_POLICY,
          new Date(now.getTime() + SESSION_TTL_MS + 1),
        ),
        null,
      );
      const tampered = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
      assert.equal(await authenticateCookieHeader(db.db, `${SESSION_COOKIE}=${tampered}`), null);
      assert.equal(await authenticateCookieHeader(db.db, `${SESSION_COOKIE}=../../etc`), null);
      assert.equal(await authenticateCookieHeader(db.db, undefined), null);

      await revokeSession(db.db, session.id);
      assert.equal(await authenticateCookieHeader(db.db, `${SESSION_COOKIE}=${token}`), null);
      await revokeSession(db.db, session.id); // idempotent
    });

    it('drops a user’s dead sessions when a new one starts', async () => {
      const u = await signup(db.db, { email: 'prune@example.com', password: 'password-123', name: 'P' });
      const old = await createSession(db.db, u.id, { now: new Date(Date.now() - 2 * SESSION_TTL_MS) });
      const revoked = await createSession(db.db, u.id);
      await revokeSession(db.db, revoked.session.id);
      const live = await createSession(db.db, u.id);
      const ids = (await db.db.selectFrom('sessions').select('id').where('user_id', '=', u.id).execute()).map(
        (r) => r.id,
      );
      assert.deepEqual(ids, [live.session.id]);
      assert.ok(!ids.includes(old.session.id));
    });

    it('requireMembership answers with the role, or null for non-members and unknown orgs', async () => {
      const owner = await signup(db.db, { email: 'own@example.com', password: 'password-123', name: 'O' });
      const member = await signup(db.db, { email: 'mem@example.com', password: 'password-123', name: 'M' });
      const outsider = await signup(db.db, { email: 'out@example.com', password: 'password-123', name: 'X' });
      const org = await createOrganizationWithOwner(db.db, owner.id, { name: 'Acme Identity' });
      await addMemberDirectly(db.db, org.id, member.id, 'member');
      assert.equal((await requireMembership(db.db, owner.id, org.slug))?.role, 'owner');
      assert.equal((await requireMembership(db.db, member.id, org.slug))?.role, 'member');
      assert.equal((await requireMembership(db.db, member.id, org.slug))?.org.id, org.id);
      assert.equal(await requireMembership(db.db, outsider.id, org.slug), null);
      assert.equal(await requireMembership(db.db, owner.id, 'no-such-org'), null);
      await assert.rejects(addMemberDirectly(db.db, org.id, member.id, 'admin'), /already a member/i);
    });

    it('ends a session after its idle timeout, and refreshes it while it is used', async () => {
      const u = await signup(db.db, { email: 'idle@example.com', password: 'password-123', name: 'I' });
      const t0 = new Date();
      const { token } = await createSession(db.db, u.id, { now: t0 });
      const later = (ms: number) => new Date(t0.getTime() + ms);
      // Used just before the idle limit: still live, and the use moves the limit.
      assert.ok(await authenticateToken(db.db, token, DEFAULT_SESSION_POLICY, later(IDLE_MS - 1000)));
      assert.ok(await authenticateToken(db.db, token, DEFAULT_SESSION_POLICY, later(2 * IDLE_MS - 2000)));
      assert.equal(await authenticateToken(db.db, token, DEFAULT_SESSION_POLICY, later(3 * IDLE_MS)), null);
    });

    it('lists a user’s live sessions; a password change ends all but the current one', async () => {
      const u = await signup(db.db, { email: 'pw@example.com', password: 'password-123', name: 'P' });
      const a = await createSession(db.db, u.id, { userAgent: 'Browser A', clientAddress: '192.0.2.1' });
      const b = await createSession(db.db, u.id, { userAgent: 'Browser B' });
      const listed = await listSessions(db.db, u.id);
      assert.deepEqual(listed.map((s) => s.userAgent).sort(), ['Browser A', 'Browser B']);
      await assert.rejects(
        changePassword(db.db, u.id, { currentPassword: 'wrong-password', newPassword: 'new-password-456' }),
        /current password is wrong/,
      );
      await changePassword(db.db, u.id, { currentPassword: 'password-123', newPassword: 'new-password-456' });
      const ended = await revokeUserSessions(db.db, u.id, a.session.id);
      assert.deepEqual(ended, [b.session.id]);
      assert.deepEqual(
        (await listSessions(db.db, u.id)).map((s) => s.id),
        [a.session.id],
      );
      await assert.rejects(login(db.db, { email: 'pw@example.com', password: 'password-123' }), /Wrong/);
      assert.equal((await login(db.db, { email: 'pw@example.com', password: 'new-password-456' })).id, u.id);
    });
  });
}
