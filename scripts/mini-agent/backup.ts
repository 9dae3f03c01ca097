import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { BackupClawRequest, RefusalCode, RestoreClawRequest } from '../../server/fleet/agent-api';
import type { Logger } from '../../server/log';
import { GatewayBackupError, gatewayBackupRunner, type GatewayBackupRunner } from './gateway-backup';
import type { GatewayLaunchSpec } from './launch-spec';
import { activateRestored, RestoreLayoutError, restoredLayout } from './restore-layout';
import { describeUrl, downloadFile, TooLargeError, TransferError, uploadFile } from './transfer';

/**
 * Durable claws, the agent's half: a claw's backup is its gateway's own archive (gateway-backup.ts)
 * uploaded to a presigned PUT; its restore downloads one from a presigned GET, checks it three
 * times (size, sha256, the gateway's verify), and only then stops the gateway, extracts it and
 * swaps it in (restore-layout.ts). Everything happens in a fresh work directory under the claw's
 * tmp/ (the claw's user must write there: the gateway's commands run as it), removed at the end.
 * The caller serializes operations per claw.
 */

export class BackupFailure extends Error {
  override name = 'BackupFailure';
  constructor(
    /** 422: this backup will not restore; 502: the object store failed us; 500: the agent or gateway did. */
    readonly status: 422 | 500 | 502,
    message: string,
    readonly code?: RefusalCode,
  ) {
    super(message);
  }
}

export interface ClawBackupContext {
  clawId: string;
  /** The configured gateway program, as the launch spec takes it. */
  gatewayCommand: readonly string[];
  /** The claw's launch spec, with its user: the commands run exactly as its gateway does. */
  spec: GatewayLaunchSpec;
  /** Never in a message: the claw's gateway token, its model key. */
  secrets: readonly string[];
  log: Logger;
  /** Idle timeout of an upload or download, and the limit of each gateway command. */
  timeoutMs?: number;
}

/** Stops the claw's gateway if it runs (resolving whether it did), and starts it again. */
export interface GatewayControl {
  pause(): Promise<boolean>;
  resume(): void;
}

export interface BackupOutcome {
  bytes: number;
  sha256: string;
  createdAt: string;
}

const DEFAULT_TIMEOUT_MS = 10 * 60_000;

const invalid = (message: string) => new BackupFailure(422, message, 'backup_invalid');

export async function backupClaw(ctx: ClawBackupContext, req: BackupClawRequest): Promise<BackupOutcome> {
  const timeoutMs = ctx.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const work = workDir(ctx.spec, 'backup', req.backupId);
  try {
    const created = await runner({ ...ctx, spec: withRedactedConfig(ctx, work) })
      .create(work)
      .catch((err: unknown) => {
        throw gatewayFailure(err, 500);
      });
    const archive = archiveIn(work, created.archivePath);
    const sent = await uploadFile(archive, req.upload, timeoutMs).catch((err: unknown) => {
      if (err instanceof TransferError) throw new BackupFailure(502, `Backup not stored: ${err.message}`);
      throw err;
    });
    ctx.log.info('backup uploaded', {
      backupId: req.backupId,
      bytes: sent.bytes,
      to: describeUrl(req.upload.url),
    });
    return { ...sent, createdAt: new Date(created.createdAt).toISOString() };
  } finally {
    removeWorkDir(work, ctx.log);
  }
}

/**
 * Restores `req`'s backup as the claw's state. Every check comes before the gateway is stopped;
 * once it is, whatever happens it is started again (if it ran), on the old state unless the swap
 * went through.
 */
