import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PresignedRequest } from '../../server/fleet/agent-api';

/**
 * Moving a backup archive to and from a presigned object-store URL, streamed both ways: an archive
 * can be hundreds of MB, and the agent never holds one in memory. The agent has no bucket
 * credentials; it sends the request it was handed, as it was handed it. The URL's query string is
 * the credential, so no message of this module carries it (`describeUrl`); redirects are not
 * followed (a presigned URL that redirects is not one the control plane made).
 */

export class TransferError extends Error {
  override name = 'TransferError';
  constructor(
    message: string,
    /** The object store's HTTP status, when it answered. */
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The URL without its query string or fragment: what messages and logs may show of it. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/** A download that goes on past the size it was promised: not the backup asked for. */
export class TooLargeError extends TransferError {
  override name = 'TooLargeError';
}

/** Hashes what passes through and counts it; fails the stream past `limit` bytes. */
class Digest extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  constructor(private readonly limit = Number.POSITIVE_INFINITY) {
    super();
  }
  override _transform(
    chunk: Buffer,
    _enc: BufferEncoding,
    done: (err?: Error | null, data?: Buffer) => void,
  ) {
    this.bytes += chunk.length;
    if (this.bytes > this.limit)
      return done(new TooLargeError(`the download is larger than the ${this.limit} bytes expected`));
    this.hash.update(chunk);
    done(null, chunk);
  }
}

export interface TransferResult {
  bytes: number;
  sha256: string;
}

function requestOf(target: PresignedRequest, headers: Record<string, string>, timeoutMs: number) {
  const u = new URL(target.url);
  const lib = u.protocol === 'https:' ? https : http;
  return lib.request(u, {
    method: target.method,
    headers: { ...target.headers, ...headers },
    // One connection per transfer; nothing of a presigned request is pooled or reused.
    agent: false,
    // Idle time on the socket, not the whole transfer: a large archive may take long, not stall.
    timeout: timeoutMs,
  });
}

/** Reads (and drops) at most a little of an error answer, for its message. */
async function errorText(res: http.IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of res as AsyncIterable<Buffer>) {
    if (text.length < 300) text += chunk.toString('utf8');
  }
  // S3-style errors are XML with a <Code>; that is enough, and it never echoes the signature.
  const code = /<Code>([^<]{1,100})<\/Code>/.exec(text)?.[1];
  return code ? ` (${code})` : '';
}

/**
 * PUTs the file at `file` (opened once, so what is hashed is what is sent) with its size as
 * Content-Length; resolves with the size and SHA-256 of the bytes sent.
 */
export async function uploadFile(
  file: string,
  target: PresignedRequest,
  timeoutMs: number,
): Promise<TransferResult> {
  const fd = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  const size = (await fd.stat()).size;
  const source = fd.createReadStream({ autoClose: true });
  const digest = new Digest();
  const where = describeUrl(target.url);
  const failed = (err: unknown) =>
    err instanceof TransferError
      ? err
      : new TransferError(`the upload to ${where} failed: ${errorCode(err)}`);
  const req = requestOf(target, { 'content-length': String(size) }, timeoutMs);
  req.once('timeout', () => req.destroy(new TransferError(`the upload stalled for ${timeoutMs} ms`)));
  const answered = new Promise<http.IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  const sending = pipeline(source, digest, req);
  sending.catch(() => undefined); // awaited below, once the store's answer is known
  let res: http.IncomingMessage;
  try {
    res = await answered;
  } catch (err) {
    source.destroy();
    throw failed(err);
  }
  // A refusal may come before the store read the whole body: that answer is the one to report.
  if (res.statusCode === undefined || res.statusCode < 200 || res.statusCode >= 300) {
    const status = res.statusCode ?? 0;
    const detail = await errorText(res).catch(() => '');
    req.destroy();
    source.destroy();
    throw new TransferError(`the upload to ${where} failed with HTTP ${status}${detail}`, status);
  }
  res.resume();
  try {
    await sending;
  } catch (err) {
    // The store answered 2xx and closed the connection before the request stream reported its
    // own end: with every byte read and sent, that is a success, not a premature close.
    const closedAfterAnswer = errorCode(err) === 'ERR_STREAM_PREMATURE_CLOSE' && digest.bytes === size;
    if (!closedAfterAnswer) throw failed(err);
  }
  if (digest.bytes !== size)
    throw new TransferError(`the archive changed while it was uploaded (${digest.bytes} of ${size} bytes)`);
  return { bytes: digest.bytes, sha256: digest.hash.digest('hex') };
}

/**
 * GETs `target` into a new file at `file` (mode 0600, never overwriting), refusing more than
 * `maxBytes`; resolves with the size and SHA-256 of what was written.
 */
export async function downloadFile(
  target: PresignedRequest,
  file: string,
  maxBytes: number,
  timeoutMs: number,
): Promise<TransferResult> {
  const where = describeUrl(target.url);
  const req = requestOf(target, {}, timeoutMs);
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
    req.once('timeout', () => req.destroy(new TransferError(`the download timed out after ${timeoutMs} ms`)));
    req.end();
  }).catch((err: unknown) => {
    throw err instanceof TransferError
      ? err
      : new TransferError(`the download from ${where} failed: ${errorCode(err)}`);
  });
  if (res.statusCode === undefined || res.statusCode < 200 || res.statusCode >= 300)
    throw new TransferError(
      `the download from ${where} failed with HTTP ${res.statusCode ?? 0}${await errorText(res)}`,
      res.statusCode,
    );
  const digest = new Digest(maxBytes);
  const out = fs.createWriteStream(file, { flags: 'wx', mode: 0o600 });
  try {
    await pipeline(res as Readable, digest, out);
  } catch (err) {
    req.destroy();
    if (err instanceof TransferError) throw err;
    throw new TransferError(`the download from ${where} failed: ${errorCode(err)}`);
  }
  return { bytes: digest.bytes, sha256: digest.hash.digest('hex') };
}

/** A transport failure as its code only: Node's messages may quote the request. */
function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : err instanceof Error ? err.name : 'network error';
}
