import { z } from 'zod';
import {
  BACKUP_KINDS,
  DEPLOYMENT_TARGETS,
  MODEL_PROVIDERS,
  PROVISIONING_STEPS,
  type ClawStatus,
  type DeploymentTarget,
  type ProvisioningStep,
} from '../db/types';
import { conflict, notFound, preconditionFailed } from './errors';
import { defineStream, type EventsOf } from './stream';
import type { Envelope, Failure } from './types';

/**
 * The life of a claw, top to bottom: 1. its events, 2. its state, 3. how each event moves the
 * state, 4. the decisions commands, the provisioning worker and the reconciler make on that state
 * (pure), and 5. what the worker does next in each state. Everything here is pure; the I/O is in
 * the commands (server/claws/commands.ts), the worker's steps (server/provisioning/steps.ts) and
 * the reconciler (server/fleet/reconciler.ts), which watches claws once they are active.
 *
 * | status         | means                                                   | the worker next                                      | entered by                                       |
 * | -------------- | ------------------------------------------------------- | ---------------------------------------------------- | ------------------------------------------------ |
 * | `requested`    | asked for; no Mini holds it yet                         | allocate                                             | ClawRequested, ClawRetryRequested, PortRefused   |
 * | `provisioning` | holds a port on a Mini; its gateway is being brought up | start_agent → create_bucket → wait_ready             | MiniAllocated                                    |
 * | `active`       | its gateway answers the control plane with chat scopes  | nothing                                              | ClawActive, ClawRecovered                        |
 * | `degraded`     | was active; its gateway is down or its Mini unreachable | nothing (the reconciler restarts it)                 | ClawDegraded                                     |
 * | `stopping`     | stop asked for; its gateway is being stopped            | pause_agent                                          | ClawStopRequested                                |
 * | `stopped`      | its gateway is stopped; port, bucket and files are kept | nothing (ClawStartRequested: provisioning again)     | ClawStopped                                      |
 * | `restoring`    | its Mini is putting one of its backups in place         | restore_backup (then provisioning, or stopped again) | ClawRestoreRequested                             |
 * | `failed`       | provisioning gave up (`lastError` says why)             | stop_agent → release                                 | ProvisioningFailed                               |
 * | `deleting`     | deletion asked for; being taken apart                   | stop_agent → delete_bucket → release → finish_delete | ClawDeletionRequested                            |
 * | `deleted`      | gone: nothing runs, nothing is held                     | nothing                                              | ClawDeleted                                      |
 *
 * A clone (ClawRequested with `cloneOf`) runs restore_backup between create_bucket and wait_ready.
 *
 * A failed step that may be retried appends ProvisioningStepFailed (status unchanged, `retryAt`
 * holds the worker off); a forward step that runs out of attempts, or fails permanently, appends
 * ProvisioningFailed. Compensation (stop, release) after a failure keeps `lastError`.
 *
 * From MiniAllocated on, a gateway may run on the Mini even when no AgentStarted was recorded (the
 * agent may have started it and its reply been lost), so a failed or deleted claw is stopped there
 * before its port is released: `gatewayMayRun` holds until AgentStopped, or GatewayAbandoned when
 * the Mini is lost and nobody can stop it. A port the Mini says another process holds is refused
 * (PortRefused): the claw goes back to `requested` and is placed again at once.
 */
export const CLAW_STATUS_MEANING = {
  requested: 'Asked for; waiting for a Mini with a free slot',
  provisioning: 'Has a port on a Mini; its gateway is starting',
  active: 'Running; its gateway answers with chat access',
  degraded: 'Its gateway is down or unreachable; being restarted',
  stopping: 'Its gateway is being stopped',
  stopped: 'Stopped; its place, files and backup bucket are kept until it starts again',
  restoring: 'One of its backups is being put in place; it starts again once that is done',
  failed: 'Provisioning gave up; see the last error',
  deleting: 'Being deleted: gateway, bucket and port are being released',
  deleted: 'Deleted; nothing runs and nothing is held',
} as const satisfies Record<ClawStatus, string>;

// ─── 1. Events ─────────────────────────────────────────────────────────────────────────────────

const uuid = z.uuid();
const port = z.number().int().min(1).max(65535);
const errorText = z.string().min(1).max(2000);
const step = z.enum(PROVISIONING_STEPS);
const who = z.string().min(1);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const objectKey = z.string().min(1).max(512);

