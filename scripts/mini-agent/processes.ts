import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

/** Process and port facts the supervisor needs, on Linux (/proc) and macOS (ps). */

/** Whether `pid` is a live process; a zombie (exited, not yet reaped by whoever adopted it) is not. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch (err) {
    // No /proc here (macOS): kill(0) is all we have. ENOENT with /proc: it died just now.
    return !((err as NodeJS.ErrnoException).code === 'ENOENT' && fs.existsSync('/proc/self'));
  }
}

/** The argv of a running process, or null when it is gone or unreadable. */
export async function processArgv(pid: number): Promise<string[] | null> {
  try {
    const raw = await fs.promises.readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((a, i, all) => a !== '' || i < all.length - 1);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || fs.existsSync('/proc/self')) return null;
  }
  // No /proc (macOS): ps gives the command line joined by spaces; good enough to match on.
  return new Promise((resolve) => {
    execFile('ps', ['-o', 'command=', '-p', String(pid)], { timeout: 3000 }, (err, stdout) =>
      resolve(err || !stdout.trim() ? null : stdout.trim().split(/\s+/)),
    );
  });
}

/** Whether something already listens on 127.0.0.1:port (we cannot bind it). */
export function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', (err: NodeJS.ErrnoException) =>
      resolve(err.code === 'EADDRINUSE' || err.code === 'EACCES'),
    );
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(false)));
  });
}

/** Signals a gateway's whole process group (it runs detached as its own group leader). */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/** SIGKILL to whatever is left in a dead leader's process group; never to a lone pid. */
export function killGroupOnly(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* the group is empty */
  }
}

/** Resolves once `pid` is gone; stops watching (without resolving) when `signal` aborts. */
export function waitForPidExit(pid: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (signal.aborted) return;
      if (!isAlive(pid)) return resolve();
      setTimeout(check, 50).unref();
    };
    check();
  });
}

/** Last `bytes` of a file, for error messages about a crashed gateway. */
export function tail(file: string, bytes = 600): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const len = Math.min(bytes, size);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, size - len);
      const text = buf.toString('utf8');
      return (len < size ? text.replace(/^[^\n]*\n/, '') : text).trim();
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

/**
 * Real, effective, saved and filesystem uid of a live process (Linux, /proc), or its uid and real
 * uid (macOS, ps); null when it is gone or unreadable.
 */
export async function processUids(pid: number): Promise<number[] | null> {
  try {
    return uidsOfStatus(await fs.promises.readFile(`/proc/${pid}/status`, 'utf8'))?.uids ?? null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || fs.existsSync('/proc/self')) return null;
  }
  return new Promise((resolve) => {
    execFile('ps', ['-o', 'uid=,ruid=', '-p', String(pid)], { timeout: 3000 }, (err, stdout) => {
      const ids = stdout.trim().split(/\s+/).map(Number);
      resolve(err || ids.length < 2 || ids.some((n) => !Number.isInteger(n)) ? null : ids);
    });
  });
}

/** The uids and whether the process is a zombie, from a /proc/<pid>/status text. */
export function uidsOfStatus(status: string): { uids: number[]; zombie: boolean } | undefined {
  const uid = /^Uid:\s+(.+)$/m.exec(status);
  if (!uid) return undefined;
  return { uids: uid[1]!.trim().split(/\s+/).map(Number), zombie: /^State:\s+Z/m.test(status) };
}

/**
 * Every live process of which any uid is `uid` (Linux): what a claw's user runs, whatever process
 * group or session it put itself in. Zombies are left out: they are dead and cannot be signalled.
 */
export async function procPidsOfUid(uid: number): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await fs.promises.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let status: string;
    try {
      status = await fs.promises.readFile(`/proc/${entry}/status`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    const facts = uidsOfStatus(status);
    if (facts && !facts.zombie && facts.uids.includes(uid)) pids.push(Number(entry));
  }
  return pids;
}
