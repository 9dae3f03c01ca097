import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { BackupKind } from '../../db/types';
import {
  decideBackup,
  decideRestore,
  decideRetention,
  type ClawEvent,
  type ClawState,
  type RetentionPolicy,
} from '../../events/claw';
import { notFound } from '../../events/errors';
import type { MiniState } from '../../events/mini';
import type { EventStore } from '../../events/store';
import type { EventMetadata } from '../../events/types';
import { backupById, backupsOfClaw, type ClawBackup } from '../../projections/claw-backups';
import { clawsProjection } from '../../projections/claws';
import { minisProjection } from '../../projections/minis';
import type { BucketStore, PresignedRequest } from '../buckets';
import type { Config } from '../config';
import { asFailure } from '../failure';
import { metaOf, requester, type CommandContext } from './commands';

/**
 * A claw's backups: the Mini's agent archives the gateway's state with the gateway's own command
 * and uploads it to a presigned URL into the claw's bucket (the Mini never holds bucket
 * credentials); the control plane records what the agent reports, prunes by retention, and hands
 * restores to the worker (the `restoring` status, events/claw.ts).
 */

/** What a Mini's agent does with a claw's state (server/deployment/mac-mini.ts). */
export interface BackupAgent {
  backup(
    claw: ClawState,
    mini: MiniState | null,
    request: { backupId: string; upload: PresignedRequest },
  ): Promise<{ bytes: number; sha256: string; createdAt: string }>;
  restore(
    claw: ClawState,
    mini: MiniState | null,
    request: { backupId: string; download: PresignedRequest; sha256: string; bytes: number },
  ): Promise<void>;
}

export interface BackupDeps {
  store: EventStore;
  buckets: BucketStore;
  agents: BackupAgent;
  retention: RetentionPolicy;
}

/** The fleet's backup retention (config.ts). */
export const retentionOf = (
  cfg: Pick<Config, 'BACKUP_KEEP_LAST' | 'BACKUP_KEEP_DAILY' | 'BACKUP_KEEP_WEEKLY'>,
): RetentionPolicy => ({
  keepLast: cfg.BACKUP_KEEP_LAST,
  keepDaily: cfg.BACKUP_KEEP_DAILY,
  keepWeekly: cfg.BACKUP_KEEP_WEEKLY,
});

/** Presigned URLs live this long: enough to start a transfer (S3 checks expiry when it begins). */
const URL_TTL_SEC = 15 * 60;

/** Where a backup lives in its claw's bucket: sortable by time, unique by id. */
export const backupObjectKey = (backupId: string, at: Date) =>
  `backups/${at.toISOString().replace(/[:.]/g, '-')}-${backupId}.tar.gz`;

export const BackupId = z.uuid();

/**
 * Has the claw's Mini take a backup into the claw's bucket, and says what happened as the event
 * that records it: ClawBackupTaken with what the agent uploaded, or ClawBackupFailed (with the
 * error, which the caller decides about). The caller appends it.
 */
export async function backupOnMini(
  deps: Pick<BackupDeps, 'buckets' | 'agents'>,
  claw: ClawState,
  mini: MiniState | null,
  kind: BackupKind,
  requestedBy: string,
): Promise<{ backupId: string; event: ClawEvent; error?: unknown }> {
  const backupId = randomUUID();
  const objectKey = backupObjectKey(backupId, new Date());
  try {
    if (!claw.bucket) throw notFound('Bucket');
    const upload = await deps.buckets.presignPut(claw.bucket, objectKey, { expiresInSec: URL_TTL_SEC });
    const taken = await deps.agents.backup(claw, mini, { backupId, upload });
    return {
      backupId,
      event: {
        type: 'ClawBackupTaken',
        data: {
          backupId,
          objectKey,
          bytes: taken.bytes,
          sha256: taken.sha256,
          kind,
          takenAt: taken.createdAt,
          requestedBy,
        },
      },
    };
  } catch (error) {
    const message = asFailure(error).message.slice(0, 2000);
    return { backupId, event: { type: 'ClawBackupFailed', data: { backupId, kind, error: message } }, error };
  }
}

/**
 * Takes a backup of the claw now and records it (ClawBackupTaken), then prunes what retention no
 * longer keeps. A failure the agent reported, or an agent that could not be asked, is recorded
 * (ClawBackupFailed) and thrown.
 */
