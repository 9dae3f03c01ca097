import { CommandError, mustRun, runCommand, type CommandRunner } from './command-runner';
import {
  assertClawUserName,
  clawUserComment,
  clawUserName,
  IsolationError,
  killUserProcesses,
  serialized,
  type ClawIsolation,
} from './isolation';

/**
 * Claw users on macOS, through the local directory with dscl (as root): a group and a hidden user
 * per claw with no password (`*`) and no shell (/usr/bin/false), the claw id as RealName. dscl does
 * not allocate ids, so the driver takes the lowest number of `idRange` that no user and no group
 * has, the same for the user's uid and its group's gid. sysadminctl is not used: it makes login
 * users (secure token, login window, a home from the template), which a service account must not be.
 *
 * Each record is created by its first attribute write carrying RealName, so a record left by a
 * crash halfway is recognizably ours and is completed on the next call instead of refused.
 */

const NODE = '.';
const DSCL = 'dscl';
export const MACOS_ID_RANGE: readonly [number, number] = [20_000, 29_999];

/** `dscl . -read` output: `Key: value`, or `Key:` followed by indented value lines (values with spaces). */
export function parseDsclRecord(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let key: string | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith(' ') && key) {
      out[key] = out[key] ? `${out[key]} ${line.trim()}` : line.trim();
      continue;
    }
    const m = /^([A-Za-z0-9_:.-]+?):(?: (.*))?$/.exec(line);
    if (!m) continue;
    key = m[1]!.replace(/^dsAttrTypeNative:/, '');
    out[key] = (m[2] ?? '').trim();
  }
  return out;
}

/** `dscl . -list /Users UniqueID` output: one `name   id` per line; the ids. */
export function parseDsclIdList(text: string): number[] {
  return text.split('\n').flatMap((line) => {
    const fields = line.trim().split(/\s+/);
    const id = fields.at(-1) ?? '';
    return fields.length >= 2 && /^-?\d+$/.test(id) ? [Number(id)] : [];
  });
}

/** `ps -axo pid=,uid=,ruid=,stat=` output: the pids whose uid or real uid is `uid`, zombies left out. */
export function parsePsForUid(text: string, uid: number): number[] {
  return text.split('\n').flatMap((line) => {
    const [pid, euid, ruid, stat] = line.trim().split(/\s+/);
    if (!pid || !stat || stat.startsWith('Z')) return [];
    return Number(euid) === uid || Number(ruid) === uid ? [Number(pid)] : [];
  });
}

const notFound = (stderr: string) => /eDSRecordNotFound|-14136/.test(stderr);

export function macosIsolation(
  run: CommandRunner = runCommand,
  idRange: readonly [number, number] = MACOS_ID_RANGE,
): ClawIsolation {
  const serial = serialized();

  async function read(kind: 'Users' | 'Groups', name: string): Promise<Record<string, string> | undefined> {
    const args = ['-read', `/${kind}/${name}`];
    const r = await run(DSCL, [NODE, ...args]);
    if (r.code !== 0 && notFound(r.stderr + r.stdout)) return undefined;
    if (r.code !== 0) throw new CommandError(DSCL, [NODE, ...args], r);
    return parseDsclRecord(r.stdout);
  }

  /** A record of that name, checked to be this claw's. */
  async function ours(kind: 'Users' | 'Groups', clawId: string) {
    const name = clawUserName(clawId);
    const record = await read(kind, name);
    if (record && record.RealName !== clawUserComment(clawId))
      throw new IsolationError(
        `${kind === 'Users' ? 'User' : 'Group'} ${name} exists but is not claw ${clawId}'s (RealName "${record.RealName ?? ''}"); refusing to use it`,
      );
    return record;
  }

  const set = (kind: 'Users' | 'Groups', name: string, key: string, value: string) =>
    mustRun(run, DSCL, [NODE, '-create', `/${kind}/${name}`, key, value]);

  async function freeId(): Promise<number> {
    const used = new Set([
      ...parseDsclIdList(await mustRun(run, DSCL, [NODE, '-list', '/Users', 'UniqueID'])),
      ...parseDsclIdList(await mustRun(run, DSCL, [NODE, '-list', '/Groups', 'PrimaryGroupID'])),
    ]);
    for (let id = idRange[0]; id <= idRange[1]; id++) if (!used.has(id)) return id;
    throw new IsolationError(`No free user and group id left in ${idRange[0]}-${idRange[1]}`);
  }

  const driver: ClawIsolation = {
    kind: 'macos',
    separateUsers: true,

    ensureUser: (clawId, home) =>
      serial(async () => {
        const name = clawUserName(clawId);
        assertClawUserName(name);
        const comment = clawUserComment(clawId);
        const user = await ours('Users', clawId);
        if (user?.UniqueID && user.PrimaryGroupID)
          return { name, uid: Number(user.UniqueID), gid: Number(user.PrimaryGroupID) };

        let group = await ours('Groups', clawId);
        let gid = Number(group?.PrimaryGroupID);
        if (!Number.isInteger(gid)) {
          gid = await freeId();
          await set('Groups', name, 'RealName', comment);
          await set('Groups', name, 'PrimaryGroupID', String(gid));
          await set('Groups', name, 'Password', '*');
          group = await ours('Groups', clawId);
        }
        if (!group) throw new IsolationError(`dscl created group ${name} but it does not exist`);

        // The same number as the group's when no one has it, for an operator reading `ls -ln`.
        const uid = Number(user?.UniqueID) || (await freeIdPreferring(gid));
        await set('Users', name, 'RealName', comment);
        await set('Users', name, 'UniqueID', String(uid));
        await set('Users', name, 'PrimaryGroupID', String(gid));
        await set('Users', name, 'NFSHomeDirectory', home);
        await set('Users', name, 'UserShell', '/usr/bin/false');
        await set('Users', name, 'Password', '*');
        await set('Users', name, 'IsHidden', '1');
        await run('dscacheutil', ['-flushcache']); // so `id`, `ls -l` show the name at once; optional
        return { name, uid, gid };
      }),

    findUser: async (clawId) => {
      const user = await ours('Users', clawId);
      if (!user?.UniqueID || !user.PrimaryGroupID) return undefined;
      return { name: clawUserName(clawId), uid: Number(user.UniqueID), gid: Number(user.PrimaryGroupID) };
    },

    processesOf: async (user) =>
      parsePsForUid(await mustRun(run, 'ps', ['-axo', 'pid=,uid=,ruid=,stat=']), user.uid),

    removeUser: (clawId) =>
      serial(async () => {
        const name = clawUserName(clawId);
        assertClawUserName(name);
        const user = await ours('Users', clawId);
        if (user) {
          const uid = Number(user.UniqueID);
          if (Number.isInteger(uid) && uid > 0)
            await killUserProcesses(driver, { name, uid, gid: Number(user.PrimaryGroupID) });
          await mustRun(run, DSCL, [NODE, '-delete', `/Users/${name}`]);
        }
        if (await ours('Groups', clawId)) await mustRun(run, DSCL, [NODE, '-delete', `/Groups/${name}`]);
        await run('dscacheutil', ['-flushcache']);
      }),
  };

  async function freeIdPreferring(id: number): Promise<number> {
    const users = parseDsclIdList(await mustRun(run, DSCL, [NODE, '-list', '/Users', 'UniqueID']));
    return users.includes(id) ? freeId() : id;
  }

  return driver;
}
