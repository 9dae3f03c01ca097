import type { ColumnType, Generated, Insertable, JSONColumnType, Selectable } from 'kysely';

/** The schema, as Kysely sees it. Migrations in db/migrations are the source of truth. */

/**
 * Closed sets the schema holds, typed here so rows need no casts. What each value means lives with
 * the lifecycle that moves it (events/claw.ts, events/mini.ts).
 */
export const CLAW_STATUSES = [
  'requested',
  'provisioning',
  'active',
  'degraded',
  'stopping',
  'stopped',
  'restoring',
  'failed',
  'deleting',
  'deleted',
] as const;
export type ClawStatus = (typeof CLAW_STATUSES)[number];
/** The provisioning worker's steps that talk to the outside world and may fail (recorded in events). */
export const PROVISIONING_STEPS = [
  'allocate',
  'start_agent',
  'create_bucket',
  'wait_ready',
  'stop_agent',
  'delete_bucket',
  'pause_agent',
  'restore_backup',
] as const;
export type ProvisioningStep = (typeof PROVISIONING_STEPS)[number];
export const DEPLOYMENT_TARGETS = ['mac-mini', 'cloudflare'] as const;
export type DeploymentTarget = (typeof DEPLOYMENT_TARGETS)[number];

/** Where a claw's model comes from (server/claws/model.ts has each one's API and base URL). */
export const MODEL_PROVIDERS = ['openai', 'anthropic', 'openrouter', 'openai-compatible'] as const;
export type ModelProvider = (typeof MODEL_PROVIDERS)[number];
export const MINI_STATUSES = ['online', 'offline', 'lost', 'removed'] as const;
export type MiniStatus = (typeof MINI_STATUSES)[number];
export const ROLES = ['owner', 'admin', 'member'] as const;
export type Role = (typeof ROLES)[number];
/** Who caused an event: a user, or a component of the system (the events table CHECKs the shape). */
export type Actor = `user:${string}` | `system:${string}`;
export interface Database {
  organizations: OrganizationsTable;
  events: EventsTable;
  claws: ClawsTable;
  claw_backups: ClawBackupsTable;
  mac_minis: MacMinisTable;
  secrets: SecretsTable;
  claw_leases: ClawLeasesTable;
  users: UsersTable;
  sessions: SessionsTable;
  memberships: MembershipsTable;
  throttles: ThrottlesTable;
  live_leases: LiveLeasesTable;
  invitations: InvitationsTable;
  api_tokens: ApiTokensTable;
  platform_bootstrap: PlatformBootstrapTable;
}

export interface OrganizationsTable {
  id: string;
  slug: string;
  name: string;
  created_at: ColumnType<Date, Date | string | undefined, never>;
}

export interface EventsTable {
  global_position: Generated<number>;
  transaction_id: ColumnType<string, never, never>;
  stream_id: string;
  stream_version: number;
  event_type: string;
  event_id: string;
  data: JSONColumnType<Record<string, unknown>>;
  schema_version: Generated<number>;
  actor: Actor;
  correlation_id: string;
  causation_id: string | null;
  created_at: ColumnType<Date, Date | string, never>;
}

/** Projection of `claw-<id>` streams. Written only by the event store. */
export interface ClawsTable {
  id: string;
  org_id: string;
  slug: string;
  name: string;
  status: ClawStatus;
  target: DeploymentTarget;
  mini_id: string | null;
  mini_port: number | null;
  tunnel_hostname: string | null;
  bucket: string | null;
  last_error: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
  active_at: Date | null;
  started_at: Date | null;
  agent_running: boolean;
  gateway_may_run: boolean;
  paired_device_id: string | null;
  attempts: number;
  failed_step: ProvisioningStep | null;
  retry_at: Date | null;
  warmup_ms: number | null;
  work_pending: boolean;
  last_backup_at: Date | null;
  restore_backup_id: string | null;
  restore_resumes: boolean;
  last_exit_at: Date | null;
}

/** Why a backup was taken. */
export const BACKUP_KINDS = ['scheduled', 'manual', 'before_stop'] as const;
export type BackupKind = (typeof BACKUP_KINDS)[number];

