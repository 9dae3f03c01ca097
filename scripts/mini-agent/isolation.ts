import { createHash } from 'node:crypto';
import os from 'node:os';

/**
 * One OS user per claw: OpenClaw's own security model is "one trusted operator per gateway", and its
 * docs say not to co-locate mutually untrusted users in one OpenClaw process or one OS user. So on a
 * Mini each claw's gateway runs as its own user and group, `claw-<12 hex>`, which owns the claw's
 * state and nothing else; another claw's files, the agent's state and other gateways' /proc entries
 * are then closed to it by the kernel, whatever the gateway's tools try.
 *
 * A driver creates and removes those users: `linux` (groupadd/useradd, isolation-linux.ts), `macos`
 * (dscl, isolation-macos.ts), and `none`, where every gateway runs as the agent's own user (local
 * development, and any agent that is not root).
 */

export const ISOLATION_KINDS = ['none', 'linux', 'macos'] as const;
export type IsolationKind = (typeof ISOLATION_KINDS)[number];

export interface ClawUser {
  name: string;
  uid: number;
  gid: number;
}

export interface ClawIsolation {
  readonly kind: IsolationKind;
  /** Whether each claw has its own user: gateways are spawned as it and its files are owned by it. */
  readonly separateUsers: boolean;
  /** The claw's user and group, created when missing (idempotent); `home` is recorded as its home. */
  ensureUser(clawId: string, home: string): Promise<ClawUser>;
  /** The claw's user, if it exists. */
  findUser(clawId: string): Promise<ClawUser | undefined>;
  /** Every live (not zombie) process running as the user, whatever its process group or session. */
  processesOf(user: ClawUser): Promise<number[]>;
  /** Removes the claw's user and group, ending what still runs as it first (idempotent). */
  removeUser(clawId: string): Promise<void>;
}

export class IsolationError extends Error {
  override name = 'IsolationError';
}

export const CLAW_USER_PREFIX = 'claw-';
const CLAW_USER_NAME = /^claw-[0-9a-f]{12}$/;

/**
 * The claw's user name: a hash of the claw id, because user names are short (32 characters on
 * Linux) and claw ids are not; 48 bits make a collision between two claws of one Mini negligible,
 * and the comment (`clawUserComment`) records which claw a user belongs to.
 */
export function clawUserName(clawId: string): string {
  return `${CLAW_USER_PREFIX}${createHash('sha256').update(clawId).digest('hex').slice(0, 12)}`;
}

/** The user's comment (GECOS on Linux, RealName on macOS): the mark that a user is this claw's. */
export const clawUserComment = (clawId: string) => `Claws claw ${clawId}`;

/** Drivers touch only names of this shape, never another account. */
export function assertClawUserName(name: string): void {
  if (!CLAW_USER_NAME.test(name))
    throw new IsolationError(
      `Refusing to manage user "${name}": not a claw user (${CLAW_USER_PREFIX}<12 hex>)`,
    );
}

/** Gateways run as the agent itself: nothing to create, nothing to remove. */
export const noIsolation: ClawIsolation = {
  kind: 'none',
  separateUsers: false,
  ensureUser: async () => agentUser(),
  findUser: async () => agentUser(),
  processesOf: async () => [],
  removeUser: async () => {},
};

function agentUser(): ClawUser {
  return { name: os.userInfo().username, uid: process.getuid?.() ?? -1, gid: process.getgid?.() ?? -1 };
}

/**
 * Ends every process of a claw's user: each round stops them all (SIGSTOP, so none forks while we
 * look) and then kills them, until a look finds none. Throws when some survive `timeoutMs`.
 */
export async function killUserProcesses(
  isolation: ClawIsolation,
  user: ClawUser,
  timeoutMs = 5000,
): Promise<number> {
  if (!isolation.separateUsers) return 0;
  const deadline = Date.now() + timeoutMs;
  let killed = 0;
  for (;;) {
    const pids = await isolation.processesOf(user);
    if (pids.length === 0) return killed;
    if (Date.now() > deadline)
      throw new IsolationError(`Processes of ${user.name} survived SIGKILL: ${pids.slice(0, 10).join(', ')}`);
    for (const signal of ['SIGSTOP', 'SIGKILL'] as const)
      for (const pid of pids) {
        try {
          process.kill(pid, signal);
        } catch {
          /* gone already */
        }
      }
    killed += pids.length;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs calls one at a time: user databases do not like two writers (uid allocation, /etc/passwd's lock). */
export function serialized(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>) => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}
