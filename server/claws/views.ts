import type { RecordedEvent } from '../../events/types';
import type { ClawState } from '../../events/claw';
import { forMembers } from './member-text';

/**
 * Who reads a view: an organization's members get failures in words, with no internal host, port
 * or path (member-text.ts); the platform's operators (platform admins) get them as they were.
 */
export type Audience = 'member' | 'operator';

/** What the API shows of a claw: its state, where it runs, and how far provisioning got. */
export function clawView(c: ClawState, miniHostname: string | null = null, audience: Audience = 'member') {
  return {
    id: c.id,
    slug: c.slug,
    name: c.name,
    status: c.status,
    target: c.target,
    mini: c.miniId ? { id: c.miniId, hostname: miniHostname } : null,
    port: c.miniPort,
    // Where the Mini's edge serves the gateway: reachable only with the gateway token and a paired
    // device, so shown, never linked (members chat through the proxy).
    tunnelHostname: c.tunnelHostname,
    lastError: audience === 'operator' ? c.lastError : forMembers(c.lastError),
    failedStep: c.failedStep,
    attempts: c.attempts,
    retryAt: c.retryAt,
    warmupMs: c.warmupMs,
    version: c.version,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
    activeAt: c.activeAt,
    lastBackupAt: c.lastBackupAt,
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
  'ClawBackupFailed',
  'ClawRestoreFailed',
  'GatewayExited',
]);

/** The failure texts of claw events (ProvisioningStepFailed.error, ClawDegraded.reason, …). */
const FAILURE_TEXT_KEYS = new Set(['error', 'reason']);

/**
 * One audit timeline entry: who did what when, with the event's data minus anything
 * secret-adjacent, and its failure texts in words for members.
 */
export function timelineEntry(
  e: RecordedEvent,
  previous: RecordedEvent | undefined,
  audience: Audience = 'member',
) {
  const data = Object.fromEntries(
    Object.entries(e.data as Record<string, unknown>)
      .filter(([k]) => !HIDDEN_KEYS.has(k))
      .map(([k, v]) =>
        audience === 'member' && FAILURE_TEXT_KEYS.has(k) && typeof v === 'string'
          ? [k, forMembers(v)]
          : [k, v],
      ),
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
