import type { ClawsDatabase } from '../../db/client';
import type { SessionPolicy } from '../auth/session';
import { ACCESS_CHANNEL, onLocalRevocation, parseRevocation, type Revocation } from './revocations';

/** Why a live connection was ended; the chat proxy and subscriptions put it in their own terms. */
export type AccessEnded = 'session' | 'membership' | 'token';

export interface LiveAccess {
  /** The session that opened it (signed-in users). */
  sessionId?: string;
  userId?: string;
  /** The API token that opened it. */
  tokenId?: string;
  /** The organization it reads, when membership is what grants it. */
  orgId?: string;
  end(why: AccessEnded): void;
}

/** How often every live connection's access is checked again (covers lost notifications). */
const RECHECK_MS = 30_000;

/**
 * The process's register of live connections and what grants each: revocations close them at once
 * (announced locally and over the access channel), and a periodic re-check closes those whose
 * session expired or went idle, or whose revocation notice was lost. One per database handle
 * (accessWatchFor), shared by the chat proxy and the tRPC handler.
 */
export class AccessWatch {
  readonly #live = new Set<LiveAccess>();
  #timer: NodeJS.Timeout | undefined;
  #listening: Promise<(() => Promise<void>) | undefined> | undefined;
  readonly #offLocal: () => void;

  constructor(
    private readonly database: ClawsDatabase,
    private readonly policy: SessionPolicy,
  ) {
    this.#offLocal = onLocalRevocation((r) => this.#apply(r));
  }

  get size() {
    return this.#live.size;
  }

  register(access: LiveAccess): () => void {
    this.#live.add(access);
    this.#listening ??= this.database
      .listen(ACCESS_CHANNEL, (payload) => {
        const r = parseRevocation(payload);
        if (r) this.#apply(r);
        else void this.recheck(); // reconnected: notices may have been lost meanwhile
      })
      .catch(() => {
        this.#listening = undefined;
        return undefined;
      });
    this.#timer ??= setInterval(() => void this.recheck(), RECHECK_MS);
    this.#timer.unref();
    return () => {
      this.#live.delete(access);
      if (this.#live.size === 0) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    };
  }

  #end(access: LiveAccess, why: AccessEnded) {
    if (!this.#live.delete(access)) return;
    access.end(why);
  }

  #apply(r: Revocation) {
    for (const a of [...this.#live]) {
      if (r.kind === 'session' && a.sessionId && r.ids.includes(a.sessionId)) this.#end(a, 'session');
      else if (r.kind === 'membership' && a.orgId === r.orgId && a.userId === r.userId)
        this.#end(a, 'membership');
      else if (r.kind === 'token' && a.tokenId === r.id) this.#end(a, 'token');
    }
  }

  /** Checks every live connection's session, membership and token against the database. */
  async recheck(now = new Date()): Promise<void> {
    const live = [...this.#live];
    if (live.length === 0) return;
    const db = this.database.db;
    const sessionIds = [...new Set(live.flatMap((a) => (a.sessionId ? [a.sessionId] : [])))];
    const tokenIds = [...new Set(live.flatMap((a) => (a.tokenId ? [a.tokenId] : [])))];
    const userIds = [...new Set(live.flatMap((a) => (a.userId && a.orgId ? [a.userId] : [])))];
    try {
      const liveSessions = new Set(
        sessionIds.length
          ? (
              await db
                .selectFrom('sessions')
                .select('id')
                .where('id', 'in', sessionIds)
                .where('revoked_at', 'is', null)
                .where('expires_at', '>', now)
                .where('last_seen_at', '>', new Date(now.getTime() - this.policy.idleMs))
                .execute()
            ).map((r) => r.id)
          : [],
      );
      const liveTokens = new Set(
        tokenIds.length
          ? (
              await db
                .selectFrom('api_tokens')
                .select('id')
                .where('id', 'in', tokenIds)
                .where('revoked_at', 'is', null)
                .execute()
            ).map((r) => r.id)
          : [],
      );
      const memberships = new Set(
        userIds.length
          ? (
              await db
                .selectFrom('memberships')
                .select(['org_id', 'user_id'])
                .where('user_id', 'in', userIds)
                .execute()
            ).map((r) => `${r.org_id}:${r.user_id}`)
          : [],
      );
      for (const a of live) {
        if (a.sessionId && !liveSessions.has(a.sessionId)) this.#end(a, 'session');
        else if (a.tokenId && !liveTokens.has(a.tokenId)) this.#end(a, 'token');
        else if (a.userId && a.orgId && !memberships.has(`${a.orgId}:${a.userId}`))
          this.#end(a, 'membership');
      }
    } catch {
      // The database is away; the next round checks again.
    }
  }

  close() {
    clearInterval(this.#timer);
    this.#offLocal();
    void this.#listening?.then((unlisten) => unlisten?.());
  }
}

const holder = globalThis as typeof globalThis & { __clawsAccessWatches?: WeakMap<object, AccessWatch> };

export function accessWatchFor(database: ClawsDatabase, policy: SessionPolicy): AccessWatch {
  const watches = (holder.__clawsAccessWatches ??= new WeakMap());
  let w = watches.get(database);
  if (!w) watches.set(database, (w = new AccessWatch(database, policy)));
  return w;
}
