import { CommandError, mustRun, runCommand, type CommandRunner } from './command-runner';
import {
  assertClawUserName,
  clawUserComment,
  clawUserName,
  IsolationError,
  killUserProcesses,
  serialized,
  type ClawIsolation,
  type ClawUser,
} from './isolation';
import { procPidsOfUid } from './processes';

/**
 * Claw users on Linux: a system group and a system user per claw (`groupadd --system`,
 * `useradd --system`, uid and gid chosen by the OS), no login shell, no home created by useradd (the
 * agent makes the claw's directories itself), the claw id in the comment. Every step looks first, so
 * running it again after a crash halfway finishes the job instead of failing on what exists.
 */

interface PasswdEntry extends ClawUser {
  comment: string;
}

const NOLOGIN = '/usr/sbin/nologin';
/** getent's exit code for "no such entry". */
const NOT_FOUND = 2;

/** One `getent passwd` line: name:password:uid:gid:comment:home:shell. */
export function parsePasswd(line: string): PasswdEntry | undefined {
  const f = line.trim().split(':');
  if (f.length < 7) return undefined;
  const uid = Number(f[2]);
  const gid = Number(f[3]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) return undefined;
  return { name: f[0]!, uid, gid, comment: f[4]! };
}

export function linuxIsolation(
  run: CommandRunner = runCommand,
  pidsOfUid: (uid: number) => Promise<number[]> = procPidsOfUid,
): ClawIsolation {
  const serial = serialized();

  async function getent(db: 'passwd' | 'group', name: string): Promise<string | undefined> {
    const r = await run('getent', [db, name]);
    if (r.code === NOT_FOUND) return undefined;
    if (r.code !== 0) throw new CommandError('getent', [db, name], r);
    return r.stdout;
  }

  /** The claw's user; refuses one of that name that another claw or someone else made. */
  async function lookup(clawId: string): Promise<PasswdEntry | undefined> {
    const name = clawUserName(clawId);
    const line = await getent('passwd', name);
    if (line === undefined) return undefined;
    const entry = parsePasswd(line);
    if (!entry) throw new IsolationError(`Cannot read the passwd entry of ${name}`);
    if (entry.comment !== clawUserComment(clawId))
      throw new IsolationError(
        `User ${name} exists but is not claw ${clawId}'s (its comment is "${entry.comment}"); refusing to use it`,
      );
    return entry;
  }

  const driver: ClawIsolation = {
    kind: 'linux',
    separateUsers: true,

    ensureUser: (clawId, home) =>
      serial(async () => {
        const name = clawUserName(clawId);
        assertClawUserName(name);
        const existing = await lookup(clawId);
        if (existing) return { name, uid: existing.uid, gid: existing.gid };
        if ((await getent('group', name)) === undefined) await mustRun(run, 'groupadd', ['--system', name]);
        await mustRun(run, 'useradd', [
          '--system',
          '--gid',
          name,
          '--home-dir',
          home,
          '--no-create-home',
          '--no-log-init',
          '--shell',
          NOLOGIN,
          '--comment',
          clawUserComment(clawId),
          name,
        ]);
        const created = await lookup(clawId);
        if (!created) throw new IsolationError(`useradd succeeded but ${name} does not exist`);
        return { name, uid: created.uid, gid: created.gid };
      }),

    findUser: async (clawId) => {
      const entry = await lookup(clawId);
      return entry && { name: entry.name, uid: entry.uid, gid: entry.gid };
    },

    processesOf: (user) => pidsOfUid(user.uid),

    removeUser: (clawId) =>
      serial(async () => {
        const name = clawUserName(clawId);
        assertClawUserName(name);
        const entry = await lookup(clawId);
        if (entry) {
          await killUserProcesses(driver, entry);
          const r = await run('userdel', [name]);
          // 8: "currently used by a process"; what is left is a zombie nobody reaped yet.
          if (r.code === 8) await mustRun(run, 'userdel', ['--force', name]);
          else if (r.code !== 0) throw new CommandError('userdel', [name], r);
        }
        // userdel removes the user's own group when nobody else uses it; one left by a crash
        // between groupadd and useradd is removed here.
        if ((await getent('group', name)) !== undefined) await mustRun(run, 'groupdel', [name]);
      }),
  };
  return driver;
}