/** Secrets never appear in events; they carry fingerprints of them instead. */
export const clawEventSchemas = {
  ClawRequested: z.object({
    clawId: uuid,
    orgId: uuid,
    slug: z.string().min(1).max(63),
    name: z.string().min(1).max(100),
    target: z.enum(DEPLOYMENT_TARGETS),
    requestedBy: who,
    tokenFingerprint: z.string().min(8).max(64),
    /** A clone: once its gateway first runs, it is restored from this backup of another claw. */
    cloneOf: z.object({ clawId: uuid, backupId: uuid }).optional(),
  }),
  MiniAllocated: z.object({ miniId: uuid, port, tunnelHostname: z.string().min(1).max(253) }),
  AgentStarted: z.object({ miniId: uuid, port }),
  BucketCreated: z.object({ bucket: z.string().min(3).max(63) }),
  GatewayPaired: z.object({ deviceId: z.string().regex(/^[0-9a-f]{64}$/) }),
  ClawActive: z.object({ warmupMs: z.number().int().min(0) }),
  ProvisioningStepFailed: z.object({
    step,
    attempt: z.number().int().min(1),
    error: errorText,
    retryAt: z.iso.datetime({ offset: true }),
  }),
  ProvisioningFailed: z.object({ step, error: errorText }),
  ClawRetryRequested: z.object({ requestedBy: who }),
  ClawDeletionRequested: z.object({ requestedBy: who }),
  /** The reconciler saw an active claw's gateway down (or its Mini unreachable). */
  ClawDegraded: z.object({ reason: errorText }),
  /** …and running again. */
  ClawRecovered: z.object({}),
  /** The Mini's agent refused the port: another process holds it. The allocation is released. */
  PortRefused: z.object({ miniId: uuid, port, reason: errorText }),
  AgentStopped: z.object({ miniId: uuid }),
  /** The Mini is lost: its gateway could not be stopped, and is no longer Claws' to stop. */
  GatewayAbandoned: z.object({ miniId: uuid, reason: errorText }),
  BucketDeleted: z.object({ bucket: z.string().min(3).max(63) }),
  AllocationReleased: z.object({ miniId: uuid, port }),
  ClawDeleted: z.object({}),
  /** The gateway now runs with a new token (the agent restarted it with it); secrets carry fingerprints only. */
  GatewayTokenRotated: z.object({ tokenFingerprint: z.string().min(8).max(64), requestedBy: who }),
  /**
   * The claw's model was set (the key stored encrypted; the event has its fingerprint only);
   * `restarted`: the agent of its running gateway took it and restarts the gateway with it (the
   * reconciler degrades the claw if that gateway does not come back); else it applies at the next start.
   */
  ClawModelSet: z.object({
    provider: z.enum(MODEL_PROVIDERS),
    model: z.string().min(1).max(200),
    baseUrl: z.string().min(1).max(2048),
    keyFingerprint: z.string().min(8).max(64),
    restarted: z.boolean(),
    requestedBy: who,
    /** The organization's default, which the claw inherits (it has no model of its own). */
    inherited: z.boolean().optional(),
  }),
  /** The claw's own model was removed (the organization's default, if any, applies). */
  ClawModelCleared: z.object({ restarted: z.boolean(), requestedBy: who }),
  /**
   * A named secret of the claw was set (the value stored encrypted; the event has its fingerprint);
   * `restarted` as for ClawModelSet.
   */
  ClawSecretSet: z.object({
    name: z.string().min(1).max(128),
    fingerprint: z.string().min(8).max(64),
    restarted: z.boolean(),
    requestedBy: who,
  }),
  /** A named secret of the claw was removed. */
  ClawSecretRemoved: z.object({ name: z.string().min(1).max(128), restarted: z.boolean(), requestedBy: who }),
  /** Stop asked for: the worker has the Mini stop the gateway and keep the claw. */
  ClawStopRequested: z.object({ requestedBy: who }),
  /** The Mini's agent stopped the gateway; the claw keeps its port, bucket and files there. */
  ClawStopped: z.object({}),
  /** Start asked for: the claw goes through start_agent and wait_ready again, on its Mini. */
  ClawStartRequested: z.object({ requestedBy: who }),
  /** The Mini's agent took the restart (a new process, the same state), asked by `requestedBy`. */
  ClawRestarted: z.object({ requestedBy: who }),
  /**
   * The Mini's agent took a backup of the gateway's state with the gateway's own command and
   * uploaded it into the claw's bucket at `objectKey`; `bytes` and `sha256` are of what it uploaded.
   */
  ClawBackupTaken: z.object({
    backupId: uuid,
    objectKey: objectKey,
    bytes: z.number().int().min(0),
    sha256,
    kind: z.enum(BACKUP_KINDS),
    takenAt: z.iso.datetime({ offset: true }),
    requestedBy: who,
  }),
  /** A backup was attempted and did not reach the bucket (nothing of it is listed). */
  ClawBackupFailed: z.object({ backupId: uuid, kind: z.enum(BACKUP_KINDS), error: errorText }),
  /** Retention removed a backup from the bucket. */
  ClawBackupPruned: z.object({ backupId: uuid, objectKey }),
  /** Restore from one of the claw's backups asked for; the worker has its Mini put it in place. */
  ClawRestoreRequested: z.object({ backupId: uuid, requestedBy: who }),
  /** The Mini's agent checked the backup (size, sha256, the gateway's own verify) and put it in place. */
  ClawRestored: z.object({ backupId: uuid, sha256, takenAt: z.iso.datetime({ offset: true }) }),
  /** The restore was given up; the claw kept the state it had (the agent swaps only a verified backup). */
  ClawRestoreFailed: z.object({ backupId: uuid, error: errorText }),
  /**
   * The claw's gateway process ended on its own, as its Mini's agent saw it (`code` or `signal`);
   * `gaveUp`: it crashed `crashesInARow` times in a row and the agent stopped restarting it.
   */
  GatewayExited: z.object({
    code: z.number().int().nullable(),
    signal: z.string().max(32).nullable(),
    at: z.iso.datetime({ offset: true }),
    crashesInARow: z.number().int().min(0),
    gaveUp: z.boolean(),
  }),
} as const;

