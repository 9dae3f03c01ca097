import { AwsV4Signer } from 'aws4fetch';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

export interface PresignInput {
  method: 'PUT' | 'GET';
  /** The object's URL (path-style or virtual-hosted: it is signed as given). */
  url: URL;
  credentials: S3Credentials;
  expiresInSec: number;
  /** Milliseconds since the epoch: an input, so the signature of a given moment can be checked. */
  now: number;
}

/** SigV4's timestamp, `yyyyMMddTHHmmssZ`: whole seconds. */
export const amzDate = (ms: number) => new Date(ms).toISOString().replace(/[:-]|\.\d{3}/g, '');

/**
 * A query-signed ("presigned") S3 URL. Only the host is a signed header and the payload is
 * UNSIGNED-PAYLOAD (aws4fetch's default for query-signed S3), so whoever holds the URL can stream a
 * body of any size with nothing more than a Content-Length, and needs no credentials at all.
 */
export async function presignS3Url(input: PresignInput): Promise<{ url: string; expiresAt: string }> {
  const url = new URL(input.url);
  url.searchParams.set('X-Amz-Expires', String(input.expiresInSec));
  const datetime = amzDate(input.now);
  const signer = new AwsV4Signer({
    method: input.method,
    url: url.toString(),
    accessKeyId: input.credentials.accessKeyId,
    secretAccessKey: input.credentials.secretAccessKey,
    region: input.credentials.region,
    service: 's3',
    datetime,
    signQuery: true,
  });
  const signed = await signer.sign();
  // The validity starts at the signed (truncated) second, as the server will count it.
  const signedAt = Math.floor(input.now / 1000) * 1000;
  return {
    url: signed.url.toString(),
    expiresAt: new Date(signedAt + input.expiresInSec * 1000).toISOString(),
  };
}
