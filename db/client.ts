import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kysely, PGliteDialect, PostgresDialect, type PostgresPool } from 'kysely';
import pg from 'pg';
import { isConnectionError } from './errors';
import type { Database } from './types';

const INT8_OID = 20;
/** pg returns int8 as a string and PGlite as a number; both become numbers (positions stay below 2^53). */
const parseInt8 = (value: string) => Number(value);

export type DatabaseKind = 'pg' | 'pglite';

/**
 * PostgreSQL only: what every session of a pool starts with. The timeouts bound what one session
 * can do to everyone else: a statement or an idle open transaction holds locks, and every open
 * transaction holds back the commit-safe horizon the live feeds read below (EVENT-STORE.md §1.3).
 * PGlite has one session, the caller's own, and ignores them.
 */
export interface SessionSettings {
  /** `application_name`: how the session shows in pg_stat_activity and in the server's log. */
  applicationName?: string;
  /** `statement_timeout` in ms; 0 or absent leaves the server's (or the role's) setting. */
  statementTimeoutMs?: number;
  /** `idle_in_transaction_session_timeout` in ms; 0 or absent leaves the server's setting. */
  idleInTransactionTimeoutMs?: number;
}

/** Told when a PostgreSQL connection is lost (the pool replaces it; the listener reconnects). */
export interface ConnectionMonitor {
  lost(source: 'pool' | 'listener', err: Error): void;
  /** The LISTEN connection is back and listening again (notifications meanwhile are lost). */
  restored?(source: 'listener'): void;
}

export interface DatabaseOptions {
  /** PostgreSQL connection string. Without it: embedded PGlite. */
  url?: string;
  /** PGlite data directory; omit for an in-memory database. */
  dataDir?: string;
  /** PGlite: start from a dumped data directory (a migrated snapshot, for fast tests). */
  loadDataDir?: Blob;
  poolSize?: number;
  session?: SessionSettings;
  monitor?: ConnectionMonitor;
  /**
   * PostgreSQL only: how long a query waits for a connection while the database refuses them (a
   * restart takes well under a second) before it fails; 0 fails at once. Only opening a connection
   * is retried: a statement cut off mid-way may have committed, and only its caller knows whether
   * running it again is safe.
   */
  connectRetryMs?: number;
}

/** By default a query waits out a restart this long. */
export const DEFAULT_CONNECT_RETRY_MS = 5_000;

/** A connection attempt that hangs (a host that drops packets) fails after this instead of forever. */
const CONNECT_TIMEOUT_MS = 10_000;
/** TCP keepalive, so a connection to a host that vanished is noticed even while it is idle. */
const KEEPALIVE_DELAY_MS = 10_000;

const clientSettings = (url: string, session: SessionSettings = {}): pg.ClientConfig => ({
  connectionString: url,
  application_name: session.applicationName ?? 'claws',
  statement_timeout: session.statementTimeoutMs || undefined,
  idle_in_transaction_session_timeout: session.idleInTransactionTimeoutMs || undefined,
  connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  keepAlive: true,
  keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
});

/** A Kysely instance plus what Kysely does not cover: notifications and the raw handle. */
export interface ClawsDatabase {
  readonly kind: DatabaseKind;
  readonly db: Kysely<Database>;
  /** Deliver notifications on `channel` (from any process on PostgreSQL; in-process on PGlite). */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  notify(channel: string, payload: string): Promise<void>;
  /** PGlite only: the raw instance (for dumpDataDir in test snapshots). */
  readonly pglite?: PGlite;
  readonly pool?: pg.Pool;
  readonly url?: string;
  close(): Promise<void>;
}

export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
}

export async function createDatabase(options: DatabaseOptions = {}): Promise<ClawsDatabase> {
  return options.url ? createPg(options.url, options) : createPglite(options);
}