/** `claw-<id>` streams. */
export const clawStream = defineStream('claw', clawEventSchemas);
export type ClawEvent = EventsOf<typeof clawEventSchemas>;
export type ClawEventType = ClawEvent['type'];
export type ClawEventOf<K extends ClawEventType> = Extract<ClawEvent, { type: K }>;

// ─── 2. State ──────────────────────────────────────────────────────────────────────────────────

/** A claw after its events; the `claws` row is this state (projections/claws.ts). */
export interface ClawState {
  id: string;
  orgId: string;
  slug: string;
  name: string;
  status: ClawStatus;
  target: DeploymentTarget;
  miniId: string | null;
  /** Set while the claw holds a port on its Mini; cleared by AllocationReleased. */
  miniPort: number | null;
  tunnelHostname: string | null;
  bucket: string | null;
  lastError: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  activeAt: Date | null;
  /** When it was last asked to start again after a stop; its warm-up counts from there. */
  startedAt: Date | null;
  /** The agent was asked to run the gateway and said yes; cleared once it stopped it. */
  agentRunning: boolean;
  /** A gateway may run for this claw on its Mini: from MiniAllocated until a stop was seen or given up. */
  gatewayMayRun: boolean;
  pairedDeviceId: string | null;
  /** Consecutive failures of `failedStep`. */
  attempts: number;
  failedStep: ProvisioningStep | null;
  /** The worker leaves the claw alone until then (backoff after a failed attempt). */
  retryAt: Date | null;
  warmupMs: number | null;
  /** Whether the worker has a next step for this claw (`nextStep` is not null); its work queue. */
  workPending: boolean;
  /** When its newest backup was taken (the scheduler's queue). */
  lastBackupAt: Date | null;
  /** The backup a `restoring` claw is being restored from. */
  restoreBackupId: string | null;
  /** Whether the claw runs again after the restore (it was running when the restore was asked for). */
  restoreResumes: boolean;
  /** When the gateway last exited on its own, as recorded (GatewayExited). */
  lastExitAt: Date | null;
}

// ─── 3. Evolve ─────────────────────────────────────────────────────────────────────────────────

