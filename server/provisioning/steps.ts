import {
  allocationFailed,
  decideReadiness,
  portRefused,
  stepSucceeded,
  type ClawEvent,
  type ClawState,
  type GatewayAccess,
  type ReadinessObservation,
  type WorkerStep,
} from '../../events/claw';
import { decidePortBlocked, type MiniState } from '../../events/mini';
import type { EventStore } from '../../events/store';
import type { EventMetadata } from '../../events/types';
import { backupsOfClaw } from '../../projections/claw-backups';
import { clawsProjection } from '../../projections/claws';
import { lockMini, minisProjection } from '../../projections/minis';
import { backupOnMini, restoreOnMini } from '../claws/backups';
import { deleteClawModel } from '../claws/model';
import { deleteClawSecrets } from '../claws/secrets';
import { bucketNameForClaw, type BucketStore } from '../buckets';
import type { ClawDeploymentService, GatewayStatusReport } from '../deployment/types';
import { FailureError } from '../failure';
import { allocateClaw } from '../fleet/allocator';
import { gatewayTokenSecret, type SecretStore } from '../secrets/secret-store';

/**
 * One function per step of the provisioning worker: the step's side effect, then what the claw's
 * lifecycle (events/claw.ts) says it appends. Every side effect is idempotent per claw, so a step
 * repeated after a crash does no harm. A step that fails throws; the worker asks the lifecycle
 * what the failure means.
 */
export interface StepDeps {
  store: EventStore;
  secrets: SecretStore;
  buckets: BucketStore;
  deploymentFor(target: string): ClawDeploymentService;
  /** Connects to the gateway as the chat proxy will; active means this succeeds with chat's scopes. */
  verifyAccess(claw: ClawState, mini: MiniState | null): Promise<GatewayAccess>;
  readyTimeoutMs: number;
  readyPollMs: number;
}

/** What a step appends, and how long to leave the claw alone before looking again. */
export interface StepOutcome {
  events: ClawEvent[];
  notBeforeMs?: number;
}

type Step = (deps: StepDeps, claw: ClawState, meta: EventMetadata) => Promise<StepOutcome>;

const done = (events: ClawEvent[]): StepOutcome => ({ events });
const miniOf = (deps: StepDeps, claw: ClawState) =>
  claw.miniId ? deps.store.load(minisProjection, claw.miniId) : Promise.resolve(null);
const deployed = async (deps: StepDeps, claw: ClawState) => ({
  deployment: deps.deploymentFor(claw.target),
  mini: await miniOf(deps, claw),
});

const allocate: Step = async (deps, claw, meta) => {
  // allocateClaw appends MiniAllocated itself, inside the transaction that locks the Mini.
  const r = await allocateClaw(deps.store, claw, meta);
  return done(r.ok ? [] : allocationFailed(r.message));
};

const startAgent: Step = async (deps, claw, meta) => {
  const { deployment, mini } = await deployed(deps, claw);
  try {
    await deployment.start(claw, mini);
  } catch (err) {
    if (err instanceof FailureError && err.code === 'port_in_use')
      return refusePort(deps, claw, meta, err.message);
    throw err;
  }
  return done(stepSucceeded.start_agent(claw));
};

/**
 * The Mini says another process holds the claw's port: in one transaction the Mini remembers the
 * port as blocked (the allocator skips it from now on) and the claw gives it up, so the next round
 * places it again at once instead of retrying a port that cannot work.
 */
async function refusePort(
  deps: StepDeps,
  claw: ClawState,
  meta: EventMetadata,
  reason: string,
): Promise<StepOutcome> {
  await deps.store.transaction(async (tx) => {
    const mini = await lockMini(tx.db, claw.miniId!);
    const blocked = mini ? decidePortBlocked(mini, claw.miniPort!, reason) : [];
    if (mini && blocked.length)
      await tx.append(minisProjection, mini.id, blocked, { expected: mini.version, known: mini, meta });
    await tx.append(clawsProjection, claw.id, portRefused(claw, reason), {
      expected: claw.version,
      known: claw,
      meta,
    });
  });
  return done([]);
}

const createBucket: Step = async (deps, claw) => {
  const bucket = bucketNameForClaw(claw.id);
  await deps.buckets.create(bucket);
  return done(stepSucceeded.create_bucket(claw, bucket));
};

