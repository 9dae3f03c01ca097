import { permanent } from '../failure';

/**
 * One request a Mini may make without holding any bucket credentials: the signature travels in the
 * URL, and it covers exactly one method, one bucket and one object key until `expiresAt`.
 */
export interface PresignedRequest {
  url: string;
  method: 'PUT' | 'GET';
  /** Headers the request must carry as well (a PUT also needs its Content-Length). */
  headers: Record<string, string>;
  /** ISO 8601. */
  expiresAt: string;
}

export interface PresignOptions {
  /** Seconds the URL stays valid: 15 minutes unless told, at most an hour. */
  expiresInSec?: number;
}

export interface ObjectInfo {
  key: string;
  bytes: number;
  lastModified: Date;
}

/**
 * A per-claw backup bucket store. Create and delete (of buckets and of objects) are idempotent. The
 * control plane holds its credentials; Minis only ever get presigned URLs.
 */
export interface BucketStore {
  readonly kind: 's3' | 'local';
  create(name: string): Promise<void>;
  delete(name: string): Promise<void>;
  exists(name: string): Promise<boolean>;
  /** A URL that uploads one object (any size: the payload is not signed, only its key). */
  presignPut(bucket: string, key: string, options?: PresignOptions): Promise<PresignedRequest>;
  /** A URL that downloads one object. */
  presignGet(bucket: string, key: string, options?: PresignOptions): Promise<PresignedRequest>;
  /** Every object whose key starts with `prefix` ('' for all), in key order. */
  listObjects(bucket: string, prefix: string): Promise<ObjectInfo[]>;
  /** Succeeds when the object (or its bucket) is already gone. */
  deleteObject(bucket: string, key: string): Promise<void>;
  /** Releases what the store holds open (the local store's HTTP server). */
  close(): Promise<void>;
}

const VALID = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

export const isBucketName = (name: string) => VALID.test(name) && !name.includes('--');

export function assertBucketName(name: string): void {
  if (!isBucketName(name)) throw permanent(`Invalid bucket name: ${JSON.stringify(name)}`);
}

const KEY_CHARS = /^[A-Za-z0-9._/-]*$/;
export const MAX_KEY_LENGTH = 512;

/**
 * Object keys are a deliberately small alphabet: the same key is a file path in the local store and
 * a URL path on S3, so nothing may need escaping, climb out of the bucket (`..`) or collapse (`//`).
 */
export function isObjectKey(key: string): boolean {
  if (key.length < 1 || key.length > MAX_KEY_LENGTH || !KEY_CHARS.test(key)) return false;
  return key.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

export function assertObjectKey(key: string): void {
  if (!isObjectKey(key)) throw permanent(`Invalid object key: ${JSON.stringify(key.slice(0, 600))}`);
}

/** A listing prefix: '' or the start of a key (so it may end in '/', or part-way through a segment). */
export function assertObjectPrefix(prefix: string): void {
  if (prefix === '') return;
  // A prefix ending in '/' is a key's directory part; checking it with a stand-in last segment
  // applies every rule of keys to what comes before.
  const asKey = prefix.endsWith('/') ? `${prefix}x` : prefix;
  if (prefix.length > MAX_KEY_LENGTH || !isObjectKey(asKey))
    throw permanent(`Invalid object prefix: ${JSON.stringify(prefix.slice(0, 600))}`);
}

export const DEFAULT_PRESIGN_SEC = 15 * 60;
export const MAX_PRESIGN_SEC = 60 * 60;

/** The lifetime of a presigned URL in whole seconds, refusing what no caller should ask for. */
export function presignLifetime(options: PresignOptions = {}): number {
  const sec = options.expiresInSec ?? DEFAULT_PRESIGN_SEC;
  if (!Number.isInteger(sec) || sec < 1 || sec > MAX_PRESIGN_SEC)
    throw permanent(`Invalid presign expiry: ${sec}s (1 to ${MAX_PRESIGN_SEC})`);
  return sec;
}

/** The bucket of a claw: deterministic, so a retried create finds the one it made before. */
export function bucketNameForClaw(clawId: string, prefix = 'claws'): string {
  return `${prefix}-${clawId.toLowerCase().replace(/[^a-z0-9]/g, '')}`.slice(0, 63);
}