export async function restoreClaw(
  ctx: ClawBackupContext,
  req: RestoreClawRequest,
  gateway: GatewayControl,
): Promise<void> {
  const timeoutMs = ctx.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const work = workDir(ctx.spec, 'restore', req.backupId);
  try {
    const archive = path.join(work, 'backup.tar.gz');
    const got = await downloadFile(req.download, archive, req.bytes, timeoutMs).catch((err: unknown) => {
      if (err instanceof TransferError)
        // The store answered with the object (too much of it): it is not the backup promised.
        throw err instanceof TooLargeError
          ? invalid(`Backup ${req.backupId} is larger than its ${req.bytes} bytes`)
          : new BackupFailure(502, `Backup not fetched: ${err.message}`);
      throw err;
    });
    if (got.bytes !== req.bytes)
      throw invalid(`Backup ${req.backupId} has ${got.bytes} bytes, not the ${req.bytes} expected`);
    if (got.sha256 !== req.sha256)
      throw invalid(`Backup ${req.backupId} does not have the expected sha256 (got ${got.sha256})`);
    const owner = ownerOf(ctx.spec);
    if (owner) fs.lchownSync(archive, owner.uid, owner.gid);
    const commands = runner(ctx);
    await commands.verify(archive).catch((err: unknown) => {
      throw gatewayFailure(err, 422);
    });

    const wasRunning = await gateway.pause();
    try {
      const target = path.join(work, 'restored');
      const restored = await commands.restore(archive, target).catch((err: unknown) => {
        throw gatewayFailure(err, 422);
      });
      let layout;
      try {
        layout = restoredLayout(target, restored.archiveRoot);
      } catch (err) {
        if (err instanceof RestoreLayoutError) throw invalid(`Backup ${req.backupId}: ${err.message}`);
        throw err;
      }
      activateRestored(ctx.spec.dirs, layout, work, owner);
      ctx.log.info('backup restored', { backupId: req.backupId, bytes: got.bytes, restart: wasRunning });
    } finally {
      if (wasRunning) gateway.resume();
    }
  } finally {
    removeWorkDir(work, ctx.log);
  }
}

/**
 * The spec the backup command runs with: the claw's config with its secrets (gateway token, model
 * key) replaced, so no archive in a bucket carries them. Nothing reads them back from a backup:
 * the agent writes the real config before every start, and a restore leaves it alone.
 */
function withRedactedConfig(ctx: ClawBackupContext, work: string): GatewayLaunchSpec {
  const source = ctx.spec.env.OPENCLAW_CONFIG_PATH;
  if (!source || !fs.existsSync(source)) return ctx.spec;
  const redact = (v: unknown): unknown => {
    if (typeof v === 'string') return ctx.secrets.some((s) => s.length >= 4 && v.includes(s)) ? REDACTED : v;
    if (Array.isArray(v)) return v.map(redact);
    if (v && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redact(x)]));
    return v;
  };
  const file = path.join(work, 'openclaw.json');
  fs.writeFileSync(file, JSON.stringify(redact(JSON.parse(fs.readFileSync(source, 'utf8'))), null, 2), {
    mode: 0o600,
  });
  const owner = ownerOf(ctx.spec);
  if (owner) fs.lchownSync(file, owner.uid, owner.gid);
  return { ...ctx.spec, env: { ...ctx.spec.env, OPENCLAW_CONFIG_PATH: file } };
}
const REDACTED = 'redacted-by-claws';

function runner(ctx: ClawBackupContext): GatewayBackupRunner {
  return gatewayBackupRunner(ctx.gatewayCommand, ctx.spec, {
    timeoutMs: ctx.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    secrets: ctx.secrets,
  });
}

/** A command that ran and refused is the backup's fault (422 on restore); one that could not run is ours. */
function gatewayFailure(err: unknown, refusedStatus: 422 | 500): unknown {
  if (!(err instanceof GatewayBackupError)) return err;
  if (err.refused && refusedStatus === 422) return invalid(err.message);
  return new BackupFailure(500, err.message);
}

const ownerOf = (spec: GatewayLaunchSpec) =>
  spec.uid !== undefined && spec.gid !== undefined ? { uid: spec.uid, gid: spec.gid } : undefined;

/**
 * A fresh directory for one operation in the claw's tmp/, the claw user's own (0700) like the rest
 * of its directories: its commands write the archive or the extracted tree there.
 */
function workDir(spec: GatewayLaunchSpec, kind: 'backup' | 'restore', backupId: string): string {
  const owner = ownerOf(spec);
  const make = (dir: string) => {
    fs.mkdirSync(dir, { mode: 0o700 });
    if (owner) fs.lchownSync(dir, owner.uid, owner.gid);
  };
  if (!fs.existsSync(spec.dirs.tmp)) make(spec.dirs.tmp);
  const dir = path.join(spec.dirs.tmp, `claws-${kind}-${backupId}-${randomBytes(4).toString('hex')}`);
  make(dir);
  return dir;
}

function removeWorkDir(dir: string, log: Logger): void {
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch (err) {
    log.warn('cannot remove a backup work directory', { dir, error: String(err) });
  }
}

/** The archive the gateway says it wrote: a regular file directly in `work`, reached through no link. */
function archiveIn(work: string, archivePath: string): string {
  const file = path.resolve(work, archivePath);
  const st = fs.lstatSync(file, { throwIfNoEntry: false });
  if (!st?.isFile() || fs.realpathSync(path.dirname(file)) !== fs.realpathSync(work))
    throw new BackupFailure(500, `The gateway's backup is not a file in its output directory`);
  return file;
}
