import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CommandRunner } from './command-runner';
import { clawUserComment, clawUserName } from './isolation';
import { macosIsolation, parseDsclIdList, parseDsclRecord, parsePsForUid } from './isolation-macos';

type Records = Map<string, Record<string, string>>;

/**
 * A fake local directory node answering dscl as macOS does: `-read` prints `Key: value`, or `Key:`
 * and the value indented on the next line when it has spaces; a missing record is eDSRecordNotFound.
 */
function fakeDirectory() {
  const dirs: Record<'Users' | 'Groups', Records> = {
    Users: new Map([
      ['root', { RealName: 'System Administrator', UniqueID: '0', PrimaryGroupID: '0' }],
      ['taken', { RealName: 'Someone', UniqueID: '20000', PrimaryGroupID: '20' }],
    ]),
    Groups: new Map([
      ['wheel', { RealName: 'System Group', PrimaryGroupID: '0' }],
      ['staff', { RealName: 'Staff', PrimaryGroupID: '20' }],
      ['taken-group', { RealName: 'Some group', PrimaryGroupID: '20001' }],
    ]),
  };
  const calls: string[] = [];
  let ps = '';
  const ok = (stdout = '') => ({ code: 0, stdout, stderr: '' });
  const recordOf = (p: string) => {
    const [, kind, name] = p.split('/') as [string, 'Users' | 'Groups', string];
    return { map: dirs[kind], name };
  };
  const run: CommandRunner = async (program, args) => {
    calls.push([program, ...args].join(' '));
    if (program === 'dscacheutil') return ok();
    if (program === 'ps') return ok(ps);
    if (program !== 'dscl' || args[0] !== '.') return { code: 127, stdout: '', stderr: 'not found' };
    const [, verb, p, key, value] = args as string[];
    const { map, name } = recordOf(p!);
    const rec = map.get(name);
    switch (verb) {
      case '-read': {
        if (!rec) return { code: 56, stdout: '', stderr: '<dscl_cmd> DS Error: -14136 (eDSRecordNotFound)' };
        const keys = args.slice(3).length ? args.slice(3) : Object.keys(rec);
        return ok(
          keys
            .filter((k) => k in rec)
            .map((k) => (rec[k]!.includes(' ') ? `${k}:\n ${rec[k]}` : `${k}: ${rec[k]}`))
            .join('\n') + '\n',
        );
      }
      case '-list':
        return ok([...map].map(([n, r]) => `${n.padEnd(24)}${r[key!] ?? ''}`).join('\n') + '\n');
      case '-create':
        map.set(name, { ...(rec ?? {}), ...(key ? { [key]: value ?? '' } : {}) });
        return ok();
      case '-delete':
        if (!rec) return { code: 56, stdout: '', stderr: 'eDSRecordNotFound' };
        map.delete(name);
        return ok();
    }
    return { code: 64, stdout: '', stderr: 'usage' };
  };
  return { dirs, calls, run, setPs: (text: string) => (ps = text) };
}

const CLAW = 'claw-7d2f0c4e-1111-4a4a-9b9b-abcdefabcdef';
const NAME = clawUserName(CLAW);

