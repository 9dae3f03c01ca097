import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CommandRunner } from './command-runner';
import { clawUserComment, clawUserName, IsolationError } from './isolation';
import { linuxIsolation, parsePasswd } from './isolation-linux';

/** A fake user database answering getent, groupadd, useradd, userdel and groupdel like Debian's. */
function fakeSystem() {
  const users = new Map<string, { uid: number; gid: number; comment: string; home: string }>();
  const groups = new Map<string, number>();
  const calls: string[] = [];
  let nextId = 999;
  let failNext: string | undefined;
  const ok = (stdout = '') => ({ code: 0, stdout, stderr: '' });
  const run: CommandRunner = async (program, args) => {
    calls.push([program, ...args].join(' '));
    if (failNext && program === failNext) {
      failNext = undefined;
      return { code: 10, stdout: '', stderr: `${program}: cannot lock /etc/passwd; try again later.` };
    }
    const name = args.at(-1)!;
    switch (program) {
      case 'getent': {
        if (args[0] === 'passwd') {
          const u = users.get(name);
          return u
            ? ok(`${name}:x:${u.uid}:${u.gid}:${u.comment}:${u.home}:/usr/sbin/nologin\n`)
            : { code: 2, stdout: '', stderr: '' };
        }
        const g = groups.get(name);
        return g !== undefined ? ok(`${name}:x:${g}:\n`) : { code: 2, stdout: '', stderr: '' };
      }
      case 'groupadd':
        if (groups.has(name))
          return { code: 9, stdout: '', stderr: `groupadd: group '${name}' already exists` };
        groups.set(name, nextId--);
        return ok();
      case 'useradd': {
        const gid = groups.get(args[args.indexOf('--gid') + 1]!);
        if (gid === undefined) return { code: 6, stdout: '', stderr: 'useradd: group does not exist' };
        users.set(name, {
          uid: nextId--,
          gid,
          comment: args[args.indexOf('--comment') + 1]!,
          home: args[args.indexOf('--home-dir') + 1]!,
        });
        return ok();
      }
      case 'userdel':
        if (!users.delete(name)) return { code: 6, stdout: '', stderr: 'userdel: user does not exist' };
        groups.delete(name); // USERGROUPS_ENAB: the user's own group goes with it
        return ok();
      case 'groupdel':
        return groups.delete(name) ? ok() : { code: 6, stdout: '', stderr: 'groupdel: group does not exist' };
    }
    return { code: 127, stdout: '', stderr: `${program}: not found` };
  };
  return { users, groups, calls, run, failOnce: (p: string) => (failNext = p) };
}

const CLAW = 'claw-0f8e1c2a-5b9d-4c1e-8f00-123456789abc';

