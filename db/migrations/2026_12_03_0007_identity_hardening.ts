import { sql, type Kysely } from 'kysely';

/**
 * Identity under abuse (issue 16): throttles and live leases kept in the database (so they hold
 * across server instances), sessions with an idle timeout, invitations, API tokens, and the
 * one-time platform bootstrap code. Ordinary tables, like the rest of identity.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // A sliding log per key: the timestamps of the admitted hits inside the window, at most `limit`.
  await sql`
    CREATE TABLE throttles (
      key text PRIMARY KEY,
      hits timestamptz[] NOT NULL,
      admitted boolean NOT NULL DEFAULT true,
      expires_at timestamptz NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX throttles_expiry ON throttles (expires_at)`.execute(db);

  // Long-lived connections (chat sockets, subscriptions), counted per principal across instances.
  // A lease is renewed by its instance while the connection lives; a crashed instance's expire.
  await sql`
    CREATE TABLE live_leases (
      id uuid PRIMARY KEY,
      principal text NOT NULL,
      kind text NOT NULL CHECK (kind IN ('chat', 'subscription')),
      expires_at timestamptz NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX live_leases_principal ON live_leases (principal, kind, expires_at)`.execute(db);

  await sql`ALTER TABLE sessions ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT now()`.execute(db);
  await sql`ALTER TABLE sessions ADD COLUMN user_agent text`.execute(db);
  await sql`ALTER TABLE sessions ADD COLUMN client_address text`.execute(db);
  await sql`ALTER TABLE users ADD COLUMN password_changed_at timestamptz`.execute(db);

  await sql`
    CREATE TABLE invitations (
      id uuid PRIMARY KEY,
      org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
      email text NOT NULL CHECK (email = lower(email)),
      role text NOT NULL CHECK (role IN ('admin', 'member')),
      token_hash text NOT NULL UNIQUE,
      invited_by uuid REFERENCES users (id) ON DELETE SET NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      accepted_at timestamptz,
      accepted_by uuid REFERENCES users (id) ON DELETE SET NULL,
      declined_at timestamptz,
      revoked_at timestamptz
    )`.execute(db);
  // One open invitation per address and organization; a new one replaces it.
  await sql`
    CREATE UNIQUE INDEX invitations_open ON invitations (org_id, email)
      WHERE accepted_at IS NULL AND declined_at IS NULL AND revoked_at IS NULL`.execute(db);
  await sql`CREATE INDEX invitations_email ON invitations (email)`.execute(db);

  await sql`
    CREATE TABLE api_tokens (
      id uuid PRIMARY KEY,
      org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
      name text NOT NULL,
      role text NOT NULL CHECK (role IN ('admin', 'member')),
      token_hash text NOT NULL UNIQUE,
      prefix text NOT NULL,
      created_by uuid REFERENCES users (id) ON DELETE SET NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_used_at timestamptz,
      revoked_at timestamptz
    )`.execute(db);
  await sql`CREATE INDEX api_tokens_org ON api_tokens (org_id)`.execute(db);

  // At most one row: the hash of the code that makes its redeemer the first platform admin.
  await sql`
    CREATE TABLE platform_bootstrap (
      id boolean PRIMARY KEY DEFAULT true CHECK (id),
      code_hash text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      redeemed_at timestamptz,
      redeemed_by uuid REFERENCES users (id) ON DELETE SET NULL
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE platform_bootstrap`.execute(db);
  await sql`DROP TABLE api_tokens`.execute(db);
  await sql`DROP TABLE invitations`.execute(db);
  await sql`ALTER TABLE users DROP COLUMN password_changed_at`.execute(db);
  await sql`ALTER TABLE sessions DROP COLUMN client_address`.execute(db);
  await sql`ALTER TABLE sessions DROP COLUMN user_agent`.execute(db);
  await sql`ALTER TABLE sessions DROP COLUMN last_seen_at`.execute(db);
  await sql`DROP TABLE live_leases`.execute(db);
  await sql`DROP TABLE throttles`.execute(db);
}