const waitReady: Step = async (deps, claw) => {
  const { deployment, mini } = await deployed(deps, claw);
  const seen = await observe(deps, claw, mini, deployment, await deployment.status(claw, mini));
  const r = decideReadiness(claw, seen, new Date(), deps.readyTimeoutMs);
  if (r.next === 'active') return done(r.events);
  if (r.next === 'wait') return { events: [], notBeforeMs: deps.readyPollMs };
  if (r.restart) await deployment.start(claw, mini);
  throw new FailureError(r.failure.kind, r.failure.message);
};

async function observe(
  deps: StepDeps,
  claw: ClawState,
  mini: MiniState | null,
  deployment: Pick<ClawDeploymentService, 'status'>,
  report: GatewayStatusReport,
): Promise<ReadinessObservation> {
  switch (report.status) {
    case 'running': {
      const access = await deps.verifyAccess(claw, mini);
      // The pairing is read after the access check: a gateway that let the control plane in did so
      // after the Mini sent its approval, so a fresh look sees it paired, or still approving.
      const after = access.ok && report.paired !== true ? await deployment.status(claw, mini) : report;
      return {
        agent: 'running',
        paired: after.paired === true,
        ...(after.pairingApproving ? { approving: true } : {}),
        access,
      };
    }
    case 'failed':
      return { agent: 'failed', error: report.error };
    default:
      return { agent: report.status };
  }
}

const stopAgent: Step = async (deps, claw) => {
  const { deployment, mini } = await deployed(deps, claw);
  // Nobody can stop a gateway on a lost Mini: give it up, so the claw's deletion (and the Mini's
  // removal) can finish; if the Mini ever comes back, the reconciler stops it as an orphan.
  if (mini?.status === 'lost') return done(stepSucceeded.stop_abandoned(claw, 'Its Mini is lost'));
  await deployment.stop(claw, mini);
  return done(stepSucceeded.stop_agent(claw));
};

/**
 * A stop is preceded by a backup of the running gateway (`before_stop`), recorded with the stop; a
 * backup that fails is recorded too and does not hold the stop up. A retried step backs up again.
 */
const pauseAgent: Step = async (deps, claw) => {
  const { deployment, mini } = await deployed(deps, claw);
  const backup =
    claw.bucket && claw.agentRunning
      ? (
          await backupOnMini(
            { buckets: deps.buckets, agents: deployment },
            claw,
            mini,
            'before_stop',
            'system',
          )
        ).event
      : null;
  await deployment.pause(claw, mini);
  return done([...(backup ? [backup] : []), ...stepSucceeded.pause_agent()]);
};

const deleteBucket: Step = async (deps, claw) => {
  // A bucket must be empty to be deleted: its backups go first, and the record says they are gone.
  // A retried step may find the bucket gone already (deleted, the event not yet appended).
  if (await deps.buckets.exists(claw.bucket!)) {
    for (const o of await deps.buckets.listObjects(claw.bucket!, ''))
      await deps.buckets.deleteObject(claw.bucket!, o.key);
    await deps.buckets.delete(claw.bucket!);
  }
  const pruned: ClawEvent[] = (await backupsOfClaw(deps.store.db, claw.id)).map((b) => ({
    type: 'ClawBackupPruned',
    data: { backupId: b.backupId, objectKey: b.objectKey },
  }));
  return done([...pruned, ...stepSucceeded.delete_bucket(claw)]);
};

/** The Mini puts the backup in place only once it checked it; a gateway that ran starts again. */
const restoreBackup: Step = async (deps, claw) => {
  const backup = await restoreOnMini(
    { store: deps.store, buckets: deps.buckets, agents: deps.deploymentFor(claw.target) },
    claw,
  );
  return done(stepSucceeded.restore_backup(claw, backup));
};

const release: Step = async (_deps, claw) => done(stepSucceeded.release(claw));

const finishDelete: Step = async (deps, claw) => {
  // The token goes before the event that ends the claw: a crash in between repeats this step
  // (deleting is idempotent), where the other order could leave a token nobody deletes.
  await deps.secrets.delete(gatewayTokenSecret(claw.id));
  await deleteClawModel(deps.secrets, claw.id);
  await deleteClawSecrets(deps.secrets, claw.id);
  return done(stepSucceeded.finish_delete());
};

export const steps: Record<WorkerStep, Step> = {
  allocate,
  start_agent: startAgent,
  create_bucket: createBucket,
  wait_ready: waitReady,
  stop_agent: stopAgent,
  delete_bucket: deleteBucket,
  release,
  finish_delete: finishDelete,
  pause_agent: pauseAgent,
  restore_backup: restoreBackup,
};
