import { sql, type Kysely } from 'kysely';
import type { Database } from './types';

/**
 * Least privilege on PostgreSQL: migrations (and the rebuild) run as the role that owns the schema,
 * the application as a role that may append to the log and read it, and nothing else on it. The
 * triggers on `events` refuse UPDATE, DELETE and TRUNCATE, but an owner can disable them and a
 * superuser can skip them (session_replication_role = replica); a role that is neither cannot,
 * and without UPDATE, DELETE or TRUNCATE privileges it is refused before any trigger runs.
 */

/** What the application role may do on a table; tables not named here are its ordinary read/write tables. */
const TABLE_PRIVILEGES: Readonly<Record<string, string>> = {
  events: 'SELECT, INSERT', // the log: append and read, never change
  kysely_migration: 'SELECT', // the app may check that the schema is current, never move it
  kysely_migration_lock: 'SELECT',
};
const READ_WRITE = 'SELECT, INSERT, UPDATE, DELETE';

/** The role a connection logs in as. */
export async function currentRole(db: Kysely<Database>): Promise<string> {
  const { rows } = await sql<{ role: string }>`SELECT current_user AS role`.execute(db);
  return rows[0]!.role;
}

/**
 * Grants `appRole` exactly the privileges above on every table and sequence of the schema, as the
 * schema's owner, in one transaction. Run after every migration: it first revokes whatever the
 * role had, so it is idempotent, covers tables that later migrations add, and repairs a grant made
 * by hand.
 */
export async function grantAppRole(ownerDb: Kysely<Database>, appRole: string): Promise<void> {
  await ownerDb.transaction().execute(async (trx) => {
    const { rows } = await sql<{ schema: string; table: string }>`
      SELECT current_schema() AS schema, tablename AS table
      FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`.execute(trx);
    const schema = sql.id(rows[0]?.schema ?? 'public');
    const role = sql.id(appRole);
    await sql`GRANT USAGE ON SCHEMA ${schema} TO ${role}`.execute(trx);
    await sql`REVOKE ALL ON ALL TABLES IN SCHEMA ${schema} FROM ${role}`.execute(trx);
    for (const { table } of rows) {
      const privileges = sql.raw(TABLE_PRIVILEGES[table] ?? READ_WRITE);
      await sql`GRANT ${privileges} ON TABLE ${sql.id(table)} TO ${role}`.execute(trx);
    }
    // Identity columns draw from their sequences without a privilege check; the grant is for
    // explicit nextval() callers. No UPDATE: setval() could move a sequence back.
    await sql`REVOKE ALL ON ALL SEQUENCES IN SCHEMA ${schema} FROM ${role}`.execute(trx);
    await sql`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${schema} TO ${role}`.execute(trx);
  });
}

/**
 * Why the connection's role could change the log despite its triggers (superuser, owner or member
 * of the owner of `events`, or UPDATE/DELETE/TRUNCATE granted), or null when it cannot. PostgreSQL
 * only: PGlite's one user is a superuser by design.
 */
export async function immutabilityBypass(db: Kysely<Database>): Promise<string | null> {
  const { rows } = await sql<{
    role: string;
    superuser: boolean;
    owner: boolean;
    changes: boolean;
  }>`
    SELECT current_user AS role,
      r.rolsuper AS superuser,
      pg_has_role(current_user, c.relowner, 'USAGE') AS owner,
      has_table_privilege(c.oid, 'UPDATE, DELETE, TRUNCATE') AS changes
    FROM pg_roles r, pg_class c
    WHERE r.rolname = current_user AND c.oid = 'events'::regclass`.execute(db);
  const r = rows[0];
  if (!r) return null;
  if (r.superuser) return `${r.role} is a superuser`;
  if (r.owner) return `${r.role} owns the events table (or is a member of its owner)`;
  if (r.changes) return `${r.role} may UPDATE, DELETE or TRUNCATE events`;
  return null;
}
