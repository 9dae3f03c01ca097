import fs from 'node:fs/promises';
import path from 'node:path';
import { assertBucketName, type BucketStore } from './types';

/** Buckets as directories under a root: the default when no S3/R2 credentials are configured. */
export class LocalBucketStore implements BucketStore {
  readonly kind = 'local' as const;
  constructor(readonly rootDir: string) {}

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
}