export function evolveClaw(state: ClawState | null, event: Envelope<ClawEvent>): ClawState {
  if (event.type === 'ClawRequested') {
    if (state) throw new Error(`Claw ${state.id} was already requested`);
    const d = event.data;
    return withDerived({
      id: d.clawId,
      orgId: d.orgId,
      slug: d.slug,
      name: d.name,
      status: 'requested',
      target: d.target,
      miniId: null,
      miniPort: null,
      tunnelHostname: null,
      bucket: null,
      lastError: null,
      version: event.streamVersion,
      createdAt: event.createdAt,
      updatedAt: event.createdAt,
      activeAt: null,
      startedAt: null,
      agentRunning: false,
      gatewayMayRun: false,
      pairedDeviceId: null,
      attempts: 0,
      failedStep: null,
      retryAt: null,
      warmupMs: null,
      workPending: true,
      lastBackupAt: null,
      restoreBackupId: d.cloneOf?.backupId ?? null,
      restoreResumes: d.cloneOf !== undefined,
      lastExitAt: null,
    });
  }
  if (!state) throw new Error(`${event.type} before ClawRequested`);
  const s: ClawState = { ...state, version: event.streamVersion, updatedAt: event.createdAt };
  // A step that succeeds ends any run of failures of the step before it.
  const progressed = { attempts: 0, failedStep: null, retryAt: null };
  // Cleaning up after a failure keeps saying why the claw failed.
  const cleaned = s.status === 'failed' ? { attempts: 0, retryAt: null } : progressed;
  switch (event.type) {
    case 'MiniAllocated':
      return withDerived({
        ...s,
        ...progressed,
        status: 'provisioning',
        miniId: event.data.miniId,
        miniPort: event.data.port,
        tunnelHostname: event.data.tunnelHostname,
        gatewayMayRun: true,
        lastError: null,
      });
    case 'PortRefused':
      return withDerived({
        ...s,
        ...progressed,
        status: 'requested',
        miniId: null,
        miniPort: null,
        tunnelHostname: null,
        agentRunning: false,
        gatewayMayRun: false,
        lastError: event.data.reason,
      });
    case 'AgentStarted':
      return withDerived({ ...s, ...progressed, agentRunning: true });
    case 'BucketCreated':
      return withDerived({ ...s, ...progressed, bucket: event.data.bucket });
    case 'GatewayPaired':
      return withDerived({ ...s, pairedDeviceId: event.data.deviceId });
    case 'ClawActive':
      return withDerived({
        ...s,
        ...progressed,
        status: 'active',
        activeAt: event.createdAt,
        warmupMs: event.data.warmupMs,
        lastError: null,
      });
    case 'ProvisioningStepFailed':
      return withDerived({
        ...s,
        attempts: event.data.attempt,
        failedStep: event.data.step,
        lastError: event.data.error,
        retryAt: new Date(event.data.retryAt),
      });
    case 'ProvisioningFailed':
      return withDerived({
        ...s,
        ...progressed,
        status: 'failed',
        failedStep: event.data.step,
        lastError: event.data.error,
      });
    case 'ClawRetryRequested':
      return withDerived({ ...s, ...progressed, status: 'requested', lastError: null });
    case 'ClawDeletionRequested':
      return withDerived({ ...s, ...progressed, status: 'deleting' });
    case 'AgentStopped':
    case 'GatewayAbandoned':
      return withDerived({
        ...s,
        ...cleaned,
        agentRunning: false,
        gatewayMayRun: false,
        pairedDeviceId: null,
      });
    case 'ClawDegraded':
      return withDerived({ ...s, status: 'degraded', lastError: event.data.reason });
    case 'ClawRecovered':
      return withDerived({ ...s, status: 'active', lastError: null });
    case 'BucketDeleted':
      return withDerived({ ...s, ...cleaned, bucket: null });
    case 'AllocationReleased':
      return withDerived({ ...s, ...cleaned, miniPort: null });
    case 'ClawDeleted':
      return withDerived({ ...s, ...progressed, status: 'deleted' });
    case 'ClawStopRequested':
      return withDerived({ ...s, ...progressed, status: 'stopping' });
    case 'ClawStopped':
      // The agent keeps the claw (a later DELETE still removes it there): gatewayMayRun stays.
      return withDerived({ ...s, ...progressed, status: 'stopped', agentRunning: false, lastError: null });
    case 'ClawStartRequested':
      return withDerived({
        ...s,
        ...progressed,
        status: 'provisioning',
        agentRunning: false,
        gatewayMayRun: true,
        startedAt: event.createdAt,
        lastError: null,
      });
    case 'ClawBackupTaken':
      return withDerived({ ...s, lastBackupAt: new Date(event.data.takenAt) });
    case 'GatewayExited':
      return withDerived({ ...s, lastExitAt: new Date(event.data.at) });
    case 'ClawRestoreRequested':
      return withDerived({
        ...s,
        ...progressed,
        status: 'restoring',
        restoreBackupId: event.data.backupId,
        restoreResumes: s.status === 'active' || s.status === 'degraded',
      });
    case 'ClawRestored':
    case 'ClawRestoreFailed': {
      // The agent starts a gateway that ran before again, restored or not: the claw is confirmed
      // ready the way a started one is (wait_ready), counted from now.
      // A clone (restored while provisioning) counts its warm-up from its request, as any new claw.
      const startedAt = s.status === 'restoring' ? event.createdAt : s.startedAt;
      const after = s.restoreResumes
        ? { status: 'provisioning' as const, agentRunning: true, startedAt }
        : { status: 'stopped' as const };
      return withDerived({
        ...s,
        ...progressed,
        ...after,
        restoreBackupId: null,
        restoreResumes: false,
        lastError: event.type === 'ClawRestoreFailed' ? event.data.error : null,
      });
    }
    case 'GatewayTokenRotated':
    case 'ClawModelSet':
    case 'ClawModelCleared':
    case 'ClawSecretSet':
    case 'ClawSecretRemoved':
    case 'ClawRestarted':
    case 'ClawBackupFailed':
    case 'ClawBackupPruned':
      return withDerived(s);
  }
}

