import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Whether a claw's user can reach a path. Claw users own nothing outside their own directory and
 * are in no group but their own, so only the "others" permission bits count: every directory on the
 * way needs o+x, the file itself o+r (and o+x to be executed). ACLs are not read, so a path an ACL
 * opens is reported closed; that errs on the side of saying so.
 */

export type Need = 'traverse' | 'read' | 'execute';

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0');

/** Why others cannot reach `target`, or undefined when they can (or it does not exist: `missing`). */
export function closedToOthers(target: string, need: Need): string | undefined {
  let real: string;
  try {
    real = fs.realpathSync(target);
  } catch {
    return `${target} does not exist`;
  }
  const parts = real.split(path.sep).filter(Boolean);
  let dir: string = path.sep;
  for (const part of parts.slice(0, -1)) {
    dir = path.join(dir, part);
    const mode = fs.statSync(dir).mode;
    if (!(mode & 0o001)) return `${dir} is ${octal(mode)}: other users cannot enter it`;
  }
  const st = fs.statSync(real);
  const bits = { traverse: 0o001, read: st.isDirectory() ? 0o005 : 0o004, execute: 0o005 }[need];
  if ((st.mode & bits) !== bits)
    return `${real} is ${octal(st.mode)}: other users cannot ${need === 'traverse' ? 'enter' : need} it`;
  return undefined;
}

/**
 * The files a gateway command runs from, each with what a claw's user needs of it: the program
 * (found on PATH when it is a bare name) to execute, and every argument that names an existing
 * absolute path or file: URL (a script, a loader) to read.
 */
export function gatewayCommandFiles(
  command: readonly string[],
  envPath = process.env.PATH ?? '',
): { file: string; need: Need }[] {
  const [program, ...args] = command;
  if (!program) return [];
  const files: { file: string; need: Need }[] = [];
  const exe = program.includes('/')
    ? program
    : envPath
        .split(':')
        .filter(Boolean)
        .map((d) => path.join(d, program))
        .find((p) => fs.existsSync(p));
  if (exe) files.push({ file: exe, need: 'execute' });
  for (const arg of args) {
    let file: string | undefined;
    if (arg.startsWith('file:')) {
      try {
        file = fileURLToPath(arg);
      } catch {
        file = undefined;
      }
    } else if (path.isAbsolute(arg)) file = arg;
    if (file && fs.existsSync(file)) files.push({ file, need: 'read' });
  }
  return files;
}

/** What keeps a claw's user from running the gateway command; empty when nothing does. */
export function gatewayCommandClosedToOthers(command: readonly string[], envPath?: string): string[] {
  const reasons = gatewayCommandFiles(command, envPath).flatMap(({ file, need }) => {
    const why = closedToOthers(file, need);
    return why ? [why] : [];
  });
  return [...new Set(reasons)]; // two files under one closed directory: one reason
}
