import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, User } from '../../db/types';

/**
 * Sessions: a random token in an httpOnly cookie, stored only as its SHA-256. No next/* imports:
 * the WebSocket proxy authenticates upgrades with the same code (`authenticateCookieHeader`).
 * A session ends at the first of: logout or revocation, its absolute lifetime, or an idle period
 * with no authenticated request.
 */
export const SESSION_COOKIE = 'claws_session';
/**
 * In production the cookie is `__Host-` prefixed: browsers then accept it only with Secure, Path=/
 * and no Domain, so neither a sibling subdomain nor a plain-http page can plant or shadow it.
 */
export const HOST_SESSION_COOKIE = `__Host-${SESSION_COOKIE}`;
export const sessionCookieName = (secure: boolean) => (secure ? HOST_SESSION_COOKIE : SESSION_COOKIE);

export interface SessionPolicy {
  idleMs: number;
  lifetimeMs: number;
  /** Production: Secure and the `__Host-` name. */
  secure: boolean;
}
export const sessionPolicy = (cfg: {
  SESSION_IDLE_MINUTES: number;
  SESSION_LIFETIME_HOURS: number;
  production: boolean;
}): SessionPolicy => ({
  idleMs: cfg.SESSION_IDLE_MINUTES * 60_000,
  lifetimeMs: cfg.SESSION_LIFETIME_HOURS * 3_600_000,
  secure: cfg.production,
});
export const DEFAULT_SESSION_POLICY: SessionPolicy = {
  idleMs: 12 * 3_600_000,
  lifetimeMs: 7 * 24 * 3_600_000,
  secure: false,
};
/** last_seen_at is written at most this often per session: an idle timeout needs minutes, not every request. */
const TOUCH_EVERY_MS = 60_000;
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
  opts: { now?: Date; policy?: SessionPolicy; userAgent?: string | null; clientAddress?: string | null } = {},
): Promise<{ token: string; session: SessionInfo }> {
  const now = opts.now ?? new Date();
  const policy = opts.policy ?? DEFAULT_SESSION_POLICY;
  const token = newSessionToken();
  const session = {
    id: randomUUID(),
    createdAt: now,
    expiresAt: new Date(now.getTime() + policy.lifetimeMs),
  };
  const idleCutoff = new Date(now.getTime() - policy.idleMs);
  // The user's dead sessions go as a new one comes, so the table holds roughly the live ones.
  await db
    .deleteFrom('sessions')
    .where('user_id', '=', userId)
    .where((eb) =>
      eb.or([
        eb('expires_at', '<=', now),
        eb('revoked_at', 'is not', null),
        eb('last_seen_at', '<=', idleCutoff),
      ]),
    )
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
      last_seen_at: now,
      user_agent: opts.userAgent ? opts.userAgent.slice(0, 200) : null,
      client_address: opts.clientAddress ?? null,
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

/** Revokes every live session of a user except `keep` (a password change); the ids it revoked. */
export async function revokeUserSessions(
  db: Kysely<Database>,
  userId: string,
  keep?: string,
): Promise<string[]> {
  let q = db
    .updateTable('sessions')
    .set({ revoked_at: new Date() })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null);
  if (keep) q = q.where('id', '<>', keep);
  return (await q.returning('id').execute()).map((r) => r.id);
}

export interface SessionListing {
  id: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  userAgent: string | null;
  clientAddress: string | null;
}

/** A user's live sessions, newest activity first. */
export async function listSessions(
  db: Kysely<Database>,
  userId: string,
  policy: SessionPolicy = DEFAULT_SESSION_POLICY,
  now = new Date(),
): Promise<SessionListing[]> {
  const rows = await db
    .selectFrom('sessions')
    .select(['id', 'created_at', 'last_seen_at', 'expires_at', 'user_agent', 'client_address'])
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .where('last_seen_at', '>', new Date(now.getTime() - policy.idleMs))
    .orderBy('last_seen_at', 'desc')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    createdAt: r.created_at,
    lastSeenAt: r.last_seen_at,
    // The session ends at whichever comes first: its lifetime, or idling from its last request.
    expiresAt: new Date(Math.min(r.expires_at.getTime(), r.last_seen_at.getTime() + policy.idleMs)),
    userAgent: r.user_agent,
    clientAddress: r.client_address,
  }));
}

/** Revokes one of the user's own sessions; false when it is not theirs or already ended. */
export async function revokeOwnSession(db: Kysely<Database>, userId: string, sessionId: string) {
  const r = await db
    .updateTable('sessions')
    .set({ revoked_at: new Date() })
    .where('id', '=', sessionId)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** The live session a token belongs to, with its user; null when unknown, expired, idle or revoked. */
export async function authenticateToken(
  db: Kysely<Database>,
  token: string | undefined,
  policy: SessionPolicy = DEFAULT_SESSION_POLICY,
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
      'sessions.last_seen_at',
      'users.id',
      'users.email',
      'users.name',
      'users.is_platform_admin',
    ])
    .where('sessions.token_hash', '=', hashSessionToken(token))
    .where('sessions.revoked_at', 'is', null)
    .where('sessions.expires_at', '>', now)
    .where('sessions.last_seen_at', '>', new Date(now.getTime() - policy.idleMs))
    .executeTakeFirst();
  if (!row) return null;
  const { session_id, session_created_at, expires_at, last_seen_at, ...user } = row;
  if (now.getTime() - last_seen_at.getTime() > TOUCH_EVERY_MS)
    await db
      .updateTable('sessions')
      .set({ last_seen_at: now })
      .where('id', '=', session_id)
      .where('last_seen_at', '<', now)
      .execute();
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

export function sessionTokenFromCookieHeader(
  header: string | null | undefined,
  secure = false,
): string | undefined {
  return parseCookies(header)[sessionCookieName(secure)];
}

/**
 * Cookie header → the signed-in user and session, or null. The one check shared by tRPC's context
 * and the WebSocket proxy's upgrade handler.
 */
export function authenticateCookieHeader(
  db: Kysely<Database>,
  header: string | null | undefined,
  policy: SessionPolicy = DEFAULT_SESSION_POLICY,
): Promise<Authenticated | null> {
  return authenticateToken(db, sessionTokenFromCookieHeader(header, policy.secure), policy);
}

/** `Set-Cookie` for a new session: httpOnly, SameSite=Lax, Path=/; Secure and `__Host-` in production. */
export function sessionCookie(token: string, expiresAt: Date, secure: boolean): string {
  const maxAge = Math.max(0, Math.floor((expiresAt.getTime() - Date.now()) / 1000));
  return [
    `${sessionCookieName(secure)}=${token}`,
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
    `${sessionCookieName(secure)}=`,
    'Path=/',
    'HttpOnly',
    'SameSite=Lax',
    'Max-Age=0',
    'Expires=Thu, 01 Jan 1970 00:00:00 GMT',
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}
