import { LocalBucketStore } from './local-bucket-store';
import { S3BucketStore, type S3Config } from './s3-bucket-store';
import type { BucketStore } from './types';

export { bucketNameForClaw, type BucketStore } from './types';
export { LocalBucketStore } from './local-bucket-store';

export type BucketConfig = S3Config | { rootDir: string };

/** S3 (R2) when an endpoint and keys are configured, else local directories. */
export function createBucketStore(config: BucketConfig): BucketStore {
  return 'endpoint' in config ? new S3BucketStore(config) : new LocalBucketStore(config.rootDir);
}
