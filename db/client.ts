import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PGliteDialect, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './types';

const INT8_OID = 20;
/** pg returns int8 as a string and PGlite as a number; both become numbers (positions stay below 2^53). */
const parseInt8 = (value: string) => Number(value);

export type DatabaseKind = 'pg' | 'pglite';

export interface DatabaseOptions {
  /** PostgreSQL connection string. Without it: embedded PGlite. */
  url?: string;
  /** PGlite data directory; omit for an in-memory database. */
  dataDir?: string;
  /** PGlite: start from a dumped data directory (a migrated snapshot, for fast tests). */
  loadDataDir?: Blob;
  poolSize?: number;
}

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
  return options.url ? createPg(options.url, options.poolSize ?? 10) : createPglite(options);
}

function createPg(url: string, max: number): ClawsDatabase {
  const types = {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
  };
  const pool = new pg.Pool({ connectionString: url, max, types });
  // An idle client that loses its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const listener = new PgListener(url);
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

/**
 * LISTEN needs a dedicated connection. It reconnects with backoff and tells every listener
 * (with an empty payload) once it is back, since notifications sent meanwhile are lost.
 */
class PgListener {
  #client: pg.Client | undefined;
  #connecting: Promise<pg.Client> | undefined;
  #handlers = new Map<string, Set<(payload: string) => void>>();
  #closed = false;
  #retryMs = 100;

  constructor(private readonly url: string) {}

  async listen(channel: string, cb: (payload: string) => void): Promise<() => Promise<void>> {
    let set = this.#handlers.get(channel);
    const first = !set;
    if (!set) this.#handlers.set(channel, (set = new Set()));
    set.add(cb);
    const client = await this.#connect();
    if (first) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    return async () => {
      set.delete(cb);
    };
  }

  #connect(): Promise<pg.Client> {
    if (this.#client) return Promise.resolve(this.#client);
    this.#connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.url });
      client.on('notification', (n) => {
        for (const cb of this.#handlers.get(n.channel) ?? []) cb(n.payload ?? '');
      });
      client.on('error', () => this.#lost(client));
      client.on('end', () => this.#lost(client));
      await client.connect();
      for (const channel of this.#handlers.keys())
        await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      this.#client = client;
      this.#retryMs = 100;
      return client;
    })().finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  #lost(client: pg.Client) {
    if (this.#client !== client) return;
    this.#client = undefined;
    if (this.#closed) return;
    const reconnect = () => {
      if (this.#closed) return;
      this.#connect().then(
        () => {
          for (const [, set] of this.#handlers) for (const cb of set) cb('');
        },
        () => {
          this.#retryMs = Math.min(this.#retryMs * 2, 5000);
          setTimeout(reconnect, this.#retryMs).unref();
        },
      );
    };
    setTimeout(reconnect, this.#retryMs).unref();
  }

  async close() {
    this.#closed = true;
    const client = this.#client ?? (await this.#connecting?.catch(() => undefined));
    this.#client = undefined;
    await client?.end().catch(() => {});
  }
}