const withDerived = (s: ClawState): ClawState => ({ ...s, workPending: nextStep(s) !== null });

/** Folds a stream's events into the claw they describe (or null for an empty stream). */
export function foldClaw(
  events: Iterable<Envelope<ClawEvent>>,
  from: ClawState | null = null,
): ClawState | null {
  let state = from;
  for (const e of events) state = evolveClaw(state, e);
  return state;
}

// ─── 4. Decisions ──────────────────────────────────────────────────────────────────────────────

export interface ClawRequest {
  clawId: string;
  orgId: string;
  slug: string;
  name: string;
  target: DeploymentTarget;
  requestedBy: string;
  tokenFingerprint: string;
  cloneOf?: { clawId: string; backupId: string };
}

/** A new claw, unless its organization already has a live claw with that slug. */
export function decideRequest(request: ClawRequest, known: { slugTaken: boolean }): ClawEvent[] {
  if (known.slugTaken) throw slugTaken(request.slug);
  return [{ type: 'ClawRequested', data: request }];
}

export const slugTaken = (slug: string) =>
  conflict(`A claw with the slug "${slug}" already exists in this organization`);

/** Deletion of a live claw; asking again while it is being deleted changes nothing. */
export function decideDeletion(claw: ClawState | null, requestedBy: string): ClawEvent[] {
  if (!claw || claw.status === 'deleted') throw notFound('Claw');
  if (claw.status === 'deleting') return [];
  return [{ type: 'ClawDeletionRequested', data: { requestedBy } }];
}

/** A failed claw goes through provisioning again, once its compensation has finished. */
export function decideRetry(claw: ClawState | null, requestedBy: string): ClawEvent[] {
  if (!claw || claw.status === 'deleted') throw notFound('Claw');
  if (claw.status !== 'failed')
    throw preconditionFailed(`Only a failed claw can be retried (this one is ${claw.status})`);
  if (claw.workPending)
    throw preconditionFailed('The failed attempt is still being cleaned up; try again in a moment');
  return [{ type: 'ClawRetryRequested', data: { requestedBy } }];
}

/** A running claw stops (its gateway; the claw keeps its place); asking again changes nothing. */
export function decideStop(claw: ClawState | null, requestedBy: string): ClawEvent[] {
  if (!claw || claw.status === 'deleted') throw notFound('Claw');
  if (claw.status === 'stopping' || claw.status === 'stopped') return [];
  if (claw.status !== 'active' && claw.status !== 'degraded')
    throw preconditionFailed(`Only a running claw can be stopped (this one is ${claw.status})`);
  return [{ type: 'ClawStopRequested', data: { requestedBy } }];
}

/** A stopped claw starts again on its Mini; a running one is already started. */
export function decideStart(claw: ClawState | null, requestedBy: string): ClawEvent[] {
  if (!claw || claw.status === 'deleted') throw notFound('Claw');
  if (claw.status === 'active' || claw.status === 'degraded' || claw.status === 'provisioning') return [];
  if (claw.status !== 'stopped')
    throw preconditionFailed(
      claw.status === 'stopping'
        ? 'The claw is still stopping; start it once it has stopped'
        : `Only a stopped claw can be started (this one is ${claw.status})`,
    );
  return [{ type: 'ClawStartRequested', data: { requestedBy } }];
}

/** Whether a restart may be asked of the claw's agent: a running claw on a Mini. */
export function decideRestart(claw: ClawState | null): void {
  if (!claw || claw.status === 'deleted') throw notFound('Claw');
  if (claw.status !== 'active' && claw.status !== 'degraded')
    throw preconditionFailed(`Only a running claw can be restarted (this one is ${claw.status})`);
  if (claw.target !== 'mac-mini' || !claw.miniId || claw.miniPort === null)
    throw preconditionFailed('The claw does not run on a Mini');
}

/** Whether a backup may be taken: the claw has a bucket and a Mini that holds its state. */
export function decideBackup(claw: ClawState | null): ClawState {
  if (!claw || claw.status === 'deleted') throw notFound('Claw');
  if (claw.target !== 'mac-mini' || !claw.miniId || claw.miniPort === null || !claw.bucket)
    throw preconditionFailed(`The claw has no state to back up yet (it is ${claw.status})`);
  if (!BACKUP_STATUSES.has(claw.status))
    throw preconditionFailed(
      `A ${claw.status} claw cannot be backed up; try again once it is running or stopped`,
    );
  return claw;
}
const BACKUP_STATUSES = new Set<ClawStatus>(['active', 'degraded', 'stopped']);

