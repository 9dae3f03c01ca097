import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/types';
import { CommandError } from '../../events/errors';

/**
 * The first platform admin, when CLAWS_ADMIN_EMAILS names nobody: a one-time code, printed once by
 * the server that created it and stored only as its hash, that a signed-in user redeems
 * (platform.redeemBootstrap). Nobody becomes admin by being the first to sign up.
 */
const hash = (code: string) => createHash('sha256').update(`claws-bootstrap:${code}`).digest('hex');
/** Five groups of five from an alphabet without look-alikes: typed by a person, 120+ bits. */
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
export function newBootstrapCode(): string {
  const bytes = randomBytes(25);
  const chars = [...bytes].map((b) => ALPHABET[b % ALPHABET.length]!);
  return [0, 5, 10, 15, 20].map((i) => chars.slice(i, i + 5).join('')).join('-');
}
export const normalizeBootstrapCode = (code: string) => code.trim().toUpperCase().replace(/\s+/g, '');

async function hasPlatformAdmin(db: Kysely<Database>): Promise<boolean> {
  return !!(await db
    .selectFrom('users')
    .select('id')
    .where('is_platform_admin', '=', true)
    .limit(1)
    .executeTakeFirst());
}

/**
 * At server start: when there is no platform admin and no bootstrap code yet, creates one and
 * returns it (for the log, once). Several instances starting at once: only one inserts, only it prints.
 */
export async function ensureBootstrapCode(db: Kysely<Database>): Promise<string | null> {
  if (await hasPlatformAdmin(db)) return null;
  const code = newBootstrapCode();
  const inserted = await db
    .insertInto('platform_bootstrap')
    .values({ code_hash: hash(code), redeemed_at: null, redeemed_by: null })
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted ? code : null;
}

/** An operator on the server (`claws admin bootstrap-code`): a fresh code, replacing an unredeemed one. */
export async function replaceBootstrapCode(db: Kysely<Database>): Promise<string> {
  const code = newBootstrapCode();
  await db
    .insertInto('platform_bootstrap')
    .values({ code_hash: hash(code), redeemed_at: null, redeemed_by: null })
    .onConflict((oc) =>
      oc
        .column('id')
        .doUpdateSet({ code_hash: hash(code), created_at: new Date(), redeemed_at: null, redeemed_by: null }),
    )
    .execute();
  return code;
}

/** Makes `userId` a platform admin if `code` is the unredeemed bootstrap code; consumes it. */
export async function redeemBootstrapCode(db: Kysely<Database>, userId: string, code: string): Promise<void> {
  const wrong = new CommandError('BAD_REQUEST', 'That bootstrap code is not valid (or was used already)');
  await db.transaction().execute(async (trx) => {
    const row = await sql<{ code_hash: string; redeemed_at: Date | null }>`
      SELECT code_hash, redeemed_at FROM platform_bootstrap WHERE id FOR UPDATE`
      .execute(trx)
      .then((r) => r.rows[0]);
    if (!row || row.redeemed_at) throw wrong;
    const given = Buffer.from(hash(normalizeBootstrapCode(code)), 'hex');
    if (!timingSafeEqual(given, Buffer.from(row.code_hash, 'hex'))) throw wrong;
    await trx
      .updateTable('platform_bootstrap')
      .set({ redeemed_at: new Date(), redeemed_by: userId })
      .execute();
    await trx.updateTable('users').set({ is_platform_admin: true }).where('id', '=', userId).execute();
  });
}

/** Operators on the server (`claws admin grant <email>`), and tests. */
export async function grantPlatformAdmin(db: Kysely<Database>, email: string): Promise<boolean> {
  const r = await db
    .updateTable('users')
    .set({ is_platform_admin: true })
    .where('email', '=', email.trim().toLowerCase())
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}