/** The backups a claw's bucket holds, kept by ClawBackupTaken and ClawBackupPruned. */
export interface ClawBackupsTable {
  backup_id: string;
  claw_id: string;
  object_key: string;
  bytes: number;
  sha256: string;
  kind: BackupKind;
  taken_at: Date;
}

/** Projection of `mini-<id>` streams (plus `allocated`, counted from claw allocations). */
export interface MacMinisTable {
  id: string;
  hostname: string;
  agent_url: string;
  /** The agent certificate's pinned `sha256:<hex>` (null: a plain-HTTP dev agent). */
  agent_cert_fingerprint: string | null;
  tunnel_suffix: string;
  port_range_start: number;
  port_range_end: number;
  capacity: number;
  edge_port: number | null;
  port_stride: number;
  memory_mb: number | null;
  claw_memory_mb: number | null;
  allocated: number;
  status: MiniStatus;
  cordoned: boolean;
  blocked_ports: number[];
  offline_since: Date | null;
  last_seen_at: Date | null;
  last_error: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

/** Encrypted secrets, outside the event log. `name` is also the AES-GCM associated data. */
export interface SecretsTable {
  name: string;
  ciphertext: string;
  fingerprint: string;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** Worker leases: which worker may run a claw's next step, and not before when. */
export interface ClawLeasesTable {
  claw_id: string;
  owner: string | null;
  expires_at: Date;
}

export type EventRow = Selectable<EventsTable>;
export type ClawRow = Selectable<ClawsTable>;
export type MiniRow = Selectable<MacMinisTable>;
export type NewOrganization = Insertable<OrganizationsTable>;
export type Organization = Selectable<OrganizationsTable>;

export interface UsersTable {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  is_platform_admin: Generated<boolean>;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  password_changed_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

export interface SessionsTable {
  id: string;
  token_hash: string;
  user_id: string;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  expires_at: Date;
  revoked_at: Date | null;
  last_seen_at: ColumnType<Date, Date | undefined, Date>;
  user_agent: string | null;
  client_address: string | null;
}

export interface MembershipsTable {
  org_id: string;
  user_id: string;
  role: Role;
  created_at: ColumnType<Date, Date | string | undefined, never>;
}

export type User = Selectable<UsersTable>;

/** Roles an invitation or an API token can carry: ownership only ever moves by an explicit transfer. */
export const GRANTABLE_ROLES = ['admin', 'member'] as const;
export type GrantableRole = (typeof GRANTABLE_ROLES)[number];

/** A sliding log of admitted hits per throttle key (server/limits/throttle.ts). */
export interface ThrottlesTable {
  key: string;
  hits: Date[];
  admitted: Generated<boolean>;
  expires_at: Date;
}

export const LEASE_KINDS = ['chat', 'subscription'] as const;
export type LeaseKind = (typeof LEASE_KINDS)[number];
/** Long-lived connections per principal (`user:<id>` or `token:<id>`), across server instances. */
export interface LiveLeasesTable {
  id: string;
  principal: string;
  kind: LeaseKind;
  expires_at: Date;
  created_at: ColumnType<Date, Date | undefined, never>;
}

export interface InvitationsTable {
  id: string;
  org_id: string;
  email: string;
  role: GrantableRole;
  token_hash: string;
  invited_by: string | null;
  created_at: ColumnType<Date, Date | undefined, never>;
  expires_at: Date;
  accepted_at: Date | null;
  accepted_by: string | null;
  declined_at: Date | null;
  revoked_at: Date | null;
}

export interface ApiTokensTable {
  id: string;
  org_id: string;
  name: string;
  role: GrantableRole;
  token_hash: string;
  /** The first characters of the token, enough to recognise it in a list, never to use it. */
  prefix: string;
  created_by: string | null;
  created_at: ColumnType<Date, Date | undefined, never>;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export interface PlatformBootstrapTable {
  id: Generated<boolean>;
  code_hash: string;
  created_at: ColumnType<Date, Date | undefined, Date>;
  redeemed_at: Date | null;
  redeemed_by: string | null;
}