/** A restore of one of the claw's own backups, for a running or stopped claw. */
export function decideRestore(
  claw: ClawState | null,
  backup: { backupId: string; clawId: string } | null,
  requestedBy: string,
): ClawEvent[] {
  const c = decideBackup(claw);
  if (!backup || backup.clawId !== c.id) throw notFound('Backup');
  return [{ type: 'ClawRestoreRequested', data: { backupId: backup.backupId, requestedBy } }];
}

/** One backup as retention sees it. */
export interface RetainedBackup {
  backupId: string;
  objectKey: string;
  takenAt: Date;
}

export interface RetentionPolicy {
  /** The newest this many are kept, whatever their age. */
  keepLast: number;
  /** …and the newest of each of the last this many days (UTC)… */
  keepDaily: number;
  /** …and the newest of each of the last this many ISO weeks. */
  keepWeekly: number;
}

/** The backups retention removes: every one not kept by any of the policy's rules. */
export function decideRetention(
  backups: readonly RetainedBackup[],
  policy: RetentionPolicy,
  now: Date,
): RetainedBackup[] {
  const newestFirst = [...backups].sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime());
  const kept = new Set(newestFirst.slice(0, policy.keepLast).map((b) => b.backupId));
  const keepNewestPer = (bucketOf: (d: Date) => number, count: number) => {
    const current = bucketOf(now);
    const seen = new Set<number>();
    for (const b of newestFirst) {
      const bucket = bucketOf(b.takenAt);
      if (current - bucket >= count || seen.has(bucket)) continue;
      seen.add(bucket);
      kept.add(b.backupId);
    }
  };
  const DAY = 86_400_000;
  keepNewestPer((d) => Math.floor(d.getTime() / DAY), policy.keepDaily);
  // Days since the epoch's Monday (1970-01-05), in weeks.
  keepNewestPer((d) => Math.floor((d.getTime() - 4 * DAY) / (7 * DAY)), policy.keepWeekly);
  return newestFirst.filter((b) => !kept.has(b.backupId));
}

/** The events a step appends once its side effect was seen to succeed. */
export const stepSucceeded = {
  start_agent: (c: ClawState): ClawEvent[] => [
    { type: 'AgentStarted', data: { miniId: c.miniId!, port: c.miniPort! } },
  ],
  create_bucket: (_c: ClawState, bucket: string): ClawEvent[] => [
    { type: 'BucketCreated', data: { bucket } },
  ],
  stop_agent: (c: ClawState): ClawEvent[] => [{ type: 'AgentStopped', data: { miniId: c.miniId! } }],
  /** A stop that cannot happen (the Mini is lost) ends the claw's hold on its gateway all the same. */
  stop_abandoned: (c: ClawState, reason: string): ClawEvent[] => [
    { type: 'GatewayAbandoned', data: { miniId: c.miniId!, reason } },
  ],
  delete_bucket: (c: ClawState): ClawEvent[] => [{ type: 'BucketDeleted', data: { bucket: c.bucket! } }],
  release: (c: ClawState): ClawEvent[] => [
    { type: 'AllocationReleased', data: { miniId: c.miniId!, port: c.miniPort! } },
  ],
  finish_delete: (): ClawEvent[] => [{ type: 'ClawDeleted', data: {} }],
  pause_agent: (): ClawEvent[] => [{ type: 'ClawStopped', data: {} }],
  restore_backup: (c: ClawState, backup: { sha256: string; takenAt: Date }): ClawEvent[] => [
    {
      type: 'ClawRestored',
      data: { backupId: c.restoreBackupId!, sha256: backup.sha256, takenAt: backup.takenAt.toISOString() },
    },
  ],
};

/** The agent refused the claw's port (another process holds it): place the claw again. */
export const portRefused = (c: ClawState, reason: string): ClawEvent[] => [
  { type: 'PortRefused', data: { miniId: c.miniId!, port: c.miniPort!, reason } },
];

/** Allocation found no Mini: the claw fails at once (there is nothing to retry against). */
export const allocationFailed = (reason: string): ClawEvent[] => [
  { type: 'ProvisioningFailed', data: { step: 'allocate', error: reason } },
];

/** What the worker saw of a provisioning gateway: the agent's report, and the control plane's own handshake. */
export type ReadinessObservation =
  /**
   * `paired`: the Mini's agent approved the control plane's device on the gateway and saw it done;
   * `approving`: it sent the approval and has not seen the answer yet. Both are read after `access`.
   */
  | { agent: 'running'; paired: boolean; approving?: boolean; access: GatewayAccess }
  | { agent: 'starting' }
  | { agent: 'failed'; error?: string }
  /** The agent does not run it (a restarted Mini?): the worker asks it to start the gateway again. */
  | { agent: 'stopped' | 'unknown' };

