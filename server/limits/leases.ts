import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database, LeaseKind } from '../../db/types';
import { TooManyRequestsError } from './errors';

/** How long a lease outlives its last renewal: a crashed instance's connections stop counting after this. */
export const LEASE_TTL_MS = 60_000;
const RENEW_EVERY_MS = 20_000;

const WHAT: Record<LeaseKind, string> = {
  chat: 'chat connections',
  subscription: 'live updates (open dashboard tabs)',
};

/**
 * Caps on long-lived connections per principal (chat sockets, live subscriptions), held in the
 * database so every server instance counts the same connections. Each open connection holds a
 * lease that its instance renews while it lives; closing it releases the lease, and a lease whose
 * instance died expires. One per database handle per process (leaseBookFor).
 */
export class LeaseBook {
  readonly #mine = new Set<string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly db: Kysely<Database>) {}

  /** A lease for one more connection of `kind`, or TooManyRequestsError when `principal` holds `limit`. */
  async acquire(principal: string, kind: LeaseKind, limit: number): Promise<string> {
    const id = randomUUID();
    const admitted = await this.db.transaction().execute(async (trx) => {
      // Serializes acquisitions of one principal's leases across instances for this transaction.
      await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`lease:${principal}:${kind}`}, 0))`.execute(
        trx,
      );
      await trx
        .deleteFrom('live_leases')
        .where('principal', '=', principal)
        .where('expires_at', '<=', new Date())
        .execute();
      const { n } = await trx
        .selectFrom('live_leases')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('principal', '=', principal)
        .where('kind', '=', kind)
        .executeTakeFirstOrThrow();
      if (Number(n) >= limit) return false;
      await trx
        .insertInto('live_leases')
        .values({ id, principal, kind, expires_at: new Date(Date.now() + LEASE_TTL_MS) })
        .execute();
      return true;
    });
    if (!admitted)
      throw new TooManyRequestsError(
        `Too many ${WHAT[kind]} at once (at most ${limit}); close one first`,
        Math.ceil(RENEW_EVERY_MS / 1000),
      );
    this.#mine.add(id);
    this.#schedule();
    return id;
  }

  async release(id: string): Promise<void> {
    if (!this.#mine.delete(id)) return;
    await this.db
      .deleteFrom('live_leases')
      .where('id', '=', id)
      .execute()
      .catch(() => {}); // it expires on its own
    if (this.#mine.size === 0) this.#stop();
  }

  get held(): number {
    return this.#mine.size;
  }

  #schedule() {
    this.#timer ??= setInterval(() => void this.#renew(), RENEW_EVERY_MS);
    this.#timer.unref();
  }

  #stop() {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #renew() {
    if (this.#mine.size === 0) return;
    await this.db
      .updateTable('live_leases')
      .set({ expires_at: new Date(Date.now() + LEASE_TTL_MS) })
      .where('id', 'in', [...this.#mine])
      .execute()
      .catch(() => {}); // next round; the TTL covers two missed renewals
  }
}

const holder = globalThis as typeof globalThis & { __clawsLeaseBooks?: WeakMap<object, LeaseBook> };

/**
 * The process's lease book for a database. On globalThis: the chat proxy (server/main.ts) and the
 * tRPC handler (Next's module graph) must renew through one book.
 */
export function leaseBookFor(db: Kysely<Database>): LeaseBook {
  const books = (holder.__clawsLeaseBooks ??= new WeakMap());
  let book = books.get(db);
  if (!book) books.set(db, (book = new LeaseBook(db)));
  return book;
}
