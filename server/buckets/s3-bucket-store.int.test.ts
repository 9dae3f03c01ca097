import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
// s3rver: a local S3-compatible server (it verifies SigV4 signatures with its S3RVER/S3RVER keys).
import S3rver from 's3rver';
import { freePort, tempDir } from '../../tests/fixtures/processes';
import { hashPayload, signRequest } from './sigv4';
import { S3BucketStore } from './s3-bucket-store';
import { FailureError } from '../failure';
import { bucketNameForClaw } from './types';

describe('S3 bucket store against a local S3-compatible server', () => {
  let server: { run(): Promise<unknown>; close(): Promise<void> };
  let endpoint: string;
  const dir = tempDir('claws-s3-');
  const creds = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', region: 'us-east-1' };

  before(async () => {
    const port = await freePort();
    server = new S3rver({ address: '127.0.0.1', port, directory: dir, silent: true });
    await server.run();
    endpoint = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    await server?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates a bucket idempotently, deletes it with its objects, idempotently', async () => {
    const store = new S3BucketStore({ endpoint, ...creds });
    const name = bucketNameForClaw('6b1f9f2e-0a4c-4d7e-9b0a-3c2d1e0f9a8b');
    assert.equal(await store.exists(name), false);
    await store.create(name);
    await store.create(name); // already ours: fine
    assert.equal(await store.exists(name), true);

    // Put an object with a signed request, as a backup would.
    const url = new URL(`/${name}/backups/state.json`, endpoint);
    const body = '{"hello":"claw"}';
    const headers = signRequest({
      method: 'PUT',
      url,
      headers: { 'content-type': 'application/json' },
      payloadHash: hashPayload(body),
      region: creds.region,
      service: 's3',
      accessKeyId: creds.accessKeyId,
      secretAccessKey: creds.secretAccessKey,
      date: new Date(),
    });
    delete headers.host;
    const put = await fetch(url, { method: 'PUT', headers, body });
    assert.equal(put.status, 200);

    await store.delete(name); // not empty: objects go first
    assert.equal(await store.exists(name), false);
    await store.delete(name); // already gone: fine
  });

  // s3rver checks the access key but not v4 signatures (sigv4.unit.test.ts checks the signer
  // against AWS's published examples instead).
  it('reports wrong credentials as a permanent error, without the secret', async () => {
    const store = new S3BucketStore({
      endpoint,
      accessKeyId: 'NOT-A-KEY',
      secretAccessKey: 'not-the-secret-key',
      region: 'us-east-1',
    });
    await assert.rejects(store.create('claws-wrong-creds'), (e: unknown) => {
      assert.ok(e instanceof FailureError);
      assert.equal(e.kind, 'permanent');
      assert.match(e.message, /SignatureDoesNotMatch|InvalidAccessKeyId|AccessDenied/);
      assert.ok(!e.message.includes('not-the-secret-key'));
      return true;
    });
  });

  it('reports an unreachable endpoint as retryable', async () => {
    const store = new S3BucketStore({
      endpoint: `http://127.0.0.1:${await freePort()}`,
      ...creds,
      timeoutMs: 2000,
    });
    await assert.rejects(
      store.create('claws-unreachable'),
      (e: unknown) => e instanceof FailureError && e.kind === 'retryable',
    );
  });

  it('refuses an invalid bucket name before any request', async () => {
    const store = new S3BucketStore({ endpoint, ...creds });
    await assert.rejects(
      store.create('Not_Valid'),
      (e: unknown) =>
        e instanceof FailureError && e.kind === 'permanent' && /Invalid bucket name/.test(e.message),
    );
  });
});
