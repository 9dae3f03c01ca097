import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../db/types';
import { asPgError } from '../../events/errors';
import { CommandError, conflict } from '../../events/errors';
import { text } from '../validation';
import { dummyHash, hashPassword, needsRehash, verifyPassword } from './passwords';
import type { SessionUser } from './session';

/** Emails are stored and compared trimmed and lowercased; the domain functions apply it themselves. */
export const normalizeEmail = (email: string) => email.trim().toLowerCase();
export const Email = z
  .string()
  .trim()
  .max(254, 'must be at most 254 characters')
  .pipe(z.email('must be an email address'))
  .transform(normalizeEmail);
export const Password = z
  .string()
  .min(8, 'must be at least 8 characters')
  .max(200, 'must be at most 200 characters');
export const UserName = text(1, 80);

/** Creates a user; the first user of an empty database becomes platform admin. */
export async function signup(
  db: Kysely<Database>,
  input: { email: string; password: string; name: string },
): Promise<SessionUser> {
  const passwordHash = await hashPassword(input.password);
  try {
    return await db.transaction().execute(async (trx) => {
      // Serializes signups just long enough to decide "first user" without a race.
      await sql`LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE`.execute(trx);
      const any = await trx.selectFrom('users').select('id').limit(1).executeTakeFirst();
      return trx
        .insertInto('users')
        .values({
          id: randomUUID(),
          email: normalizeEmail(input.email),
          name: input.name,
          password_hash: passwordHash,
          is_platform_admin: !any,
        })
        .returning(['id', 'email', 'name', 'is_platform_admin'])
        .executeTakeFirstOrThrow();
    });
  } catch (err) {
    if (asPgError(err).code === '23505') throw conflict('An account with this email already exists');
    throw err;
  }
}

export async function login(
  db: Kysely<Database>,
  input: { email: string; password: string },
): Promise<SessionUser> {
  const user = await db
    .selectFrom('users')
    .selectAll()
    .where('email', '=', normalizeEmail(input.email))
    .executeTakeFirst();
  const ok = await verifyPassword(input.password, user?.password_hash ?? (await dummyHash()));
  if (!user || !ok) throw new CommandError('BAD_REQUEST', 'Wrong email or password');
  if (needsRehash(user.password_hash))
    await db
      .updateTable('users')
      .set({ password_hash: await hashPassword(input.password) })
      .where('id', '=', user.id)
      .execute();
  return { id: user.id, email: user.email, name: user.name, is_platform_admin: user.is_platform_admin };
}
