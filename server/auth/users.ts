import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
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

/**
 * Creates a user. Nobody becomes platform admin by being first: only an address the operator
 * listed in CLAWS_ADMIN_EMAILS (`adminEmails`) does, or whoever redeems the bootstrap code
 * (server/auth/bootstrap.ts).
 */
export async function signup(
  db: Kysely<Database>,
  input: { email: string; password: string; name: string },
  opts: { adminEmails?: readonly string[] } = {},
): Promise<SessionUser> {
  const passwordHash = await hashPassword(input.password);
  const email = normalizeEmail(input.email);
  try {
    return await db
      .insertInto('users')
      .values({
        id: randomUUID(),
        email,
        name: input.name,
        password_hash: passwordHash,
        is_platform_admin: (opts.adminEmails ?? []).includes(email),
      })
      .returning(['id', 'email', 'name', 'is_platform_admin'])
      .executeTakeFirstOrThrow();
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

/**
 * Changes a password after checking the current one. The caller ends the user's other sessions
 * (someone who knew the old password may hold one).
 */
export async function changePassword(
  db: Kysely<Database>,
  userId: string,
  input: { currentPassword: string; newPassword: string },
): Promise<void> {
  const user = await db
    .selectFrom('users')
    .select(['password_hash'])
    .where('id', '=', userId)
    .executeTakeFirst();
  if (!user || !(await verifyPassword(input.currentPassword, user.password_hash)))
    throw new CommandError('BAD_REQUEST', 'The current password is wrong');
  if (input.currentPassword === input.newPassword)
    throw new CommandError('BAD_REQUEST', 'The new password must differ from the current one');
  await db
    .updateTable('users')
    .set({ password_hash: await hashPassword(input.newPassword), password_changed_at: new Date() })
    .where('id', '=', userId)
    .execute();
}
