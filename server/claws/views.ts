import type { RecordedEvent } from '../../events/types';
import type { ClawState } from '../../events/claw';

/** What the API shows of a claw: its state, where it runs, and how far provisioning got. */
export function clawView(c: ClawState, miniHostname: string | null = null) {
  return {
    id: c.id,
    slug: c.slug,
    name: c.name,
    status: c.status,
    target: c.target,
    mini: c.miniId ? { id: c.miniId, hostname: miniHostname } : null,
    port: c.miniPort,
    tunnelHostname: c.tunnelHostname,
    gatewayUrl: c.tunnelHostname ? `https://${c.tunnelHostname}` : null,
    lastError: c.lastError,
    failedStep: c.failedStep,
    attempts: c.attempts,
    retryAt: c.retryAt,
    warmupMs: c.warmupMs,
    version: c.version,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
    activeAt: c.activeAt,
    steps: {
      requested: true,
      miniAllocated: c.tunnelHostname !== null,
      agentStarted: c.agentRunning || c.status === 'active',
      bucketCreated: c.bucket !== null || c.status === 'active',
      active: c.status === 'active',
    },
  };
}
export type ClawView = ReturnType<typeof clawView>;

const HIDDEN_KEYS = new Set(['tokenFingerprint', 'agentTokenFingerprint']);
/** Entries the timeline marks as something going wrong. */
const FAILURES = new Set([
  'ProvisioningStepFailed',
  'ProvisioningFailed',
  'ClawDegraded',
  'PortRefused',
  'GatewayAbandoned',
]);

/** One audit timeline entry: who did what when, with the event's data minus anything secret-adjacent. */
export function timelineEntry(e: RecordedEvent, previous: RecordedEvent | undefined) {
  const data = Object.fromEntries(
    Object.entries(e.data as Record<string, unknown>).filter(([k]) => !HIDDEN_KEYS.has(k)),
  );
  return {
    version: e.streamVersion,
    type: e.type,
    actor: e.actor,
    at: e.createdAt,
    sincePreviousMs: previous ? e.createdAt.getTime() - previous.createdAt.getTime() : null,
    data,
    failure: FAILURES.has(e.type),
  };
}
export type TimelineEntry = ReturnType<typeof timelineEntry>;
