import { z } from 'zod';
import type { ClawsDatabase } from '../../db/client';

/**
 * "Access ended" announcements: a session ended (logout, revocation, password change), a member
 * left or was removed, an API token was revoked. Sent as a NOTIFY so every server instance closes
 * the chat sockets and live subscriptions that access carried (server/access/watch.ts), and
 * delivered in this process at once.
 */
export const ACCESS_CHANNEL = 'claws_access';

export const Revocation = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('session'), ids: z.array(z.uuid()).max(100) }),
  z.object({ kind: z.literal('membership'), orgId: z.uuid(), userId: z.uuid() }),
  z.object({ kind: z.literal('token'), id: z.uuid() }),
]);
export type Revocation = z.infer<typeof Revocation>;

type Listener = (r: Revocation) => void;
const holder = globalThis as typeof globalThis & { __clawsRevocationListeners?: Set<Listener> };
const localListeners = () => (holder.__clawsRevocationListeners ??= new Set());

/** In-process delivery (the watch subscribes here as well as to the channel). */
export function onLocalRevocation(listener: Listener): () => void {
  localListeners().add(listener);
  return () => localListeners().delete(listener);
}

export async function announceRevocation(database: ClawsDatabase, revocation: Revocation): Promise<void> {
  const messages: Revocation[] =
    revocation.kind === 'session'
      ? chunks(revocation.ids, 100).map((ids) => ({ kind: 'session', ids }))
      : [revocation];
  for (const m of messages) {
    for (const l of localListeners()) l(m);
    // Other instances; a lost notification is caught by the watch's periodic re-check.
    await database.notify(ACCESS_CHANNEL, JSON.stringify(m)).catch(() => {});
  }
}

function chunks<T>(items: T[], size: number): T[][] {
  if (items.length === 0) return [];
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A payload from the channel, or null (an empty payload is the listener's "reconnected"). */
export function parseRevocation(payload: string): Revocation | null {
  try {
    const r = Revocation.safeParse(JSON.parse(payload));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}
