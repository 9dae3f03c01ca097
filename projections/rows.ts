import type { ClawRow, MiniRow } from '../db/types';
import type { ProvisioningStep } from '../events/catalog';
import type { ClawState, ClawStatus } from './claws';
import type { MiniState, MiniStatus } from './minis';

/** Mapping between the evolve functions' states and the projection tables' rows. */
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
    agent_running: s.agentRunning,
    paired_device_id: s.pairedDeviceId,
    attempts: s.attempts,
    failed_step: s.failedStep,
    retry_at: s.retryAt,
    warmup_ms: s.warmupMs,
    work_pending: s.workPending,
  };
}

export function rowToClaw(r: ClawRow): ClawState {
  return {
    id: r.id,
    orgId: r.org_id,
    slug: r.slug,
    name: r.name,
    status: r.status as ClawStatus,
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
    agentRunning: r.agent_running,
    pairedDeviceId: r.paired_device_id,
    attempts: r.attempts,
    failedStep: r.failed_step as ProvisioningStep | null,
    retryAt: r.retry_at,
    warmupMs: r.warmup_ms,
    workPending: r.work_pending,
  };
}

export function miniToRow(s: MiniState): MiniRow {
  return {
    id: s.id,
    hostname: s.hostname,
    agent_url: s.agentUrl,
    tunnel_suffix: s.tunnelSuffix,
    port_range_start: s.portRangeStart,
    port_range_end: s.portRangeEnd,
    capacity: s.capacity,
    allocated: s.allocated,
    status: s.status,
    cordoned: s.cordoned,
    last_seen_at: s.lastSeenAt,
    last_error: s.lastError,
    version: s.version,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
  };
}

export function rowToMini(r: MiniRow): MiniState {
  return {
    id: r.id,
    hostname: r.hostname,
    agentUrl: r.agent_url,
    tunnelSuffix: r.tunnel_suffix,
    portRangeStart: r.port_range_start,
    portRangeEnd: r.port_range_end,
    capacity: r.capacity,
    allocated: r.allocated,
    status: r.status as MiniStatus,
    cordoned: r.cordoned,
    lastSeenAt: r.last_seen_at,
    lastError: r.last_error,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