function createPg(url: string, options: DatabaseOptions): ClawsDatabase {
  const types = {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
  };
  const settings = clientSettings(url, options.session);
  const pool = new pg.Pool({ ...settings, max: options.poolSize ?? 10, types });
  // Reported once per client: its query may fail first and its 'error' event come after.
  const reported = new WeakSet<pg.ClientBase>();
  const lost = (client: pg.ClientBase, err: Error) => {
    if (reported.has(client)) return;
    reported.add(client);
    options.monitor?.lost('pool', err);
  };
  // A client whose connection dies emits 'error'; with no listener Node treats that as an uncaught
  // exception and exits (chaos finding 1). The pool listens only while a client is idle, so every
  // client gets a listener of its own for the time it is checked out too: a restart cuts those
  // mid-query, the query rejects, and patientPool has the pool drop the client on release.
  pool.on('connect', (client) => client.on('error', (err) => lost(client, err)));
  // The pool re-emits an idle client's error; the listener above has reported it already.
  pool.on('error', () => {});
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({
      pool: patientPool(pool, options.connectRetryMs ?? DEFAULT_CONNECT_RETRY_MS, lost),
    }),
  });
  const listener = new PgListener(settings, options.monitor);
  return {
    kind: 'pg',
    db,
    pool,
    url,
    listen: (channel, cb) => listener.listen(channel, cb),
    async notify(channel, payload) {
      await pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
    },
    async close() {
      await listener.close();
      await db.destroy();
    },
  };
}

/**
 * A statement whose text starts with this comment runs as a named prepared statement: PostgreSQL
 * parses and plans it once per connection, and every later run of the same text only binds and
 * executes. For hot statements whose text takes a bounded number of shapes (the append); a
 * statement built with a variable number of values would fill each connection's cache instead.
 * PGlite ignores the mark (it is a comment).
 */
export const PREPARED = '/* prepared */';
const preparedNames = new Map<string, string>();
const PREPARED_NAMES_MAX = 2_000;

function preparedIfMarked(args: unknown[]): unknown[] {
  const [text, values] = args;
  if (typeof text !== 'string' || !text.startsWith(PREPARED)) return args;
  let name = preparedNames.get(text);
  if (!name) {
    if (preparedNames.size >= PREPARED_NAMES_MAX) preparedNames.clear();
    name = `claws_${createHash('sha256').update(text).digest('base64url').slice(0, 24)}`;
    preparedNames.set(text, name);
  }
  return [{ name, text, values }];
}

/**
 * The pool as Kysely sees it, with three repairs for connections that die:
 * - connect() tries again, backing off, while the database cannot be reached, until `windowMs`
 *   has passed. A query issued during a restart is then only late, and so is the worker's
 *   bookkeeping after a step the restart cut (releasing its lease): without it the claw would wait
 *   for the lease to expire.
 * - a client whose query failed for its connection is thrown away on release. When the server
 *   ends a session (a restart, pg_terminate_backend) the running query gets the FATAL error, but
 *   node-postgres marks the client unusable only once the socket closes, a moment later; Kysely
 *   releases it in between, and the next query would take the dead client from the pool.
 * - a statement marked PREPARED runs as a named prepared statement (Kysely cannot name one).
 */
function patientPool(
  pool: pg.Pool,
  windowMs: number,
  lost: (client: pg.ClientBase, err: Error) => void,
): PostgresPool {
  const broken = new WeakSet<pg.PoolClient>();
  const watched = new WeakSet<pg.PoolClient>();
  const watch = (client: pg.PoolClient) => {
    if (watched.has(client)) return;
    watched.add(client);
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    Object.assign(client, {
      query: (...args: unknown[]) => {
        const result = query(...preparedIfMarked(args));
        if (result instanceof Promise)
          result.catch((err: unknown) => {
            if (!isConnectionError(err)) return;
            broken.add(client);
            lost(client, err as Error);
          });
        return result;
      },
    });
  };
  return {
    Client: pg.Client,
    options: pool.options,
    async connect() {
      const deadline = Date.now() + windowMs;
      for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
        try {
          const client = await pool.connect();
          watch(client);
          const release = client.release;
          // Kysely releases with `false` (not discarded): only our own mark turns that into "destroy".
          client.release = (err?: Error | boolean) =>
            release(err || (broken.has(client) ? new Error('connection lost') : undefined));
          return client;
        } catch (err) {
          if (!isConnectionError(err) || Date.now() + delay > deadline) throw err;
        }
        await sleep(delay);
      }
    },
    end: () => pool.end(),
  };
}

