import { sql, type Kysely } from 'kysely';

/** Read models projected from the log, plus the worker's leases and the encrypted secrets. */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE mac_minis (
      id uuid PRIMARY KEY,
      hostname text NOT NULL,
      agent_url text NOT NULL,
      tunnel_suffix text NOT NULL,
      port_range_start integer NOT NULL,
      port_range_end integer NOT NULL,
      capacity integer NOT NULL,
      allocated integer NOT NULL DEFAULT 0,
      status text NOT NULL,
      cordoned boolean NOT NULL DEFAULT false,
      last_seen_at timestamptz,
      last_error text,
      version integer NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      CONSTRAINT mac_minis_allocated_within_capacity CHECK (allocated >= 0 AND allocated <= capacity),
      CONSTRAINT mac_minis_port_range CHECK (port_range_start > 0 AND port_range_end >= port_range_start AND port_range_end < 65536)
    )`.execute(db);
  await sql`CREATE UNIQUE INDEX mac_minis_live_hostname ON mac_minis (hostname) WHERE status <> 'removed'`.execute(
    db,
  );

  await sql`
    CREATE TABLE claws (
      id uuid PRIMARY KEY,
      org_id uuid NOT NULL,
      slug text NOT NULL,
      name text NOT NULL,
      status text NOT NULL,
      target text NOT NULL,
      mini_id uuid,
      mini_port integer,
      tunnel_hostname text,
      bucket text,
      last_error text,
      version integer NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      active_at timestamptz,
      agent_running boolean NOT NULL DEFAULT false,
      paired_device_id text,
      attempts integer NOT NULL DEFAULT 0,
      failed_step text,
      retry_at timestamptz,
      warmup_ms integer,
      work_pending boolean NOT NULL DEFAULT false
    )`.execute(db);
  // The allocator's safety net: a port on a Mini belongs to at most one claw that holds it.
  await sql`CREATE UNIQUE INDEX claws_live_port ON claws (mini_id, mini_port) WHERE mini_port IS NOT NULL`.execute(
    db,
  );
  await sql`CREATE UNIQUE INDEX claws_live_slug ON claws (org_id, slug) WHERE status <> 'deleted'`.execute(
    db,
  );
  await sql`CREATE INDEX claws_org ON claws (org_id, created_at)`.execute(db);
  await sql`CREATE INDEX claws_work ON claws (retry_at) WHERE work_pending`.execute(db);

  await sql`
    CREATE TABLE claw_leases (
      claw_id uuid PRIMARY KEY,
      owner text,
      expires_at timestamptz NOT NULL
    )`.execute(db);

  await sql`
    CREATE TABLE secrets (
      name text PRIMARY KEY,
      ciphertext text NOT NULL,
      fingerprint text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['secrets', 'claw_leases', 'claws', 'mac_minis'])
    await sql`DROP TABLE ${sql.table(t)}`.execute(db);
}
