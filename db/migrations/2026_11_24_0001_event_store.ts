import { sql, type Kysely } from 'kysely';

/** The append-only event log, its immutability triggers, and the organizations it refers to. */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE organizations (
      id uuid PRIMARY KEY,
      slug text NOT NULL UNIQUE,
      name text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);

  await sql`
    CREATE TABLE events (
      global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
      stream_id text NOT NULL,
      stream_version integer NOT NULL CHECK (stream_version > 0),
      event_type text NOT NULL,
      event_id uuid NOT NULL,
      data jsonb NOT NULL,
      schema_version smallint NOT NULL DEFAULT 1,
      actor text NOT NULL CHECK (actor ~ '^(user|system):.+'),
      correlation_id uuid NOT NULL,
      causation_id uuid,
      created_at timestamptz NOT NULL,
      CONSTRAINT events_stream_version_unique UNIQUE (stream_id, stream_version)
    )`.execute(db);
  // Readers of the global order page by (transaction_id, global_position) below the oldest open transaction.
  await sql`CREATE INDEX events_tx_position ON events (transaction_id, global_position)`.execute(db);

  await sql`
    CREATE FUNCTION events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'events are immutable: % refused', TG_OP USING ERRCODE = 'restrict_violation';
    END $$`.execute(db);
  await sql`
    CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_refuse_change()`.execute(db);
  await sql`
    CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change()`.execute(db);

  // Raises inside a single-statement append so that a projection guard can abort the whole statement.
  await sql`
    CREATE FUNCTION claws_assert(ok boolean, message text) RETURNS boolean LANGUAGE plpgsql AS $$
    BEGIN
      IF NOT ok THEN RAISE EXCEPTION '%', message USING ERRCODE = 'serialization_failure'; END IF;
      RETURN true;
    END $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE events`.execute(db);
  await sql`DROP FUNCTION events_refuse_change`.execute(db);
  await sql`DROP FUNCTION claws_assert`.execute(db);
  await sql`DROP TABLE organizations`.execute(db);
}
