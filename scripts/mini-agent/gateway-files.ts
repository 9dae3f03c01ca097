import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { GatewayLaunchSpec } from './launch-spec';

/**
 * The file side of a launch spec: the claw's directories with their owners and modes, the gateway's
 * config and its log. With a claw user (the spec has uid/gid), the claw's directory itself and the
 * two files in it belong to the agent with the claw's group: the claw can read them but cannot
 * rename, replace or symlink anything there, so the agent (root) never writes through a path the
 * claw controls. Its own directories inside are the claw's, 0700.
 */

const MAX_LOG_BYTES = 5 * 1024 * 1024;
const agentUid = () => process.getuid?.() ?? 0;

const claw = (spec: GatewayLaunchSpec) =>
  spec.uid !== undefined && spec.gid !== undefined ? { uid: spec.uid, gid: spec.gid } : undefined;

/** Creates the claw's directories and writes its openclaw.json, before every start. */
export function prepareGatewayFiles(spec: GatewayLaunchSpec): void {
  const owner = claw(spec);
  const { root, ...own } = spec.dirs;
  fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  assertRealDirectory(root);
  if (owner) fs.chownSync(root, agentUid(), owner.gid);
  fs.chmodSync(root, owner ? 0o750 : 0o700);
  for (const dir of Object.values(own)) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    assertRealDirectory(dir);
    if (owner) adoptTree(dir, owner.uid, owner.gid);
    fs.chmodSync(dir, 0o700);
  }
  writeConfig(spec.config.file, spec.config.content, owner?.gid);
}

/**
 * Opens the gateway's log for appending, after moving a log grown too large to `<log>.1`. The agent
 * owns it; the gateway writes through the descriptor it inherits.
 */
export function openGatewayLog(spec: GatewayLaunchSpec): number {
  const owner = claw(spec);
  rotateLog(spec.logFile);
  const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW } = fs.constants;
  const fd = fs.openSync(spec.logFile, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o600);
  try {
    if (owner) fs.fchownSync(fd, agentUid(), owner.gid);
    fs.fchmodSync(fd, owner ? 0o640 : 0o600);
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  return fd;
}

/** Deletes the claw's directory and everything in it (once nothing of the claw runs any more). */
export function removeGatewayFiles(clawDir: string): void {
  fs.rmSync(clawDir, { recursive: true, force: true });
}

function assertRealDirectory(dir: string): void {
  const st = fs.lstatSync(dir);
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
}

/** Written whole and atomically: temp file, owner and mode, fsync, rename. */
function writeConfig(file: string, content: Record<string, unknown>, gid: number | undefined): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    fs.writeSync(fd, JSON.stringify(content, null, 2) + '\n');
    if (gid !== undefined) fs.fchownSync(fd, agentUid(), gid);
    fs.fchmodSync(fd, gid !== undefined ? 0o640 : 0o600);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Gives a claw's directory to its user when someone else owns it: a claw that ran before under
 * `--isolation none`, or whose user was made again with another uid. Symlinks are re-owned, never
 * followed; a file with several hard links is left alone, since its other name may be anyone's.
 */
function adoptTree(dir: string, uid: number, gid: number): void {
  const st = fs.lstatSync(dir);
  if (st.uid === uid && st.gid === gid) return;
  const walk = (p: string) => {
    const s = fs.lstatSync(p);
    if (s.isDirectory()) for (const entry of fs.readdirSync(p)) walk(path.join(p, entry));
    if (!s.isDirectory() && !s.isSymbolicLink() && s.nlink > 1) return;
    fs.lchownSync(p, uid, gid);
  };
  walk(dir);
}

function rotateLog(file: string): void {
  try {
    if (fs.lstatSync(file).size > MAX_LOG_BYTES) fs.renameSync(file, `${file}.1`);
  } catch {
    /* no log yet */
  }
}
