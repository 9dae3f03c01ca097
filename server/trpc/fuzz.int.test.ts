import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, testDrivers, type TestDatabase } from '../../tests/fixtures/db';
import { prng } from '../../tests/fixtures/history';
import { testRuntime } from '../../tests/fixtures/fleet';
import { callerFor, newUser } from '../../tests/fixtures/trpc';
import type { SessionUser } from '../auth/session';
import type { Runtime } from '../runtime';
import { appRouter } from './routers/_app';

/** Hostile inputs: wrong types, missing fields, long and odd strings, huge payloads. */
function nastyValues(rnd: ReturnType<typeof prng>): unknown[] {
  const long = 'x'.repeat(100_000);
  return [
    undefined,
    null,
    0,
    -1,
    1e308,
    NaN,
    true,
    '',
    ' ',
    long,
    '💥'.repeat(5000),
    'ñandú-ümlaut-中文-עברית',
    '\u0000\u0001\u202e',
    "'; DROP TABLE events; --",
    '../../etc/passwd',
    '12345',
    [],
    [1, 2, 3],
    {},
    { nested: { deeper: [long] } },
    Array.from({ length: 1000 }, () => rnd.int(1000)),
    'a'.repeat(1_000_000),
  ];
}

const FIELDS = [
  'orgSlug',
  'clawSlug',
  'name',
  'email',
  'password',
  'slug',
  'role',
  'version',
  'miniId',
  'hostname',
  'agentUrl',
  'agentToken',
  'tunnelSuffix',
  'portRangeStart',
  'portRangeEnd',
  'capacity',
  'changes',
  'reason',
  'lastEventId',
  'userId',
  'invitationId',
  'tokenId',
  'sessionId',
  'token',
  'code',
  'currentPassword',
  'newPassword',
];

for (const driver of testDrivers()) {
  describe(`input fuzzing on ${driver}`, () => {
    let database: TestDatabase;
    let rt: Runtime;
    let admin: SessionUser;

    before(async () => {
      database = await createTestDatabase(driver);
      rt = testRuntime(database);
      admin = await newUser(rt, 'admin', { platformAdmin: true });
      const c = await callerFor(rt, admin);
      await c.orgs.create({ name: 'Fuzz', slug: 'fuzz' });
    });
    after(async () => {
      await rt?.close();
      await database?.close();
    });

    const procedures = Object.keys(appRouter._def.procedures as object).map((path) => [path] as const);

    it(`covers every procedure (${procedures.length})`, () => {
      assert.ok(procedures.length >= 44, String(procedures.length));
    });

    for (const [path] of procedures) {
      it(`${path}: no INTERNAL_SERVER_ERROR for hostile input`, async () => {
        const rnd = prng(path.length * 7919);
        const inputs: unknown[] = [...nastyValues(rnd)];
        for (const field of FIELDS)
          for (const v of nastyValues(rnd).slice(0, 14)) inputs.push({ orgSlug: 'fuzz', [field]: v });
        inputs.push(
          // A cursor past the database's xid8 (and bigint) range: refused, not a database error.
          { orgSlug: 'fuzz', lastEventId: '99999999999999999999:1' },
          { lastEventId: '18446744073709551616:999999999999999999' },
          { orgSlug: 'fuzz', clawSlug: 'nope', lastEventId: '99999999999' },
          { token: 'A'.repeat(43) },
          { orgSlug: 'fuzz', userId: '00000000-0000-4000-8000-000000000000', role: 'owner' },
          { orgSlug: 'fuzz', clawSlug: 'nope', version: '3' },
          { orgSlug: 'fuzz', name: 12 },
          { miniId: 'not-a-uuid' },
        );
        const failures: string[] = [];
        for (const input of inputs) {
          const ac = new AbortController();
          const caller = await callerFor(rt, admin, { signal: ac.signal });
          const fn = path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], caller) as (
            i: unknown,
          ) => Promise<unknown>;
          try {
            const r = await fn(input);
            ac.abort();
            if (r && typeof (r as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
              // A subscription that accepted the input: it must also end cleanly.
              for await (const _ of r as AsyncIterable<unknown>) break;
            }
          } catch (err) {
            const code = (err as { code?: string }).code;
            if (code === 'INTERNAL_SERVER_ERROR' || !code)
              failures.push(`${JSON.stringify(input)?.slice(0, 80)} → ${code ?? String(err)}`);
          }
        }
        assert.deepEqual(failures, []);
      });
    }
  });
}
