import { spawn } from 'node:child_process';
import { z } from 'zod';
import type { GatewayLaunchSpec } from './launch-spec';

/**
 * The gateway program's own backup commands, run as the claw's user with the claw's launch
 * environment (so they see the state, config and workspace the gateway sees), and their `--json`
 * answers. OpenClaw's (docs/cli/backup.md), verified against 2026.9.6:
 *
 *   backup create --verify --json --output DIR
 *     → {createdAt, archiveRoot, archivePath, verified, assets: [{kind, sourcePath, archivePath}], …}
 *   backup verify ARCHIVE --json   → {ok: true, archiveRoot, createdAt, assetCount, entryCount, …}
 *   backup restore ARCHIVE --target DIR --json → {ok: true, archiveRoot, targetPath, warnings, …}
 *   any failure: exit 1 and {ok: false, error: {type, message}}
 *
 * The archive is a .tar.gz of `<archiveRoot>/manifest.json` and
 * `<archiveRoot>/payload/posix/<absolute source path>/…`; a restore extracts exactly that under
 * the target. The dev gateway (scripts/dev-gateway/backup.ts) answers in the same shapes. The
 * gateway captures its SQLite databases online itself: the agent never copies live state files.
 */

/** One source the archive holds: the state directory, a workspace, the config file, … */
export const BackupAsset = z
  .object({
    kind: z.string().min(1),
    sourcePath: z.string().min(1),
    archivePath: z.string().min(1),
  })
  .loose();
export type BackupAsset = z.infer<typeof BackupAsset>;

export const BackupCreated = z
  .object({
    createdAt: z.iso.datetime({ offset: true }),
    archiveRoot: z.string().min(1),
    archivePath: z.string().min(1),
    verified: z.boolean().optional(),
    assets: z.array(BackupAsset),
  })
  .loose();
export type BackupCreated = z.infer<typeof BackupCreated>;

export const BackupVerified = z.object({ ok: z.literal(true), archiveRoot: z.string().min(1) }).loose();

export const BackupRestored = z
  .object({ ok: z.literal(true), archiveRoot: z.string().min(1), targetPath: z.string().min(1) })
  .loose();
export type BackupRestored = z.infer<typeof BackupRestored>;

/** `manifest.json` at the archive root (schema version 1). */
export const BackupManifest = z
  .object({
    schemaVersion: z.literal(1),
    archiveRoot: z.string().min(1),
    createdAt: z.string(),
    assets: z.array(BackupAsset),
  })
  .loose();
export type BackupManifest = z.infer<typeof BackupManifest>;

const Failure = z.object({ ok: z.literal(false), error: z.object({ message: z.string() }).loose() }).loose();

export class GatewayBackupError extends Error {
  override name = 'GatewayBackupError';
  constructor(
    message: string,
    /** The command ran and refused (exit ≠ 0 or ok:false), as opposed to not running at all. */
    readonly refused: boolean,
  ) {
    super(message);
  }
}

const MAX_OUTPUT = 4 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 10 * 60_000;

export interface GatewayBackupRunner {
  create(outputDir: string): Promise<BackupCreated>;
  verify(archive: string): Promise<void>;
  restore(archive: string, target: string): Promise<BackupRestored>;
}

/**
 * The three commands for a claw: `gatewayCommand` is the configured gateway program (the launch
 * spec appends `gateway run …` to it; these append `backup …` instead), `spec` the claw's launch
 * spec (user, environment, working directory).
 */
export function gatewayBackupRunner(
  gatewayCommand: readonly string[],
  spec: GatewayLaunchSpec,
  opts: { timeoutMs?: number; secrets?: readonly string[] } = {},
): GatewayBackupRunner {
  const run = <T extends z.ZodType>(args: string[], schema: T) =>
    runJson(gatewayCommand, spec, args, schema, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, opts.secrets ?? []);
  return {
    create: (outputDir) =>
      run(['backup', 'create', '--verify', '--json', '--output', outputDir], BackupCreated),
    verify: async (archive) => {
      await run(['backup', 'verify', archive, '--json'], BackupVerified);
    },
    restore: (archive, target) =>
      run(['backup', 'restore', archive, '--target', target, '--json'], BackupRestored),
  };
}

async function runJson<T extends z.ZodType>(
  gatewayCommand: readonly string[],
  spec: GatewayLaunchSpec,
  args: string[],
  schema: T,
  timeoutMs: number,
  secrets: readonly string[],
): Promise<z.infer<T>> {
  const [program, ...prefix] = gatewayCommand;
  if (!program) throw new GatewayBackupError('The gateway command is empty', false);
  const what = `backup ${args[1]}`;
  const redact = (text: string) =>
    secrets.reduce((t, s) => (s.length >= 4 ? t.split(s).join('[redacted]') : t), text);
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawn(program, [...prefix, ...args], {
        cwd: spec.cwd,
        env: spec.env as NodeJS.ProcessEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
        ...(spec.uid !== undefined && spec.gid !== undefined ? { uid: spec.uid, gid: spec.gid } : {}),
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => {
        if (out.length < MAX_OUTPUT) out += d.toString('utf8');
      });
      child.stderr.on('data', (d: Buffer) => (err = (err + d.toString('utf8')).slice(-4000)));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(new GatewayBackupError(`Cannot run the gateway's ${what}: ${e.message}`, false));
      });
      child.once('close', (c, signal) => {
        clearTimeout(timer);
        if (signal === 'SIGKILL' && c === null)
          reject(new GatewayBackupError(`The gateway's ${what} timed out after ${timeoutMs} ms`, false));
        else resolve({ code: c, stdout: out, stderr: err });
      });
    },
  );
  const json = parseJsonOutput(stdout);
  const failed = Failure.safeParse(json);
  if (failed.success)
    throw new GatewayBackupError(`The gateway's ${what} refused: ${redact(failed.data.error.message)}`, true);
  if (code !== 0)
    throw new GatewayBackupError(
      `The gateway's ${what} failed (exit ${code}): ${redact(lastLines(stderr || stdout))}`,
      true,
    );
  const parsed = schema.safeParse(json);
  if (!parsed.success)
    throw new GatewayBackupError(
      `The gateway's ${what} answered an unexpected shape: ${parsed.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.') || 'output'}: ${i.message}`)
        .join('; ')}`,
      false,
    );
  return parsed.data;
}

/** The JSON document on stdout; a CLI may print a line or two before it, which is skipped. */
export function parseJsonOutput(stdout: string): unknown {
  const text = stdout.trim();
  for (const m of text.matchAll(/(^|\n)\{/g)) {
    try {
      return JSON.parse(text.slice(m.index + m[1]!.length)) as unknown;
    } catch {
      /* not here; try the next line that opens an object */
    }
  }
  return undefined;
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' | ').slice(-400);
}
