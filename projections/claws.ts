import { sql, type Kysely, type RawBuilder, type Selectable } from 'kysely';
import type { ClawsTable, Database } from '../db/types';
import { clawStream, evolveClaw, type ClawState } from '../events/claw';
import { rowProjection } from '../events/row-projection';

/**
 * The `claws` read model: one row per claw holding its lifecycle state (events/claw.ts), kept
 * inline by every claw event; then every query of it. Nothing else reads or writes the table.
 */

type ClawRow = Selectable<ClawsTable>;

export function clawToRow(s: ClawState): ClawRow {
  return {
    id: s.id,
    org_id: s.orgId,
    slug: s.slug,
    name: s.name,
    status: s.status,
    target: s.target,
    mini_id: s.miniId,
    mini_port: s.miniPort,
    tunnel_hostname: s.tunnelHostname,
    bucket: s.bucket,
    last_error: s.lastError,
    version: s.version,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
    active_at: s.activeAt,
    started_at: s.startedAt,
    agent_running: s.agentRunning,
    gateway_may_run: s.gatewayMayRun,
    paired_device_id: s.pairedDeviceId,
    attempts: s.attempts,
    failed_step: s.failedStep,
    retry_at: s.retryAt,
    warmup_ms: s.warmupMs,
    work_pending: s.workPending,
    last_backup_at: s.lastBackupAt,
    restore_backup_id: s.restoreBackupId,
    restore_resumes: s.restoreResumes,
    last_exit_at: s.lastExitAt,
  };
}

export function rowToClaw(r: ClawRow): ClawState {
  return {
    id: r.id,
    orgId: r.org_id,
    slug: r.slug,
    name: r.name,
    status: r.status,
    target: r.target,
    miniId: r.mini_id,
    miniPort: r.mini_port,
    tunnelHostname: r.tunnel_hostname,
    bucket: r.bucket,
    lastError: r.last_error,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    activeAt: r.active_at,
    startedAt: r.started_at,
    agentRunning: r.agent_running,
    gatewayMayRun: r.gateway_may_run,
    pairedDeviceId: r.paired_device_id,
    attempts: r.attempts,
    failedStep: r.failed_step,
    retryAt: r.retry_at,
    warmupMs: r.warmup_ms,
    workPending: r.work_pending,
    lastBackupAt: r.last_backup_at,
    restoreBackupId: r.restore_backup_id,
    restoreResumes: r.restore_resumes,
    lastExitAt: r.last_exit_at,
  };
}

export const clawsProjection = rowProjection({
  name: 'claws',
  stream: clawStream,
  table: 'claws',
  evolve: evolveClaw,
  toRow: clawToRow,
  load: async (db, id) => {
    const row = await db.selectFrom('claws').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? rowToClaw(row) : null;
  },
  conflicts: {
    // The allocator's safety net: a port on a Mini belongs to at most one claw that holds it.
    claws_live_port: { conflict: 'port_taken', message: 'That port is already allocated on this Mini' },
    claws_live_slug: {
      conflict: 'slug_taken',
      message: 'A claw with this slug already exists in the organization',
    },
  },
});

// ─── Queries ───────────────────────────────────────────────────────────────────────────────────

type Db = Kysely<Database>;
const live = (db: Db) => db.selectFrom('claws').selectAll().where('status', '<>', 'deleted');

/** The organization's claw with this slug, unless it was deleted (slugs are unique among live claws). */
export async function liveClawBySlug(db: Db, orgId: string, slug: string): Promise<ClawState | null> {
  const row = await live(db).where('org_id', '=', orgId).where('slug', '=', slug).executeTakeFirst();
  return row ? rowToClaw(row) : null;
}

/** The organization's live claws, newest first (every organization when `orgId` is null). */
export async function liveClaws(db: Db, orgId: string | null): Promise<ClawState[]> {
  let q = live(db);
  if (orgId !== null) q = q.where('org_id', '=', orgId);
  return (await q.orderBy('created_at', 'desc').execute()).map(rowToClaw);
}

/** These claws of the organization, in any state (the live feed's changed claws). */
export async function clawsOfOrg(db: Db, orgId: string, ids: readonly string[]): Promise<ClawState[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .selectFrom('claws')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('id', 'in', [...ids])
    .execute();
  return rows.map(rowToClaw);
}

/** The ports claws hold on a Mini (the allocator's and a range change's view of it). */
export async function portsInUse(db: Db, miniId: string): Promise<number[]> {
  const rows = await db
    .selectFrom('claws')
    .select('mini_port')
    .where('mini_id', '=', miniId)
    .where('mini_port', 'is not', null)
    .execute();
  return rows.map((r) => r.mini_port!);
}

/**
 * Claws whose gateway may run on this Mini, in any status (the reconciler compares them with what
 * the Mini's agent runs).
 */
export async function clawsOnMini(db: Db, miniId: string): Promise<ClawState[]> {
  const rows = await db
    .selectFrom('claws')
    .selectAll()
    .where('mini_id', '=', miniId)
    .where('gateway_may_run', '=', true)
    .execute();
  return rows.map(rowToClaw);
}

/** Every port held on every Mini, by port (the fleet page). */
export async function allocations(
  db: Db,
): Promise<{ miniId: string; port: number; clawId: string; clawSlug: string }[]> {
  const rows = await db
    .selectFrom('claws')
    .select(['mini_id', 'mini_port', 'slug', 'id'])
    .where('mini_port', 'is not', null)
    .orderBy('mini_port')
    .execute();
  return rows.map((r) => ({ miniId: r.mini_id!, port: r.mini_port!, clawId: r.id, clawSlug: r.slug }));
}

/**
 * The work queue: claws the worker has a step due for, oldest change first, row-locked so two
 * claimers skip each other's. `unclaimed` adds the claimer's own condition (no live lease).
 */
export function dueClaws(db: Db, now: Date, limit: number, unclaimed: RawBuilder<boolean>) {
  return db
    .selectFrom('claws as c')
    .select('c.id')
    .where('c.work_pending', '=', true)
    .where((eb) => eb.or([eb('c.retry_at', 'is', null), eb('c.retry_at', '<=', now)]))
    .where(unclaimed)
    .orderBy('c.updated_at')
    .limit(limit)
    .forUpdate('c')
    .skipLocked();
}

/**
 * Running claws whose newest backup was taken before `takenBefore` (or never), the most overdue
 * first: the backup scheduler's queue.
 */
export async function clawsDueForBackup(db: Db, takenBefore: Date, limit: number): Promise<ClawState[]> {
  const rows = await db
    .selectFrom('claws')
    .selectAll()
    .where('status', 'in', ['active', 'degraded'])
    .where('bucket', 'is not', null)
    .where('mini_id', 'is not', null)
    .where((eb) => eb.or([eb('last_backup_at', 'is', null), eb('last_backup_at', '<', takenBefore)]))
    .orderBy(sql`coalesce(last_backup_at, active_at)`)
    .limit(limit)
    .execute();
  return rows.map(rowToClaw);
}