describe('macos isolation driver (dscl, with a fake directory)', () => {
  it('creates a hidden user and its group with the lowest id free for both, no password, no shell', async () => {
    const dir = fakeDirectory();
    const user = await macosIsolation(dir.run).ensureUser(CLAW, '/Library/Claws/claws/c1/home');
    assert.deepEqual(user, { name: NAME, uid: 20002, gid: 20002 }, '20000 is a user’s, 20001 a group’s');
    assert.deepEqual(dir.dirs.Groups.get(NAME), {
      RealName: clawUserComment(CLAW),
      PrimaryGroupID: '20002',
      Password: '*',
    });
    assert.deepEqual(dir.dirs.Users.get(NAME), {
      RealName: clawUserComment(CLAW),
      UniqueID: '20002',
      PrimaryGroupID: '20002',
      NFSHomeDirectory: '/Library/Claws/claws/c1/home',
      UserShell: '/usr/bin/false',
      Password: '*',
      IsHidden: '1',
    });
    // The record is created by the write that marks it as the claw's.
    const firstUserWrite = dir.calls.find((c) => c.includes(`-create /Users/${NAME}`));
    assert.equal(firstUserWrite, `dscl . -create /Users/${NAME} RealName ${clawUserComment(CLAW)}`);
  });

  it('is idempotent: a second call only reads', async () => {
    const dir = fakeDirectory();
    const driver = macosIsolation(dir.run);
    const first = await driver.ensureUser(CLAW, '/h');
    dir.calls.length = 0;
    assert.deepEqual(await driver.ensureUser(CLAW, '/h'), first);
    assert.ok(
      dir.calls.every((c) => c.startsWith(`dscl . -read /Users/${NAME}`)),
      dir.calls.join('\n'),
    );
    assert.deepEqual(await driver.findUser(CLAW), first);
  });

  it('completes a user a crash left halfway, reusing its group', async () => {
    const dir = fakeDirectory();
    dir.dirs.Groups.set(NAME, { RealName: clawUserComment(CLAW), PrimaryGroupID: '20005', Password: '*' });
    dir.dirs.Users.set(NAME, { RealName: clawUserComment(CLAW) });
    const user = await macosIsolation(dir.run).ensureUser(CLAW, '/h');
    assert.deepEqual(user, { name: NAME, uid: 20005, gid: 20005 });
    assert.equal(dir.dirs.Users.get(NAME)!.IsHidden, '1');
  });

  it('gives concurrent claws distinct ids', async () => {
    const dir = fakeDirectory();
    const driver = macosIsolation(dir.run);
    const users = await Promise.all(['c-a', 'c-b', 'c-c'].map((c) => driver.ensureUser(c, `/h/${c}`)));
    assert.equal(new Set(users.map((u) => u.uid)).size, 3);
    assert.equal(new Set(users.map((u) => u.gid)).size, 3);
  });

  it('refuses records of that name that are not this claw’s, and never deletes them', async () => {
    const dir = fakeDirectory();
    dir.dirs.Users.set(NAME, { RealName: 'Alice', UniqueID: '501', PrimaryGroupID: '20' });
    const driver = macosIsolation(dir.run);
    await assert.rejects(driver.ensureUser(CLAW, '/h'), /exists but is not claw .* refusing/);
    await assert.rejects(driver.removeUser(CLAW), /refusing/);
    assert.ok(dir.dirs.Users.has(NAME));
    assert.ok(!dir.calls.some((c) => c.includes('-delete')));
  });

  it('runs out of ids with a clear error', async () => {
    const dir = fakeDirectory();
    await assert.rejects(
      macosIsolation(dir.run, [20000, 20001]).ensureUser(CLAW, '/h'),
      /No free user and group id left in 20000-20001/,
    );
  });

  it('lists the user’s processes with ps, zombies left out, and deletes user and group', async () => {
    const dir = fakeDirectory();
    const driver = macosIsolation(dir.run);
    const user = await driver.ensureUser(CLAW, '/h');
    dir.setPs(
      `  101 ${user.uid} ${user.uid} Ss\n  102 0 ${user.uid} R\n  103 ${user.uid} ${user.uid} Z\n  104 501 501 S\n`,
    );
    assert.deepEqual(await driver.processesOf(user), [101, 102]);
    dir.setPs('');
    await driver.removeUser(CLAW);
    assert.ok(!dir.dirs.Users.has(NAME));
    assert.ok(!dir.dirs.Groups.has(NAME));
    await driver.removeUser(CLAW);
    assert.equal(await driver.findUser(CLAW), undefined);
  });

  it('parses dscl and ps output', () => {
    assert.deepEqual(
      parseDsclRecord('NFSHomeDirectory: /x/home\nRealName:\n Claws claw c1\nUniqueID: 20002\n'),
      {
        NFSHomeDirectory: '/x/home',
        RealName: 'Claws claw c1',
        UniqueID: '20002',
      },
    );
    assert.deepEqual(parseDsclRecord('dsAttrTypeNative:IsHidden: 1\n'), { IsHidden: '1' });
    assert.deepEqual(parseDsclIdList('root      0\n_www     70\nclaw-x   20002\n\n'), [0, 70, 20002]);
    assert.deepEqual(parsePsForUid('  1 0 0 Ss\n 55 20002 20002 S+\n', 20002), [55]);
  });
});
