import { execFile } from 'node:child_process';

/**
 * How the agent runs the system's own tools (useradd, dscl, ps, cloudflared --version): argv only,
 * never a shell, with a timeout. Drivers and checks take a runner, so their unit tests hand them a
 * fake one and see exactly which commands they would run.
 */

export interface CommandResult {
  /** Exit code; -1 when the program could not be started (ENOENT) or timed out. */
  code: number;
  stdout: string;
  stderr: string;
}

export type CommandRunner = (program: string, args: readonly string[]) => Promise<CommandResult>;

/** The system's user tools live in sbin, which a service's PATH may lack; C for parseable output. */
const commandEnv: Record<string, string> = {
  PATH: `${process.env.PATH ?? '/usr/bin:/bin'}:/usr/sbin:/sbin`,
  LC_ALL: 'C',
};

export const runCommand: CommandRunner = (program, args) =>
  new Promise((resolve) => {
    execFile(
      program,
      [...args],
      {
        timeout: 30_000,
        maxBuffer: 4 * 1024 * 1024,
        // Next's types declare NODE_ENV required in ProcessEnv; these commands need not have it.
        env: commandEnv as NodeJS.ProcessEnv,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout: String(stdout), stderr: err && !stderr ? err.message : String(stderr) });
      },
    );
  });

export class CommandError extends Error {
  override name = 'CommandError';
  constructor(
    readonly program: string,
    readonly args: readonly string[],
    readonly result: CommandResult,
  ) {
    super(`${program} ${args.join(' ')} failed (exit ${result.code}): ${result.stderr.trim().slice(0, 300)}`);
  }
}

/** Runs a command that must succeed; its stdout. */
export async function mustRun(run: CommandRunner, program: string, args: readonly string[]): Promise<string> {
  const r = await run(program, args);
  if (r.code !== 0) throw new CommandError(program, args, r);
  return r.stdout;
}
