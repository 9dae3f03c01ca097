import type { ClawEvent, ProvisioningStep } from '../events/catalog';

/** The claw read model, as the pure evolve function sees it. One `claws` row per claw. */
export type ClawStatus = 'requested' | 'provisioning' | 'active' | 'failed' | 'deleting' | 'deleted';
export const CLAW_STATUSES: readonly ClawStatus[] = [
  'requested',
  'provisioning',
  'active',
  'failed',
  'deleting',
  'deleted',
];

export interface ClawState {
  id: string;
  orgId: string;
  slug: string;
  name: string;
  status: ClawStatus;
  target: string;
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
  agentRunning: boolean;
  pairedDeviceId: string | null;
  /** Consecutive failures of the current step. */
  attempts: number;
  failedStep: ProvisioningStep | null;
  retryAt: Date | null;
  warmupMs: number | null;
  /** True while the provisioning worker has something to do for this claw. */
  workPending: boolean;
}

/** What evolve needs of a recorded event: its content, its version in the stream, and when it happened. */
export type Envelope<E> = E & { streamVersion: number; createdAt: Date };

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
      agentRunning: false,
      pairedDeviceId: null,
      attempts: 0,
      failedStep: null,
      retryAt: null,
      warmupMs: null,
      workPending: true,
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
        lastError: null,
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
      return withDerived({ ...s, ...cleaned, agentRunning: false, pairedDeviceId: null });
    case 'BucketDeleted':
      return withDerived({ ...s, ...cleaned, bucket: null });
    case 'AllocationReleased':
      return withDerived({ ...s, ...cleaned, miniPort: null });
    case 'ClawDeleted':
      return withDerived({ ...s, ...progressed, status: 'deleted' });
  }
}

/** Whether the worker still has a step to run: provisioning forward, compensating, or deleting. */
export function hasPendingWork(s: Pick<ClawState, 'status' | 'agentRunning' | 'miniPort'>): boolean {
  switch (s.status) {
    case 'requested':
    case 'provisioning':
    case 'deleting':
      return true;
    case 'failed':
      return s.agentRunning || s.miniPort !== null;
    case 'active':
    case 'deleted':
      return false;
  }
}

function withDerived(s: ClawState): ClawState {
  return { ...s, workPending: hasPendingWork(s) };
}

/** Folds a stream's events into the claw they describe (or null for an empty stream). */
export function foldClaw(
  events: Iterable<Envelope<ClawEvent>>,
  from: ClawState | null = null,
): ClawState | null {
  let state = from;
  for (const e of events) state = evolveClaw(state, e);
  return state;
}

/** The change a claw event makes to its Mini's allocated count. */
export function allocationDelta(event: ClawEvent): { miniId: string; delta: 1 | -1 } | null {
  if (event.type === 'MiniAllocated') return { miniId: event.data.miniId, delta: 1 };
  if (event.type === 'AllocationReleased') return { miniId: event.data.miniId, delta: -1 };
  return null;
}
