import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
// s3rver: a local S3-compatible server. It checks access keys, dates and expiry of signed requests,
// but not v4 signatures themselves (s3-presign.unit.test.ts pins those to AWS's published example).
import S3rver from 's3rver';
import { freePort, tempDir } from '../../tests/fixtures/processes';
import { FailureError } from '../failure';
import { S3BucketStore } from './s3-bucket-store';
import { generatedBody, putStream, sha256OfResponse } from './test-streams';
import { bucketNameForClaw } from './types';

const permanent = (e: unknown) => e instanceof FailureError && e.kind === 'permanent';

describe('S3 bucket store against a local S3-compatible server', () => {
  let server: { run(): Promise<unknown>; close(): Promise<void> };
  let endpoint: string;
  const dir = tempDir('claws-s3-');
  const creds = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', region: 'us-east-1' };
  const store = () => new S3BucketStore({ endpoint, ...creds });

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
    const s = store();
    const name = bucketNameForClaw('6b1f9f2e-0a4c-4d7e-9b0a-3c2d1e0f9a8b');
    assert.equal(await s.exists(name), false);
    await s.create(name);
    await s.create(name); // already ours: fine
    assert.equal(await s.exists(name), true);

    // Put an object through a presigned URL, as a backup would.
    const put = await s.presignPut(name, 'backups/state.json');
    const res = await fetch(put.url, { method: put.method, headers: put.headers, body: '{"hello":"claw"}' });
    assert.equal(res.status, 200);

    await s.delete(name); // not empty: objects go first
    assert.equal(await s.exists(name), false);
    await s.delete(name); // already gone: fine
  });

  it('round-trips a ~100 MB streamed object through presigned PUT and GET', async () => {
    const s = store();
    const bucket = 'claws-streamed';
    await s.create(bucket);
    const bytes = 100 * 1024 * 1024 + 12345;
    const body = generatedBody(bytes);

    const put = await s.presignPut(bucket, 'backups/big.tar', { expiresInSec: 300 });
    assert.equal(put.method, 'PUT');
    assert.ok(Math.abs(Date.parse(put.expiresAt) - (Date.now() + 300_000)) < 5000);
    const putRes = await putStream(put.url, body.stream, bytes, put.headers);
    assert.equal(putRes.status, 200, putRes.text);

    const get = await s.presignGet(bucket, 'backups/big.tar');
    const getRes = await fetch(get.url, { headers: get.headers });
    assert.equal(getRes.status, 200);
    assert.equal(getRes.headers.get('content-length'), String(bytes));
    assert.deepEqual(await sha256OfResponse(getRes), { sha256: body.sha256(), bytes });

    const [listed] = await s.listObjects(bucket, 'backups/');
    assert.equal(listed?.key, 'backups/big.tar');
    assert.equal(listed?.bytes, bytes);
    await s.delete(bucket);
  });

  it('refuses an expired URL and one with a tampered credential', async () => {
    const s = store();
    const bucket = 'claws-refusals';
    await s.create(bucket);
    const ok = await s.presignPut(bucket, 'a.txt');
    assert.equal((await fetch(ok.url, { method: 'PUT', body: 'a' })).status, 200);

    // Signed two hours ago for 15 minutes.
    const past = new S3BucketStore({ endpoint, ...creds, now: () => Date.now() - 2 * 3600_000 });
    const expired = await past.presignGet(bucket, 'a.txt');
    assert.ok(Date.parse(expired.expiresAt) < Date.now());
    const r1 = await fetch(expired.url);
    assert.equal(r1.status, 403);
    assert.match(await r1.text(), /AccessDenied|expired/);

    const tampered = new URL((await s.presignGet(bucket, 'a.txt')).url);
    tampered.searchParams.set(
      'X-Amz-Credential',
      (tampered.searchParams.get('X-Amz-Credential') ?? '').replace(/^S3RVER/, 'SOMEONE'),
    );
    const r2 = await fetch(tampered);
    assert.equal(r2.status, 403);
    assert.match(await r2.text(), /InvalidAccessKeyId/);
    await s.delete(bucket);
  });

  it('lists objects by prefix and deletes them idempotently', async () => {
    const s = store();
    const bucket = 'claws-listing';
    await s.create(bucket);
    const keys = [
      'backups/1.tar',
      'backups/2.tar',
      'backups/3.tar',
      'backups/4.tar',
      'backups/5.tar',
      'other.txt',
    ];
    for (const key of keys) {
      const put = await s.presignPut(bucket, key);
      assert.equal((await fetch(put.url, { method: 'PUT', body: key })).status, 200);
    }
    const listed = await s.listObjects(bucket, 'backups/');
    assert.deepEqual(
      listed.map((o) => o.key),
      keys.slice(0, 5),
    );
    assert.ok(listed.every((o) => o.bytes === 'backups/1.tar'.length && o.lastModified instanceof Date));
    assert.equal((await s.listObjects(bucket, '')).length, 6);
    assert.deepEqual(await s.listObjects(bucket, 'nothing/'), []);

    await s.deleteObject(bucket, 'backups/3.tar');
    await s.deleteObject(bucket, 'backups/3.tar'); // already gone: fine
    await s.deleteObject(bucket, 'never/was.tar');
    assert.deepEqual(
      (await s.listObjects(bucket, 'backups/')).map((o) => o.key),
      ['backups/1.tar', 'backups/2.tar', 'backups/4.tar', 'backups/5.tar'],
    );
    await s.delete(bucket);
    assert.equal(await s.exists(bucket), false);
    await s.deleteObject(bucket, 'backups/1.tar'); // the bucket is gone too: fine
    await assert.rejects(
      s.listObjects(bucket, ''),
      (e: unknown) => permanent(e) && (e as FailureError).status === 404,
    );
  });

  it('refuses invalid keys and lifetimes before signing anything', async () => {
    const s = store();
    for (const key of ['../etc/passwd', '/abs', 'a//b', 'a b'])
      await assert.rejects(s.presignPut('claws-keys', key), permanent);
    await assert.rejects(s.presignGet('claws-keys', 'ok', { expiresInSec: 3601 }), permanent);
    await assert.rejects(s.deleteObject('claws-keys', 'a/../b'), permanent);
    await assert.rejects(s.listObjects('claws-keys', '../'), permanent);
  });

  it('reports wrong credentials as a permanent error, without the secret', async () => {
    const s = new S3BucketStore({
      endpoint,
      accessKeyId: 'NOT-A-KEY',
      secretAccessKey: 'not-the-secret-key',
      region: 'us-east-1',
    });
    await assert.rejects(s.create('claws-wrong-creds'), (e: unknown) => {
      assert.ok(e instanceof FailureError);
      assert.equal(e.kind, 'permanent');
      assert.match(e.message, /SignatureDoesNotMatch|InvalidAccessKeyId|AccessDenied/);
      assert.ok(!e.message.includes('not-the-secret-key'));
      return true;
    });
  });

  it('reports an unreachable endpoint as retryable', async () => {
    const s = new S3BucketStore({
      endpoint: `http://127.0.0.1:${await freePort()}`,
      ...creds,
      timeoutMs: 2000,
    });
    await assert.rejects(
      s.create('claws-unreachable'),
      (e: unknown) => e instanceof FailureError && e.kind === 'retryable',
    );
  });

  it('refuses an invalid bucket name before any request', async () => {
    await assert.rejects(
      store().create('Not_Valid'),
      (e: unknown) => permanent(e) && /Invalid bucket name/.test((e as Error).message),
    );
  });

  it('closes as a no-op', async () => {
    await store().close();
  });
});