export async function takeBackup(
  deps: BackupDeps,
  meta: EventMetadata,
  clawId: string,
  kind: BackupKind,
): Promise<ClawBackup> {
  const claw = decideBackup(await deps.store.load(clawsProjection, clawId));
  const mini = await deps.store.load(minisProjection, claw.miniId!);
  const { backupId, event, error } = await backupOnMini(deps, claw, mini, kind, requester(meta.actor));
  const r = await deps.store.append(clawsProjection, claw.id, [event], { expected: 'any', meta });
  if (error !== undefined) throw error;
  await pruneBackups(deps, r.state, meta);
  return (await backupById(deps.store.db, backupId))!;
}

/**
 * Deletes from the bucket, and then from the record, the backups retention no longer keeps. An
 * object deleted whose event was then lost is deleted again next time (deleting is idempotent).
 */
export async function pruneBackups(deps: BackupDeps, claw: ClawState, meta: EventMetadata): Promise<number> {
  if (!claw.bucket) return 0;
  const drop = decideRetention(await backupsOfClaw(deps.store.db, claw.id), deps.retention, new Date());
  for (const b of drop) {
    await deps.buckets.deleteObject(claw.bucket, b.objectKey);
    await deps.store.append(
      clawsProjection,
      claw.id,
      [{ type: 'ClawBackupPruned', data: { backupId: b.backupId, objectKey: b.objectKey } }],
      { expected: 'any', meta },
    );
  }
  return drop.length;
}

/** Asks for a restore of one of the claw's backups; the worker does it (restore_backup). */
export async function requestRestore(
  ctx: CommandContext,
  clawId: string,
  backupId: string,
): Promise<ClawState> {
  const claw = z.uuid().safeParse(clawId).success ? await ctx.store.load(clawsProjection, clawId) : null;
  const backup = BackupId.safeParse(backupId).success ? await backupById(ctx.store.db, backupId) : null;
  const events = decideRestore(claw, backup, requester(ctx.actor));
  const r = await ctx.store.append(clawsProjection, claw!.id, events, {
    expected: claw!.version,
    known: claw,
    meta: metaOf(ctx),
  });
  return r.state;
}

/**
 * The worker's restore_backup step: the agent downloads the backup through a presigned URL, checks
 * its size and sha256 and the gateway's own verify, and only then swaps it in.
 */
export async function restoreOnMini(
  deps: Pick<BackupDeps, 'store' | 'buckets' | 'agents'>,
  claw: ClawState,
): Promise<ClawBackup> {
  const backup = claw.restoreBackupId ? await backupById(deps.store.db, claw.restoreBackupId) : null;
  // Its own backup, or (a clone) one of a claw of the same organization, in that claw's bucket.
  const source =
    backup && backup.clawId !== claw.id ? await deps.store.load(clawsProjection, backup.clawId) : claw;
  if (!backup || !source?.bucket || source.orgId !== claw.orgId) throw notFound('Backup');
  const mini = claw.miniId ? await deps.store.load(minisProjection, claw.miniId) : null;
  const download = await deps.buckets.presignGet(source.bucket, backup.objectKey, {
    expiresInSec: URL_TTL_SEC,
  });
  await deps.agents.restore(claw, mini, {
    backupId: backup.backupId,
    download,
    sha256: backup.sha256,
    bytes: backup.bytes,
  });
  return backup;
}

/** What the claw page shows of its backups. */
export interface BackupsView {
  backups: { backupId: string; kind: BackupKind; bytes: number; takenAt: Date }[];
  lastBackupAt: Date | null;
  intervalMs: number;
  /** The newest backup is older than twice the interval (or there is none, for a claw running that long). */
  overdue: boolean;
}

export async function backupsView(
  store: EventStore,
  claw: ClawState,
  intervalMs: number,
  now = new Date(),
): Promise<BackupsView> {
  const backups = await backupsOfClaw(store.db, claw.id);
  const since = claw.lastBackupAt ?? claw.activeAt;
  const running = claw.status === 'active' || claw.status === 'degraded';
  return {
    backups: backups.map((b) => ({ backupId: b.backupId, kind: b.kind, bytes: b.bytes, takenAt: b.takenAt })),
    lastBackupAt: claw.lastBackupAt,
    intervalMs,
    overdue: running && since !== null && now.getTime() - since.getTime() > 2 * intervalMs,
  };
}
