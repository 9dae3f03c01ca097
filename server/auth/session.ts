import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, User } from '../../db/types';

/**
 * Sessions: a random token in an httpOnly cookie, stored only as its SHA-256. No next/* imports:
 * the WebSocket proxy authenticates upgrades with the same code (`authenticateCookieHeader`).
 */
export const SESSION_COOKIE = 'claws_session';
export const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;
const TOKEN_BYTES = 32;
/** base64url of 32 bytes is 43 characters; anything else is not one of ours and costs no query. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export type SessionUser = Pick<User, 'id' | 'email' | 'name' | 'is_platform_admin'>;
export interface SessionInfo {
  id: string;
  createdAt: Date;
  expiresAt: Date;
}
export interface Authenticated {
  user: SessionUser;
  session: SessionInfo;
}

export const newSessionToken = () => randomBytes(TOKEN_BYTES).toString('base64url');
export const hashSessionToken = (token: string) => createHash('sha256').update(token).digest('hex');

export async function createSession(
  db: Kysely<Database>,
  userId: string,
  now = new Date(),
): Promise<{ token: string; session: SessionInfo }> {
  const token = newSessionToken();
  const session = { id: randomUUID(), createdAt: now, expiresAt: new Date(now.getTime() + SESSION_TTL_MS) };
  // The user's dead sessions go as a new one comes, so the table holds roughly the live ones.
  await db
    .deleteFrom('sessions')
    .where('user_id', '=', userId)
    .where((eb) => eb.or([eb('expires_at', '<=', now), eb('revoked_at', 'is not', null)]))
    .execute();
  await db
    .insertInto('sessions')
    .values({
      id: session.id,
      token_hash: hashSessionToken(token),
      user_id: userId,
      created_at: now,
      expires_at: session.expiresAt,
      revoked_at: null,
    })
    .execute();
  return { token, session };
}

/** Revokes one session (logout). Idempotent. */
export async function revokeSession(db: Kysely<Database>, sessionId: string): Promise<void> {
  await db
    .updateTable('sessions')
    .set({ revoked_at: new Date() })
    .where('id', '=', sessionId)
    .where('revoked_at', 'is', null)
    .execute();
}

/** The live session a token belongs to, with its user; null when unknown, expired or revoked. */
export async function authenticateToken(
  db: Kysely<Database>,
  token: string | undefined,
  now = new Date(),
): Promise<Authenticated | null> {
  if (!token || !TOKEN_SHAPE.test(token)) return null;
  const row = await db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select([
      'sessions.id as session_id',
      'sessions.created_at as session_created_at',
      'sessions.expires_at',
      'users.id',
      'users.email',
      'users.name',
      'users.is_platform_admin',
    ])
    .where('sessions.token_hash', '=', hashSessionToken(token))
    .where('sessions.revoked_at', 'is', null)
    .where('sessions.expires_at', '>', now)
    .executeTakeFirst();
  if (!row) return null;
  const { session_id, session_created_at, expires_at, ...user } = row;
  return { user, session: { id: session_id, createdAt: session_created_at, expiresAt: expires_at } };
}

/** Cookie header → name/value pairs. The first of a repeated name wins; malformed values are skipped. */
export function parseCookies(header: string | null | undefined): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const k = part.slice(0, i).trim();
    if (!k || k in out) continue;
    let v = part.slice(i + 1).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    try {
      out[k] = decodeURIComponent(v);
    } catch {
      // a malformed cookie is simply not there
    }
  }
  return out;
}

export function sessionTokenFromCookieHeader(header: string | null | undefined): string | undefined {
  return parseCookies(header)[SESSION_COOKIE];
}

/**
 * Cookie header → the signed-in user and session, or null. The one check shared by tRPC's context
 * and the WebSocket proxy's upgrade handler.
 */
export function authenticateCookieHeader(
  db: Kysely<Database>,
  header: string | null | undefined,
): Promise<Authenticated | null> {
  return authenticateToken(db, sessionTokenFromCookieHeader(header));
}

/** `Set-Cookie` for a new session: httpOnly, SameSite=Lax, Path=/, Secure in production. */
export function sessionCookie(token: string, expiresAt: Date, secure: boolean): string {
  const maxAge = Math.max(0, Math.floor((expiresAt.getTime() - Date.now()) / 1000));
  return [
    `${SESSION_COOKIE}=${token}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Lax',
    `Max-Age=${maxAge}`,
    `Expires=${expiresAt.toUTCString()}`,
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}

export function clearedSessionCookie(secure: boolean): string {
  return [
    `${SESSION_COOKIE}=`,
    'Path=/',
    'HttpOnly',
    'SameSite=Lax',
    'Max-Age=0',
    'Expires=Thu, 01 Jan 1970 00:00:00 GMT',
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}