/** Whether the control plane got in with chat's scopes; `retry: 'never'` means it never will. */
export type GatewayAccess =
  { ok: true; deviceId: string } | { ok: false; retry: 'soon' | 'never'; reason: string };

export type Readiness =
  | { next: 'active'; events: ClawEvent[] }
  /** Look again shortly. */
  | { next: 'wait' }
  | { next: 'failed'; failure: Failure; restart: boolean };

/**
 * Whether a provisioning claw is ready. Running on its Mini is not enough: the control plane must
 * get in with chat's scopes, or the proxy could not serve it. Waiting has a deadline, counted from
 * the claw's last change.
 */
export function decideReadiness(
  c: ClawState,
  seen: ReadinessObservation,
  now: Date,
  readyTimeoutMs: number,
): Readiness {
  const waited = now.getTime() - c.updatedAt.getTime();
  const notReady = (why: string): Readiness =>
    waited > readyTimeoutMs
      ? {
          next: 'failed',
          restart: false,
          failure: retryable(
            `The gateway did not become ready within ${Math.round(waited / 1000)} s (${why})`,
          ),
        }
      : { next: 'wait' };
  switch (seen.agent) {
    case 'running': {
      const access = seen.access;
      if (!access.ok && access.retry === 'never')
        return { next: 'failed', restart: false, failure: { kind: 'permanent', message: access.reason } };
      if (!access.ok) return notReady(access.reason);
      // Let in while the Mini's approval is still on its way back: the pairing happened, and the
      // log must record it, so wait for the Mini to see it done (an instant, or the ready deadline).
      if (!seen.paired && seen.approving) return notReady('the Mini is confirming the pairing');
      const events: ClawEvent[] = [];
      // Only a pairing the Mini performed is recorded: over loopback the gateway lets the control
      // plane in without one, and the log must not claim a pairing that never happened.
      if (seen.paired && access.deviceId !== c.pairedDeviceId)
        events.push({ type: 'GatewayPaired', data: { deviceId: access.deviceId } });
      events.push({
        type: 'ClawActive',
        data: { warmupMs: Math.max(0, now.getTime() - (c.startedAt ?? c.createdAt).getTime()) },
      });
      return { next: 'active', events };
    }
    case 'starting':
      return notReady('still starting');
    case 'failed':
      return {
        next: 'failed',
        restart: false,
        failure: retryable(`The gateway failed: ${seen.error ?? 'no detail'}`),
      };
    case 'stopped':
    case 'unknown':
      return {
        next: 'failed',
        restart: true,
        failure: retryable(`The gateway was not running on its Mini (${seen.agent}); restarted it`),
      };
  }
}

const retryable = (message: string): Failure => ({ kind: 'retryable', message });

/** What the reconciler saw of a claw's gateway on its Mini. */
export type GatewaySighting =
  | { agent: 'running' | 'starting' | 'stopped' | 'failed'; error?: string }
  /** The agent lists no gateway for the claw. */
  | { agent: 'absent' }
  /** The agent could not be asked. */
  | { mini: 'offline' | 'lost' };

/**
 * What a sighting means for a claw that is (or was) active: a gateway down, missing or out of
 * reach makes it degraded, saying why (once: later rounds do not repeat it), and is restarted
 * where the agent can be asked; running again, it recovers. Claws in any other status belong to
 * the provisioning worker.
 */
export function decideSighting(
  c: ClawState,
  seen: GatewaySighting,
): { events: ClawEvent[]; restart: boolean } {
  if (c.status !== 'active' && c.status !== 'degraded') return { events: [], restart: false };
  const degraded = (reason: string, restart: boolean) => ({
    events: c.status === 'degraded' ? [] : [{ type: 'ClawDegraded', data: { reason } } satisfies ClawEvent],
    restart,
  });
  if ('mini' in seen)
    return degraded(seen.mini === 'lost' ? 'Its Mini is lost' : 'Its Mini is offline', false);
  switch (seen.agent) {
    case 'running':
      return { events: c.status === 'degraded' ? [{ type: 'ClawRecovered', data: {} }] : [], restart: false };
    case 'starting':
      return degraded(
        `The gateway is restarting${seen.error ? `: ${seen.error}` : ''}`.slice(0, 2000),
        false,
      );
    case 'failed':
      return degraded(`The gateway failed: ${seen.error ?? 'no detail'}`.slice(0, 2000), true);
    case 'stopped':
      return degraded('The gateway was stopped on its Mini', true);
    case 'absent':
      return degraded('The gateway was not running on its Mini', true);
  }
}

