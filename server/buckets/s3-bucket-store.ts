import { AwsClient } from 'aws4fetch';
import { FailureError } from '../failure';
import { presignS3Url } from './s3-presign';
import { errorCode, parseListObjectsV2, type ListPage } from './s3-xml';
import {
  assertBucketName,
  assertObjectKey,
  assertObjectPrefix,
  presignLifetime,
  type BucketStore,
  type ObjectInfo,
  type PresignedRequest,
  type PresignOptions,
} from './types';

export interface S3Config {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region?: string;
  timeoutMs?: number;
  /** The clock presigned URLs are dated by (tests set it in the past to get expired URLs). */
  now?: () => number;
  /** Keys per ListObjectsV2 page: S3's maximum, 1000, unless told (tests make pages small). */
  listPageSize?: number;
}

interface S3Response {
  status: number;
  body: string;
}

/**
 * The URL path of an object, path-style. Valid keys need no escaping (assertObjectKey), but delete
 * also removes whatever else a listing shows, so each segment is encoded anyway.
 */
const objectPath = (bucket: string, key: string) =>
  `/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;

/**
 * Buckets and their objects through the S3 REST API (R2 is S3-compatible), path-style, signed with
 * SigV4 by aws4fetch. Create and delete are idempotent: "already yours" and "already gone" are
 * successes. Failure messages carry S3's error code, never a credential.
 */
export class S3BucketStore implements BucketStore {
  readonly kind = 's3' as const;
  readonly #endpoint: URL;
  readonly #client: AwsClient;
  readonly #region: string;
  constructor(private readonly config: S3Config) {
    this.#endpoint = new URL(config.endpoint);
    this.#region = config.region ?? 'auto';
    // No retries inside the client: the provisioning worker decides on retries from the failure's
    // kind, and a hidden retry loop would only stretch the timeout.
    this.#client = new AwsClient({
      accessKeyId: config.accessKeyId,
      secretAccessKey: config.secretAccessKey,
      region: this.#region,
      service: 's3',
      retries: 0,
    });
  }

  async #request(method: string, path: string, query: Record<string, string> = {}): Promise<S3Response> {
    const url = new URL(path, this.#endpoint);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    try {
      const signed = await this.#client.sign(url, { method });
      const res = await fetch(signed, { signal: AbortSignal.timeout(this.config.timeoutMs ?? 10_000) });
      return { status: res.status, body: await res.text() };
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      throw new FailureError('retryable', `S3 endpoint ${this.#endpoint.host} unreachable (${cause})`);
    }
  }

  #fail(op: string, name: string, r: S3Response): never {
    const code = errorCode(r.body) || `HTTP${r.status}`;
    const kind = r.status >= 500 || r.status === 429 ? 'retryable' : 'permanent';
    throw new FailureError(kind, `S3 ${op} ${name} failed: ${code} (HTTP ${r.status})`, r.status);
  }

  async create(name: string): Promise<void> {
    assertBucketName(name);
    const r = await this.#request('PUT', `/${name}`);
    if (r.status === 200) return;
    if (r.status === 409 && errorCode(r.body) === 'BucketAlreadyOwnedByYou') return;
    // Some S3-compatible servers answer BucketAlreadyExists to its own owner too: if these
    // credentials can reach the bucket, it is ours (a retried create), otherwise someone else's.
    if (
      r.status === 409 &&
      errorCode(r.body) === 'BucketAlreadyExists' &&
      (await this.exists(name).catch(() => false))
    )
      return;
    this.#fail('create', name, r);
  }

  async exists(name: string): Promise<boolean> {
    assertBucketName(name);
    const r = await this.#request('HEAD', `/${name}`);
    if (r.status === 200) return true;
    if (r.status === 404) return false;
    this.#fail('head', name, r);
  }

  async delete(name: string): Promise<void> {
    assertBucketName(name);
    // A bucket must be empty before it can go: delete its objects page by page first. Each round
    // lists from the start again, since the objects just deleted are no longer there.
    for (let page = 0; page < 10_000; page++) {
      const list = await this.#listPage(name, '');
      if (list === 'no-bucket') return;
      if (list.objects.length === 0) break;
      for (const { key } of list.objects) await this.#deleteKey(name, key);
    }
    const r = await this.#request('DELETE', `/${name}`);
    if (r.status === 204 || r.status === 200 || r.status === 404) return;
    this.#fail('delete', name, r);
  }

  async #listPage(bucket: string, prefix: string, token?: string): Promise<ListPage | 'no-bucket'> {
    const query: Record<string, string> = {
      'list-type': '2',
      'max-keys': String(this.config.listPageSize ?? 1000),
    };
    if (prefix) query.prefix = prefix;
    if (token) query['continuation-token'] = token;
    const r = await this.#request('GET', `/${bucket}`, query);
    if (r.status === 404) return 'no-bucket';
    if (r.status !== 200) this.#fail('list', bucket, r);
    return parseListObjectsV2(r.body);
  }

  async #deleteKey(bucket: string, key: string): Promise<void> {
    const r = await this.#request('DELETE', objectPath(bucket, key));
    // 404: the object or the whole bucket is already gone, which is what was asked.
    if (r.status === 204 || r.status === 200 || r.status === 404) return;
    this.#fail('delete object in', bucket, r);
  }

  async #presign(
    method: 'PUT' | 'GET',
    bucket: string,
    key: string,
    options?: PresignOptions,
  ): Promise<PresignedRequest> {
    assertBucketName(bucket);
    assertObjectKey(key);
    const { url, expiresAt } = await presignS3Url({
      method,
      url: new URL(objectPath(bucket, key), this.#endpoint),
      credentials: {
        accessKeyId: this.config.accessKeyId,
        secretAccessKey: this.config.secretAccessKey,
        region: this.#region,
      },
      expiresInSec: presignLifetime(options),
      now: (this.config.now ?? Date.now)(),
    });
    return { url, method, headers: {}, expiresAt };
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
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      const page = await this.#listPage(bucket, prefix, token);
      if (page === 'no-bucket')
        throw new FailureError('permanent', `S3 list ${bucket} failed: NoSuchBucket (HTTP 404)`, 404);
      out.push(...page.objects);
      token = page.nextToken;
    } while (token);
    return out;
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    assertBucketName(bucket);
    assertObjectKey(key);
    await this.#deleteKey(bucket, key);
  }

  /** Nothing is held open: every call is its own request. */
  async close(): Promise<void> {}
}
