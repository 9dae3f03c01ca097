import type { ColumnType, Generated, Insertable, JSONColumnType, Selectable } from 'kysely';

/** The schema, as Kysely sees it. Migrations in db/migrations are the source of truth. */
export interface Database {
  organizations: OrganizationsTable;
  events: EventsTable;
  claws: ClawsTable;
  mac_minis: MacMinisTable;
  secrets: SecretsTable;
  claw_leases: ClawLeasesTable;
  users: UsersTable;
  sessions: SessionsTable;
  memberships: MembershipsTable;
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
  actor: string;
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
  status: string;
  target: string;
  mini_id: string | null;
  mini_port: number | null;
  tunnel_hostname: string | null;
  bucket: string | null;
  last_error: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
  active_at: Date | null;
  agent_running: boolean;
  paired_device_id: string | null;
  attempts: number;
  failed_step: string | null;
  retry_at: Date | null;
  warmup_ms: number | null;
  work_pending: boolean;
}

/** Projection of `mini-<id>` streams (plus `allocated`, counted from claw allocations). */
export interface MacMinisTable {
  id: string;
  hostname: string;
  agent_url: string;
  tunnel_suffix: string;
  port_range_start: number;
  port_range_end: number;
  capacity: number;
  allocated: number;
  status: string;
  cordoned: boolean;
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
}

export interface SessionsTable {
  id: string;
  token_hash: string;
  user_id: string;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  expires_at: Date;
  revoked_at: Date | null;
}

export type Role = 'owner' | 'admin' | 'member';

export interface MembershipsTable {
  org_id: string;
  user_id: string;
  role: Role;
  created_at: ColumnType<Date, Date | string | undefined, never>;
}

export type User = Selectable<UsersTable>;
