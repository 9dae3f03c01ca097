import fs from 'node:fs/promises';
import path from 'node:path';
import { FailureError } from '../failure';
import { objectFile, startObjectServer, type RunningObjectServer } from './local-object-server';
import { EXPIRES_PARAM, LocalUrlSigner, SIGNATURE_PARAM } from './local-signing';
import {
  assertBucketName,
  assertObjectKey,
  assertObjectPrefix,
  isObjectKey,
  presignLifetime,
  type BucketStore,
  type ObjectInfo,
  type PresignedRequest,
  type PresignOptions,
} from './types';

export interface LocalBucketStoreOptions {
  rootDir: string;
  /**
   * Where the object server listens: 127.0.0.1 unless told. Minis on other hosts need an address
   * they can reach, and with a wildcard (0.0.0.0) also a publicBaseUrl to put into URLs.
   */
  listenHost?: string;
  /** 0 (unless told): any free port. */
  listenPort?: number;
  /** What URLs start with instead of the bound address, e.g. behind a proxy or NAT. */
  publicBaseUrl?: string;
  /** The largest object a PUT may upload: 8 GiB unless told. */
  maxObjectBytes?: number;
  /** Milliseconds since the epoch: tests move it to expire URLs. */
  now?: () => number;
}

const GIB = 1024 ** 3;

/**
 * Buckets as directories under a root, objects as files in them: the default when no S3/R2
 * credentials are configured. Objects are reached by presigned URLs all the same, served by a small
 * HTTP server started on first use, so a Mini's side of a backup does not depend on the store kind.
 */
export class LocalBucketStore implements BucketStore {
  readonly kind = 'local' as const;
  readonly rootDir: string;
  readonly #options: LocalBucketStoreOptions;
  readonly #signer = new LocalUrlSigner();
  readonly #now: () => number;
  #server: Promise<RunningObjectServer> | undefined;

  /** A bare directory is the options' `rootDir` (how the store was built before it served objects). */
  constructor(options: LocalBucketStoreOptions | string) {
    this.#options = typeof options === 'string' ? { rootDir: options } : options;
    this.rootDir = this.#options.rootDir;
    this.#now = this.#options.now ?? Date.now;
  }

  async create(name: string): Promise<void> {
    assertBucketName(name);
    await fs.mkdir(path.join(this.rootDir, name), { recursive: true });
  }

  async delete(name: string): Promise<void> {
    assertBucketName(name);
    await fs.rm(path.join(this.rootDir, name), { recursive: true, force: true });
  }

  async exists(name: string): Promise<boolean> {
    assertBucketName(name);
    return fs.stat(path.join(this.rootDir, name)).then(
      (s) => s.isDirectory(),
      () => false,
    );
  }

  /** The server's origin, starting it on first use; a failed start is tried again next time. */
  #origin(): Promise<string> {
    this.#server ??= startObjectServer({
      rootDir: this.rootDir,
      signer: this.#signer,
      maxObjectBytes: this.#options.maxObjectBytes ?? 8 * GIB,
      now: this.#now,
      host: this.#options.listenHost ?? '127.0.0.1',
      port: this.#options.listenPort ?? 0,
    }).catch((err: unknown) => {
      this.#server = undefined;
      const code = (err as { code?: string }).code ?? 'error';
      throw new FailureError('retryable', `Local bucket server could not listen (${code})`);
    });
    return this.#server.then((s) => this.#options.publicBaseUrl?.replace(/\/+$/, '') ?? s.origin);
  }

  async #presign(
    method: 'PUT' | 'GET',
    bucket: string,
    key: string,
    options?: PresignOptions,
  ): Promise<PresignedRequest> {
    assertBucketName(bucket);
    assertObjectKey(key);
    const expires = Math.floor(this.#now() / 1000) + presignLifetime(options);
    const url = new URL(`${await this.#origin()}/${bucket}/${key}`);
    url.searchParams.set(EXPIRES_PARAM, String(expires));
    url.searchParams.set(SIGNATURE_PARAM, this.#signer.sign({ method, bucket, key, expires }));
    return { url: url.toString(), method, headers: {}, expiresAt: new Date(expires * 1000).toISOString() };
  }

  presignPut(bucket: string, key: string, options?: PresignOptions): Promise<PresignedRequest> {
    return this.#presign('PUT', bucket, key, options);
  }

  presignGet(bucket: string, key: string, options?: PresignOptions): Promise<PresignedRequest> {
    return this.#presign('GET', bucket, key, options);
  }

  async listObjects(bucket: string, prefix: string): Promise<ObjectInfo[]> {
    assertBucketName(bucket);
    assertObjectPrefix(prefix);
    if (!(await this.exists(bucket)))
      throw new FailureError('permanent', `Local list ${bucket} failed: NoSuchBucket`, 404);
    const out: ObjectInfo[] = [];
    await collect(path.join(this.rootDir, bucket), '', prefix, out);
    // S3 lists in byte order of the keys; keys are ASCII, so code-unit order is the same.
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    assertBucketName(bucket);
    assertObjectKey(key);
    const bucketDir = path.join(this.rootDir, bucket);
    const file = objectFile(this.rootDir, bucket, key);
    const stat = await fs.lstat(file).catch(() => undefined);
    if (!stat?.isFile()) return; // already gone (or never an object: a directory of other keys)
    await fs.rm(file, { force: true });
    // Empty directories left behind would block a later object of that name, so they go too, up
    // to (not including) the bucket's own directory; rmdir stops at the first one still in use.
    for (let dir = path.dirname(file); dir.startsWith(bucketDir + path.sep); dir = path.dirname(dir)) {
      const removed = await fs.rmdir(dir).then(
        () => true,
        () => false,
      );
      if (!removed) break;
    }
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    await (await server?.catch(() => undefined))?.close();
  }
}

/** Files under `dir` (whose key so far is `rel`) with keys starting with `prefix`. */
async function collect(dir: string, rel: string, prefix: string, out: ObjectInfo[]): Promise<void> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const key = rel ? `${rel}/${entry.name}` : entry.name;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      // Only descend where keys could still start with the prefix.
      const asDir = `${key}/`;
      if (asDir.startsWith(prefix) || prefix.startsWith(asDir)) await collect(full, key, prefix, out);
    } else if (entry.isFile() && key.startsWith(prefix) && isObjectKey(key)) {
      // Skips uploads in progress too: their names are not valid keys.
      const stat = await fs.stat(full).catch(() => undefined);
      if (stat) out.push({ key, bytes: stat.size, lastModified: stat.mtime });
    }
  }
}