describe('linux isolation driver', () => {
  it('creates a system group and user per claw, without shell or home, marked with the claw id', async () => {
    const sys = fakeSystem();
    const driver = linuxIsolation(sys.run, async () => []);
    const user = await driver.ensureUser(CLAW, '/var/lib/claws/claws/c1/home');
    const name = clawUserName(CLAW);
    assert.match(name, /^claw-[0-9a-f]{12}$/);
    assert.equal(user.name, name);
    assert.deepEqual(
      sys.calls.filter((c) => !c.startsWith('getent')),
      [
        `groupadd --system ${name}`,
        `useradd --system --gid ${name} --home-dir /var/lib/claws/claws/c1/home --no-create-home --no-log-init --shell /usr/sbin/nologin --comment ${clawUserComment(CLAW)} ${name}`,
      ],
    );
    assert.equal(user.uid, sys.users.get(name)!.uid);
    assert.equal(user.gid, sys.groups.get(name));
    assert.deepEqual(await driver.findUser(CLAW), user);
  });

  it('is idempotent, and finishes what a crash between groupadd and useradd left', async () => {
    const sys = fakeSystem();
    const driver = linuxIsolation(sys.run, async () => []);
    const first = await driver.ensureUser(CLAW, '/h');
    sys.calls.length = 0;
    assert.deepEqual(await driver.ensureUser(CLAW, '/h'), first);
    assert.deepEqual(sys.calls, [`getent passwd ${clawUserName(CLAW)}`], 'only looked');

    const other = 'claw-other';
    sys.groups.set(clawUserName(other), 500); // the group exists, the user does not
    const user = await linuxIsolation(sys.run, async () => []).ensureUser(other, '/h2');
    assert.equal(user.gid, 500);
    assert.ok(!sys.calls.includes(`groupadd --system ${clawUserName(other)}`));
  });

  it('gives two claws two users, and creates them one at a time', async () => {
    const sys = fakeSystem();
    const driver = linuxIsolation(sys.run, async () => []);
    const [a, b] = await Promise.all([driver.ensureUser('claw-a', '/a'), driver.ensureUser('claw-b', '/b')]);
    assert.notEqual(a!.uid, b!.uid);
    assert.notEqual(a!.gid, b!.gid);
    const adds = sys.calls.filter((c) => /^(groupadd|useradd)/.test(c)).map((c) => c.split(' ').at(-1));
    assert.deepEqual(adds, [a!.name, a!.name, b!.name, b!.name], 'not interleaved');
  });

  it('refuses a user of that name that is not this claw’s', async () => {
    const sys = fakeSystem();
    sys.users.set(clawUserName(CLAW), { uid: 1000, gid: 1000, comment: 'Alice', home: '/home/alice' });
    const driver = linuxIsolation(sys.run, async () => []);
    await assert.rejects(driver.ensureUser(CLAW, '/h'), IsolationError);
    await assert.rejects(driver.removeUser(CLAW), /not claw .* refusing/);
    assert.ok(sys.users.has(clawUserName(CLAW)), 'left alone');
    assert.ok(!sys.calls.some((c) => c.startsWith('userdel')));
  });

  it('removes the user and its group, after ending its processes; removing twice is fine', async () => {
    const sys = fakeSystem();
    let alive = [4242, 4243];
    const killed: number[] = [];
    const driver = linuxIsolation(sys.run, async () => alive);
    const user = await driver.ensureUser(CLAW, '/h');
    const realKill = process.kill;
    process.kill = ((pid: number, signal?: string | number) => {
      if (signal === 'SIGKILL') {
        killed.push(pid);
        alive = alive.filter((p) => p !== pid);
      }
      return true;
    }) as typeof process.kill;
    try {
      await driver.removeUser(CLAW);
    } finally {
      process.kill = realKill;
    }
    assert.deepEqual(killed.sort(), [4242, 4243]);
    assert.ok(!sys.users.has(user.name));
    assert.ok(!sys.groups.has(user.name));
    await driver.removeUser(CLAW);
    assert.equal(await driver.findUser(CLAW), undefined);
  });

  it('removes a group a crash left without its user', async () => {
    const sys = fakeSystem();
    sys.groups.set(clawUserName(CLAW), 777);
    await linuxIsolation(sys.run, async () => []).removeUser(CLAW);
    assert.ok(!sys.groups.has(clawUserName(CLAW)));
  });

  it('says what failed when a command does', async () => {
    const sys = fakeSystem();
    sys.failOnce('useradd');
    await assert.rejects(
      linuxIsolation(sys.run, async () => []).ensureUser(CLAW, '/h'),
      /useradd .* failed \(exit 10\): useradd: cannot lock/,
    );
  });

  it('parses passwd lines', () => {
    assert.deepEqual(parsePasswd('claw-0123456789ab:x:998:996:Claws claw c1:/h:/usr/sbin/nologin\n'), {
      name: 'claw-0123456789ab',
      uid: 998,
      gid: 996,
      comment: 'Claws claw c1',
    });
    assert.equal(parsePasswd('garbage'), undefined);
  });
});
