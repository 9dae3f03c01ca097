import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { tempDir } from '../../tests/fixtures/processes';
import { FailureError } from '../failure';
import { createBucketStore } from './index';
import { LocalBucketStore } from './local-bucket-store';
import { generatedBody, putStream, sha256OfResponse } from './test-streams';

const permanent = (e: unknown) => e instanceof FailureError && e.kind === 'permanent';

/** A raw request, for what fetch will not send (a chunked PUT, a path fetch would normalize). */
function rawRequest(
  url: string,
  method: string,
  options: { path?: string; chunked?: string } = {},
): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, method, path: options.path ?? `${u.pathname}${u.search}` },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    if (options.chunked !== undefined) req.write(options.chunked); // no Content-Length: chunked
    req.end();
  });
}

describe('local bucket store, served over HTTP', () => {
  const root = tempDir('claws-local-buckets-');
  let offsetMs = 0;
  const store = new LocalBucketStore({ rootDir: root, now: () => Date.now() + offsetMs });
  const bucket = 'claws-local';
  after(() => store.close());

  it('round-trips a ~100 MB streamed object through presigned PUT and GET', async () => {
    await store.create(bucket);
    const bytes = 100 * 1024 * 1024 + 54321;
    const body = generatedBody(bytes);
    const put = await store.presignPut(bucket, 'backups/big.tar', { expiresInSec: 120 });
    assert.equal(put.method, 'PUT');
    assert.match(
      put.url,
      /^http:\/\/127\.0\.0\.1:\d+\/claws-local\/backups\/big\.tar\?X-Claws-Expires=\d+&X-Claws-Signature=[0-9a-f]{64}$/,
    );
    assert.ok(Math.abs(Date.parse(put.expiresAt) - (Date.now() + 120_000)) < 2000);

    // Client and server share this process: if either held the body, memory would grow by its size.
    const baseline = process.memoryUsage().arrayBuffers;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 5);
    const putRes = await putStream(put.url, body.stream, bytes, put.headers).finally(() =>
      clearInterval(sampler),
    );
    assert.equal(putRes.status, 200, putRes.text);
    assert.ok(peak - baseline < 80 * 1024 * 1024, `buffered ${peak - baseline} bytes`);
    assert.match(putRes.headers.etag ?? '', /^"[0-9a-f]{32}"$/);
    assert.equal(fs.statSync(path.join(root, bucket, 'backups', 'big.tar')).size, bytes);
    // Only the object is left: the upload's temp file was renamed into place.
    assert.deepEqual(fs.readdirSync(path.join(root, bucket)), ['backups']);

    const get = await store.presignGet(bucket, 'backups/big.tar');
    const getRes = await fetch(get.url, { headers: get.headers });
    assert.equal(getRes.status, 200);
    assert.equal(getRes.headers.get('content-length'), String(bytes));
    assert.deepEqual(await sha256OfResponse(getRes), { sha256: body.sha256(), bytes });

    const [listed] = await store.listObjects(bucket, 'backups/');
    assert.equal(listed?.key, 'backups/big.tar');
    assert.equal(listed?.bytes, bytes);
    await store.deleteObject(bucket, 'backups/big.tar');
  });

  it('refuses an expired URL', async () => {
    const put = await store.presignPut(bucket, 'a.txt');
    assert.equal((await fetch(put.url, { method: 'PUT', body: 'a' })).status, 200);
    offsetMs = -2 * 3600_000; // signed two hours ago, for 15 minutes
    const expired = await store.presignGet(bucket, 'a.txt');
    offsetMs = 0;
    assert.ok(Date.parse(expired.expiresAt) < Date.now());
    const res = await fetch(expired.url);
    assert.equal(res.status, 403);
    assert.equal(await res.text(), 'URL expired\n');
  });

  it('refuses a tampered signature, key, bucket or expiry', async () => {
    const { url } = await store.presignGet(bucket, 'a.txt');
    assert.equal((await fetch(url)).status, 200);
    const u = new URL(url);
    const sig = u.searchParams.get('X-Claws-Signature') ?? '';

    const flipped = new URL(u);
    flipped.searchParams.set('X-Claws-Signature', sig.slice(0, -1) + (sig.endsWith('0') ? '1' : '0'));
    const otherKey = new URL(u);
    otherKey.pathname = `/${bucket}/b.txt`;
    const otherBucket = new URL(u);
    otherBucket.pathname = '/claws-other/a.txt';
    const later = new URL(u);
    later.searchParams.set('X-Claws-Expires', String(Number(u.searchParams.get('X-Claws-Expires')) + 3600));
    const unsigned = new URL(u);
    unsigned.search = '';
    for (const bad of [flipped, otherKey, otherBucket, later, unsigned]) {
      const res = await fetch(bad);
      assert.equal(res.status, 403, bad.toString());
      const text = await res.text();
      assert.ok(text.length < 60 && !text.includes(root), text);
    }
  });

  it('refuses a URL used with another method', async () => {
    const get = await store.presignGet(bucket, 'a.txt');
    const put = await store.presignPut(bucket, 'a.txt');
    assert.equal((await fetch(get.url, { method: 'PUT', body: 'x' })).status, 403);
    assert.equal((await fetch(put.url)).status, 403);
    for (const method of ['DELETE', 'POST', 'HEAD'])
      assert.equal((await fetch(put.url, { method })).status, 403, method);
    assert.equal(fs.readFileSync(path.join(root, bucket, 'a.txt'), 'utf8'), 'a');
  });

  it('answers 404 for a missing bucket or object, without revealing paths', async () => {
    const noBucket = await fetch((await store.presignGet('claws-never-made', 'a.txt')).url);
    assert.equal(noBucket.status, 404);
    assert.equal(await noBucket.text(), 'No such bucket\n');
    const noObject = await fetch((await store.presignGet(bucket, 'missing/x.bin')).url);
    assert.equal(noObject.status, 404);
    assert.equal(await noObject.text(), 'No such object\n');
    // A directory of other keys is not an object either.
    await putSmall(store, bucket, 'dir/inner.txt', 'i');
    assert.equal((await fetch((await store.presignGet(bucket, 'dir')).url)).status, 404);
  });

  it('refuses traversal keys before signing, and on the wire', async () => {
    for (const key of ['../outside', 'a/../../outside', '/etc/passwd', 'a//b', 'a\\b', ''])
      await assert.rejects(store.presignPut(bucket, key), permanent, JSON.stringify(key));
    await assert.rejects(store.deleteObject(bucket, '../x'), permanent);
    await assert.rejects(store.listObjects(bucket, '../'), permanent);
    await assert.rejects(store.presignGet('../claws-local', 'a.txt'), permanent);
    const { url } = await store.presignGet(bucket, 'a.txt');
    const search = new URL(url).search;
    for (const p of [`/${bucket}/..%2F..%2Fetc%2Fpasswd`, `/${bucket}/%2E%2E/x`, '/..%2Fclaws-local/a.txt'])
      assert.equal((await rawRequest(url, 'GET', { path: `${p}${search}` })).status, 404, p);
  });

  it('requires a Content-Length and caps the size of a PUT', async () => {
    const put = await store.presignPut(bucket, 'chunked.bin');
    const chunked = await rawRequest(put.url, 'PUT', { chunked: 'no length given' });
    assert.equal(chunked.status, 411);

    const small = new LocalBucketStore({ rootDir: root, maxObjectBytes: 10 });
    try {
      const url = (await small.presignPut(bucket, 'big.bin')).url;
      assert.equal((await fetch(url, { method: 'PUT', body: 'x'.repeat(11) })).status, 413);
      assert.equal((await fetch(url, { method: 'PUT', body: 'x'.repeat(10) })).status, 200);
    } finally {
      await small.close();
    }
    assert.equal(fs.existsSync(path.join(root, bucket, 'chunked.bin')), false);
    assert.ok(
      fs.readdirSync(path.join(root, bucket)).every((n) => !n.includes('~')),
      'no temp files left',
    );
  });

  it('lists by prefix in key order and deletes objects idempotently', async () => {
    const b = 'claws-listing';
    await store.create(b);
    for (const key of ['backups/2.tar', 'backups/1.tar', 'backups/old/0.tar', 'backupsX', 'other.txt'])
      await putSmall(store, b, key, key);
    assert.deepEqual(
      (await store.listObjects(b, 'backups/')).map((o) => o.key),
      ['backups/1.tar', 'backups/2.tar', 'backups/old/0.tar'],
    );
    assert.deepEqual(
      (await store.listObjects(b, 'backups')).map((o) => o.key),
      ['backups/1.tar', 'backups/2.tar', 'backups/old/0.tar', 'backupsX'],
    );
    // A key cannot run through an object as if it were a directory.
    const through = await fetch((await store.presignPut(b, 'other.txt/inner')).url, {
      method: 'PUT',
      body: 'x',
    });
    assert.equal(through.status, 409);
    const all = await store.listObjects(b, '');
    assert.equal(all.length, 5);
    assert.ok(all.every((o) => o.bytes === o.key.length && o.lastModified instanceof Date));

    await store.deleteObject(b, 'backups/old/0.tar');
    await store.deleteObject(b, 'backups/old/0.tar'); // already gone: fine
    await store.deleteObject(b, 'never/was.tar');
    await store.deleteObject(b, 'backups'); // a directory of keys, not an object: nothing to do
    // The emptied directory went with it, so a key of that name can be an object now.
    assert.equal(fs.existsSync(path.join(root, b, 'backups', 'old')), false);
    await putSmall(store, b, 'backups/old', 'now a file');
    assert.deepEqual(
      (await store.listObjects(b, 'backups/')).map((o) => o.key),
      ['backups/1.tar', 'backups/2.tar', 'backups/old'],
    );

    await store.delete(b);
    await store.deleteObject(b, 'backups/1.tar'); // the bucket is gone too: fine
    await assert.rejects(
      store.listObjects(b, ''),
      (e: unknown) => permanent(e) && (e as FailureError).status === 404,
    );
  });

  it('stops serving on close(), and starts again on the next presign', async () => {
    const s = new LocalBucketStore(tempDir('claws-local-close-')); // a bare rootDir still works
    await s.create(bucket);
    await putSmall(s, bucket, 'k', 'v');
    const { url } = await s.presignGet(bucket, 'k');
    assert.equal(await (await fetch(url)).text(), 'v');
    await s.close();
    await s.close(); // twice: fine
    await assert.rejects(fetch(url), /fetch failed/);
    const again = await s.presignGet(bucket, 'k');
    assert.equal(await (await fetch(again.url)).text(), 'v');
    await s.close();
  });

  it('puts publicBaseUrl into URLs, and is what createBucketStore builds without S3', async () => {
    const s = createBucketStore({ rootDir: root, publicBaseUrl: 'https://buckets.example.test/' });
    try {
      assert.ok(s instanceof LocalBucketStore);
      const { url } = await s.presignPut(bucket, 'x/y.tar');
      assert.match(url, /^https:\/\/buckets\.example\.test\/claws-local\/x\/y\.tar\?X-Claws-Expires=/);
    } finally {
      await s.close();
    }
  });
});

async function putSmall(store: LocalBucketStore, bucket: string, key: string, body: string) {
  const res = await fetch((await store.presignPut(bucket, key)).url, { method: 'PUT', body });
  assert.equal(res.status, 200, `${key}: ${await res.text()}`);
}
