import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, testDrivers, type TestDatabase } from '../../tests/fixtures/db';
import { requireMembership, createOrganizationWithOwner, addMember } from '../orgs/memberships';
import {
  authenticateCookieHeader,
  authenticateToken,
  createSession,
  hashSessionToken,
  revokeSession,
  SESSION_COOKIE,
  SESSION_TTL_MS,
} from './session';
import { login, signup } from './users';

for (const driver of testDrivers()) {
  describe(`identity on ${driver}`, () => {
    let db: TestDatabase;
    before(async () => {
      db = await createTestDatabase(driver);
    });
    after(async () => {
      await db?.close();
    });

    it('makes exactly one platform admin when the first signups race', async () => {
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          signup(db.db, { email: `racer${i}@example.com`, password: 'password-123', name: `r${i}` }),
        ),
      );
      assert.equal(results.filter((u) => u.is_platform_admin).length, 1);
      const admins = await db.db
        .selectFrom('users')
        .select('id')
        .where('is_platform_admin', '=', true)
        .execute();
      assert.equal(admins.length, 1);
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
      const { token, session } = await createSession(db.db, u.id, now);
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

      assert.equal(await authenticateToken(db.db, token, new Date(now.getTime() + SESSION_TTL_MS + 1)), null);
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
      const old = await createSession(db.db, u.id, new Date(Date.now() - 2 * SESSION_TTL_MS));
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
      await addMember(db.db, org.id, member.email, 'member');
      assert.equal((await requireMembership(db.db, owner.id, org.slug))?.role, 'owner');
      assert.equal((await requireMembership(db.db, member.id, org.slug))?.role, 'member');
      assert.equal((await requireMembership(db.db, member.id, org.slug))?.org.id, org.id);
      assert.equal(await requireMembership(db.db, outsider.id, org.slug), null);
      assert.equal(await requireMembership(db.db, owner.id, 'no-such-org'), null);
      await assert.rejects(addMember(db.db, org.id, member.email, 'admin'), /already a member/);
      await assert.rejects(addMember(db.db, org.id, 'ghost@example.com', 'admin'), /not found/i);
    });
  });
}