/** An exit the agent reports that the log does not hold yet (reported again each round until it is). */
export function decideExit(
  c: ClawState,
  exit:
    | { code: number | null; signal: string | null; at: string; crashesInARow: number; gaveUp: boolean }
    | undefined,
): ClawEvent[] {
  if (!exit || (c.lastExitAt && new Date(exit.at).getTime() <= c.lastExitAt.getTime())) return [];
  return [{ type: 'GatewayExited', data: exit }];
}

export interface RetryPolicy {
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

/**
 * What a failed step means: another attempt after a backoff, or, for a forward step out of
 * attempts or failed for good, giving the claw up (compensation follows). Cleanup steps do not
 * give up, with one exception: a stop of a gateway whose start was never confirmed, out of
 * attempts, is abandoned (if that gateway runs after all, the reconciler stops it as an orphan
 * once the agent answers), so a claw whose Mini does not answer still releases its port. Steps
 * that only write the database record nothing: the next round simply runs them again.
 */
export function decideStepFailure(
  c: ClawState,
  step: WorkerStep,
  failure: Failure,
  policy: RetryPolicy,
  now: Date,
  random: () => number = Math.random,
): ClawEvent[] {
  if (!isRecordedStep(step)) return [];
  const attempt = c.failedStep === step ? c.attempts + 1 : 1;
  if (step === 'stop_agent' && !c.agentRunning && attempt >= policy.maxAttempts)
    return stepSucceeded.stop_abandoned(
      c,
      `Its start was never confirmed and the Mini could not be asked to stop it: ${failure.message}`.slice(
        0,
        2000,
      ),
    );
  const outOfLuck = failure.kind === 'permanent' || attempt >= policy.maxAttempts;
  // A restore that cannot be done leaves the claw as it was (the agent swaps only a verified backup).
  if (step === 'restore_backup' && outOfLuck)
    return [
      {
        type: 'ClawRestoreFailed',
        data: {
          backupId: c.restoreBackupId!,
          error: `The restore was given up: ${failure.message}`.slice(0, 2000),
        },
      },
    ];
  if (isForwardStep(step) && outOfLuck)
    return [{ type: 'ProvisioningFailed', data: { step, error: failure.message } }];
  const retryAt = new Date(
    now.getTime() + backoffMs(attempt, policy.backoffBaseMs, policy.backoffMaxMs, random),
  );
  return [
    {
      type: 'ProvisioningStepFailed',
      data: { step, attempt, error: failure.message, retryAt: retryAt.toISOString() },
    },
  ];
}

/** Exponential backoff with full jitter: uniform in [base·2^(n-1) / 2, base·2^(n-1)], capped. */
export function backoffMs(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

// ─── 5. The next step ──────────────────────────────────────────────────────────────────────────

/** Everything the provisioning worker may do for a claw: the recorded steps, plus two that only write the log. */
export type WorkerStep = ProvisioningStep | 'release' | 'finish_delete';

/** Steps whose failure, once retries run out, fails the claw. Cleanup steps keep retrying instead. */
export const isForwardStep = (s: WorkerStep) =>
  s === 'allocate' || s === 'start_agent' || s === 'create_bucket' || s === 'wait_ready';

const isRecordedStep = (s: WorkerStep): s is Exclude<ProvisioningStep, 'allocate'> =>
  s !== 'allocate' && s !== 'release' && s !== 'finish_delete';

/**
 * What the worker does next for a claw, from its state alone, so any worker that picks the claw up
 * after a crash continues exactly where the log says it is. Null: nothing to do.
 */
export function nextStep(
  c: Pick<ClawState, 'status' | 'agentRunning' | 'gatewayMayRun' | 'bucket' | 'miniPort' | 'restoreBackupId'>,
): WorkerStep | null {
  switch (c.status) {
    case 'requested':
      return 'allocate';
    case 'provisioning':
      if (!c.agentRunning) return 'start_agent';
      if (!c.bucket) return 'create_bucket';
      // A clone gets the state of its backup before it is confirmed ready.
      if (c.restoreBackupId) return 'restore_backup';
      return 'wait_ready';
    case 'failed':
      if (c.gatewayMayRun) return 'stop_agent';
      if (c.miniPort !== null) return 'release';
      return null;
    case 'deleting':
      if (c.gatewayMayRun) return 'stop_agent';
      if (c.bucket) return 'delete_bucket';
      if (c.miniPort !== null) return 'release';
      return 'finish_delete';
    case 'stopping':
      return 'pause_agent';
    case 'restoring':
      return 'restore_backup';
    case 'active':
    case 'degraded':
    case 'stopped':
    case 'deleted':
      return null;
  }
}