async function createPglite(options: DatabaseOptions): Promise<ClawsDatabase> {
  const release = options.dataDir ? lockDataDir(options.dataDir) : () => {};
  let pglite: PGlite;
  try {
    if (options.dataDir) fs.mkdirSync(options.dataDir, { recursive: true });
    pglite = await PGlite.create({
      dataDir: options.dataDir,
      loadDataDir: options.loadDataDir,
      parsers: { [INT8_OID]: parseInt8 },
    });
  } catch (err) {
    release();
    throw err;
  }
  const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) });
  return {
    kind: 'pglite',
    db,
    pglite,
    listen: (channel, cb) => pglite.listen(channel, cb).then((unlisten) => unlisten),
    async notify(channel, payload) {
      await pglite.query('SELECT pg_notify($1, $2)', [channel, payload]);
    },
    async close() {
      try {
        await db.destroy();
      } finally {
        release();
      }
    },
  };
}

/**
 * PGlite has no lock of its own and two processes on one data directory corrupt it, so the owner
 * writes its pid next to the directory and a second opener gets a clear error instead.
 */
function lockDataDir(dataDir: string): () => void {
  const lockFile = path.join(path.dirname(path.resolve(dataDir)), `${path.basename(dataDir)}.lock`);
  fs.mkdirSync(path.dirname(lockFile), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(lockFile, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(fs.readFileSync(lockFile, 'utf8').trim());
      if (owner && owner !== process.pid && isAlive(owner)) {
        throw new DataDirLockedError(
          `The embedded database ${dataDir} is in use by process ${owner}. Stop it first, or set DATABASE_URL to use PostgreSQL.`,
        );
      }
      fs.rmSync(lockFile, { force: true }); // stale: its owner died without cleaning up
    }
  }
  throw new DataDirLockedError(`Could not lock ${dataDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The listener's reconnect backoff: doubling from the first delay up to the cap. */
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 5000;

/**
 * LISTEN needs a dedicated connection. It reconnects with backoff, LISTENs on every channel again
 * and then tells every listener (with an empty payload), since notifications sent meanwhile are
 * lost and readers must re-read from their checkpoints. A database that is down when the first
 * listener comes does not fail the caller: the listener is registered and the same loop connects
 * once the database is back.
 */
class PgListener {
  #client: pg.Client | undefined;
  #connecting: Promise<pg.Client> | undefined;
  #handlers = new Map<string, Set<(payload: string) => void>>();
  #closed = false;
  #retryMs = RETRY_FIRST_MS;
  #retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly settings: pg.ClientConfig,
    private readonly monitor?: ConnectionMonitor,
  ) {}

  async listen(channel: string, cb: (payload: string) => void): Promise<() => Promise<void>> {
    let set = this.#handlers.get(channel);
    const first = !set;
    if (!set) this.#handlers.set(channel, (set = new Set()));
    set.add(cb);
    const unlisten = async () => {
      set.delete(cb);
    };
    let client: pg.Client;
    try {
      client = await this.#connect();
    } catch {
      this.#scheduleReconnect();
      return unlisten;
    }
    // A connection made before this channel was registered does not listen on it yet.
    if (first) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`).catch(() => this.#lost(client));
    return unlisten;
  }

  #connect(): Promise<pg.Client> {
    if (this.#client) return Promise.resolve(this.#client);
    this.#connecting ??= (async () => {
      const client = new pg.Client(this.settings);
      client.on('notification', (n) => {
        for (const cb of this.#handlers.get(n.channel) ?? []) cb(n.payload ?? '');
      });
      client.on('error', (err) => {
        if (this.#client === client) this.monitor?.lost('listener', err);
        this.#lost(client);
      });
      client.on('end', () => this.#lost(client));
      try {
        await client.connect();
        for (const channel of this.#handlers.keys())
          await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      } catch (err) {
        await client.end().catch(() => {});
        throw err;
      }
      if (this.#closed) {
        await client.end().catch(() => {});
        throw new Error('listener closed');
      }
      this.#client = client;
      this.#retryMs = RETRY_FIRST_MS;
      return client;
    })().finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  #lost(client: pg.Client) {
    if (this.#client !== client) return;
    this.#client = undefined;
    this.#scheduleReconnect();
  }

  #scheduleReconnect() {
    if (this.#closed || this.#retryTimer) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#closed || this.#client) return;
      this.#connect().then(
        () => {
          this.monitor?.restored?.('listener');
          for (const [, set] of this.#handlers) for (const cb of set) cb('');
        },
        () => {
          this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS);
          this.#scheduleReconnect();
        },
      );
    }, this.#retryMs);
    this.#retryTimer.unref();
  }

  async close() {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    const client = this.#client ?? (await this.#connecting?.catch(() => undefined));
    this.#client = undefined;
    await client?.end().catch(() => {});
  }
}
