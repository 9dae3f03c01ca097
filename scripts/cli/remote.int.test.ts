import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createTestDatabase, type TestDatabase } from '../../tests/fixtures/db';
import { testRuntime } from '../../tests/fixtures/fleet';
import { repoRoot } from '../../tests/fixtures/processes';
import { startTrpcServer } from '../../tests/fixtures/trpc-server';
import { callerFor, newApiToken, newUser } from '../../tests/fixtures/trpc';
import type { Runtime } from '../../server/runtime';

const run = promisify(execFile);

/** `claws --url <server>` with CLAWS_TOKEN: the typed client against the tRPC endpoint over HTTP. */
describe('CLI against a remote server (--url, CLAWS_TOKEN)', () => {
  let database: TestDatabase;
  let rt: Runtime;
  let server: Awaited<ReturnType<typeof startTrpcServer>>;
  let memberToken: string;
  let adminToken: string;

  before(async () => {
    database = await createTestDatabase('pglite');
    rt = testRuntime(database);
    server = await startTrpcServer(rt);
    const owner = await newUser(rt, 'owner');
    await (await callerFor(rt, owner)).orgs.create({ name: 'Remote', slug: 'remote' });
    await (await callerFor(rt, owner)).orgs.create({ name: 'Other', slug: 'other' });
    memberToken = (await newApiToken(rt, 'remote', owner, 'member')).token;
    adminToken = (await newApiToken(rt, 'remote', owner, 'admin')).token;
  });
  after(async () => {
    await server?.close();
    await rt?.close();
    await database?.close();
  });

  const cli = (token: string | undefined, ...args: string[]) =>
    run(process.execPath, ['--import', 'tsx', 'scripts/claws-cli.ts', '--url', server.url, ...args], {
      cwd: repoRoot,
      env: { ...process.env, CLAWS_TOKEN: token ?? '' },
    }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );

  it('whoami, create, list and show with a member token; delete needs an admin token', async () => {
    assert.match(
      (await cli(memberToken, 'whoami')).stdout,
      /Token "member token" \(member\) of Remote \(remote\)/,
    );
    const created = await cli(memberToken, 'claw', 'create', '--name', 'From afar');
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /Requested claw remote\/from-afar/);
    const list = JSON.parse((await cli(memberToken, 'claw', 'list', '--json')).stdout) as { slug: string }[];
    assert.deepEqual(
      list.map((c) => c.slug),
      ['from-afar'],
    );
    const show = await cli(memberToken, 'claw', 'show', 'from-afar');
    assert.match(show.stdout, /ClawRequested\s+system:api-token:/);
    const refused = await cli(memberToken, 'claw', 'delete', 'from-afar');
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /^error: Only owners and admins of the organization may do this \(FORBIDDEN\)/,
    );
    assert.equal((await cli(adminToken, 'claw', 'delete', 'from-afar')).code, 0);
    assert.ok(!(await cli(adminToken, 'claw', 'list')).stdout.includes(adminToken));
  });

  it('refuses other organizations, bad tokens and no token in one line', async () => {
    const other = await cli(adminToken, 'claw', 'list', '--org', 'other');
    assert.match(other.stderr, /^error: Organization not found \(NOT_FOUND\)/);
    const bad = await cli(`claws_${'x'.repeat(43)}`, 'whoami');
    assert.match(bad.stderr, /^error: Send an API token/);
    const none = await cli(undefined, 'claw', 'list');
    assert.match(none.stderr, /^error: CLAWS_TOKEN is required/);
    // A revoked token stops working at once.
    const { revokeApiToken } = await import('../../server/auth/api-tokens');
    const row = await database.db
      .selectFrom('api_tokens')
      .select(['id', 'org_id'])
      .where('name', '=', 'member token')
      .executeTakeFirstOrThrow();
    await revokeApiToken(database.db, row.org_id, row.id);
    assert.match((await cli(memberToken, 'whoami')).stderr, /^error: Send an API token/);
  });
});
