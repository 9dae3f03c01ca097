import { permanent } from '../failure';

/** A per-claw backup bucket store. Create and delete are idempotent. */
export interface BucketStore {
  readonly kind: 's3' | 'local';
  create(name: string): Promise<void>;
  delete(name: string): Promise<void>;
  exists(name: string): Promise<boolean>;
}

const VALID = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

export function assertBucketName(name: string): void {
  if (!VALID.test(name) || name.includes('--'))
    throw permanent(`Invalid bucket name: ${JSON.stringify(name)}`);
}

/** The bucket of a claw: deterministic, so a retried create finds the one it made before. */
export function bucketNameForClaw(clawId: string, prefix = 'claws'): string {
  return `${prefix}-${clawId.toLowerCase().replace(/[^a-z0-9]/g, '')}`.slice(0, 63);
}
