import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { amzDate, presignS3Url } from './s3-presign';

// AWS's worked example "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)",
// a presigned GET of examplebucket/test.txt valid for a day. Pinning its published signature checks
// how the store drives aws4fetch (query signing, UNSIGNED-PAYLOAD, only `host` signed), which
// s3rver cannot: it does not verify v4 signatures.
const example = {
  credentials: {
    accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    region: 'us-east-1',
  },
  now: Date.parse('2013-05-24T00:00:00Z'),
};

describe('S3 presigning (aws4fetch, query-signed)', () => {
  it('reproduces the AWS presigned GET example signature', async () => {
    const { url, expiresAt } = await presignS3Url({
      ...example,
      method: 'GET',
      url: new URL('https://examplebucket.s3.amazonaws.com/test.txt'),
      expiresInSec: 86400,
    });
    const q = new URL(url).searchParams;
    assert.equal(q.get('X-Amz-Algorithm'), 'AWS4-HMAC-SHA256');
    assert.equal(q.get('X-Amz-Credential'), 'AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request');
    assert.equal(q.get('X-Amz-Date'), '20130524T000000Z');
    assert.equal(q.get('X-Amz-Expires'), '86400');
    assert.equal(q.get('X-Amz-SignedHeaders'), 'host');
    assert.equal(
      q.get('X-Amz-Signature'),
      'aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
    );
    assert.equal(expiresAt, '2013-05-25T00:00:00.000Z');
  });

  it('signs path-style URLs, and a PUT differently from a GET of the same key', async () => {
    const base = {
      ...example,
      url: new URL('http://127.0.0.1:9000/claws-abc/backups/a.tar'),
      expiresInSec: 900,
    };
    const put = new URL((await presignS3Url({ ...base, method: 'PUT' })).url);
    const get = new URL((await presignS3Url({ ...base, method: 'GET' })).url);
    assert.equal(put.pathname, '/claws-abc/backups/a.tar');
    assert.notEqual(put.searchParams.get('X-Amz-Signature'), get.searchParams.get('X-Amz-Signature'));
    assert.ok(!put.toString().includes(example.credentials.secretAccessKey));
  });

  it('dates a signature by whole seconds, and counts the expiry from there', async () => {
    assert.equal(amzDate(Date.parse('2024-02-29T12:34:56.789Z')), '20240229T123456Z');
    const { expiresAt } = await presignS3Url({
      ...example,
      now: Date.parse('2024-02-29T12:34:56.789Z'),
      method: 'PUT',
      url: new URL('http://127.0.0.1/b/k'),
      expiresInSec: 60,
    });
    assert.equal(expiresAt, '2024-02-29T12:35:56.000Z');
  });
});
