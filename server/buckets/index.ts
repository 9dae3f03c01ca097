import { LocalBucketStore, type LocalBucketStoreOptions } from './local-bucket-store';
import { S3BucketStore, type S3Config } from './s3-bucket-store';
import type { BucketStore } from './types';

export {
  assertBucketName,
  assertObjectKey,
  bucketNameForClaw,
  DEFAULT_PRESIGN_SEC,
  MAX_PRESIGN_SEC,
  type BucketStore,
  type ObjectInfo,
  type PresignedRequest,
  type PresignOptions,
} from './types';
export { LocalBucketStore, type LocalBucketStoreOptions } from './local-bucket-store';
export { S3BucketStore, type S3Config } from './s3-bucket-store';

export type BucketConfig = S3Config | LocalBucketStoreOptions;

/** S3 (R2) when an endpoint and keys are configured, else local directories served over HTTP. */
export function createBucketStore(config: BucketConfig): BucketStore {
  return 'endpoint' in config ? new S3BucketStore(config) : new LocalBucketStore(config);
}