// s3rver's continuation tokens are DES-encrypted, which Node 20's OpenSSL 3 refuses (an
// InternalError on any truncated ListObjectsV2 page), so paging is checked against a scripted S3.
describe('S3 bucket store against a scripted ListObjectsV2', () => {
  const pages = [
    { token: undefined, next: 'page-2/+=', keys: ['b/1', 'b/2'] },
    { token: 'page-2/+=', next: 'page-3', keys: ['b/3', 'b/4'] },
    { token: 'page-3', next: undefined, keys: ['b/5'] },
  ];
  const seen: URLSearchParams[] = [];
  let status = 200;
  let server: http.Server;
  let endpoint: string;

  before(async () => {
    server = http.createServer((req, res) => {
      const q = new URL(req.url ?? '/', 'http://x').searchParams;
      seen.push(q);
      if (status !== 200) {
        res.writeHead(status).end('<Error><Code>SlowDown</Code></Error>');
        return;
      }
      const page = pages.find((p) => p.token === (q.get('continuation-token') ?? undefined));
      const contents = (page?.keys ?? [])
        .map(
          (k) =>
            `<Contents><Key>${k}</Key><LastModified>2024-05-01T00:00:00.000Z</LastModified><Size>7</Size></Contents>`,
        )
        .join('');
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end(
        `<ListBucketResult><IsTruncated>${Boolean(page?.next)}</IsTruncated>` +
          (page?.next ? `<NextContinuationToken>${page.next}</NextContinuationToken>` : '') +
          `${contents}</ListBucketResult>`,
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('follows continuation tokens to the last page', async () => {
    const s = new S3BucketStore({ endpoint, accessKeyId: 'k', secretAccessKey: 's', listPageSize: 2 });
    const listed = await s.listObjects('claws-paged', 'b/');
    assert.deepEqual(
      listed.map((o) => [o.key, o.bytes]),
      [1, 2, 3, 4, 5].map((i) => [`b/${i}`, 7]),
    );
    assert.deepEqual(
      seen.map((q) => [q.get('list-type'), q.get('prefix'), q.get('max-keys'), q.get('continuation-token')]),
      [
        ['2', 'b/', '2', null],
        ['2', 'b/', '2', 'page-2/+='],
        ['2', 'b/', '2', 'page-3'],
      ],
    );
  });

  it('reports throttling (429) and server errors as retryable', async () => {
    const s = new S3BucketStore({ endpoint, accessKeyId: 'k', secretAccessKey: 's' });
    for (const code of [429, 503]) {
      status = code;
      await assert.rejects(
        s.listObjects('claws-paged', ''),
        (e: unknown) => e instanceof FailureError && e.kind === 'retryable' && /SlowDown/.test(e.message),
      );
    }
    status = 403;
    await assert.rejects(s.deleteObject('claws-paged', 'b/1'), permanent);
    status = 200;
  });
});
