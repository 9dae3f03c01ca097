import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EXPIRES_PARAM, SIGNATURE_PARAM, type LocalUrlSigner } from './local-signing';
import { isBucketName, isObjectKey } from './types';

export interface ObjectServerOptions {
  rootDir: string;
  signer: LocalUrlSigner;
  maxObjectBytes: number;
  /** Milliseconds since the epoch. */
  now: () => number;
  host: string;
  port: number;
}

export interface RunningObjectServer {
  /** `http://host:port` as bound (the port is the real one when 0 was asked for). */
  origin: string;
  close(): Promise<void>;
}

/** Uploads in progress: '~' is outside the key alphabet, so no listing or GET ever sees one. */
const TEMP_PREFIX = '.upload~';

export const objectFile = (rootDir: string, bucket: string, key: string) =>
  path.join(rootDir, bucket, ...key.split('/'));

/**
 * Short plain-text answers: they name what went wrong for the caller, never a path on this machine.
 * The connection closes after a refusal, so an unread upload body is not drained first.
 */
function reply(res: http.ServerResponse, status: number, text: string, close = false): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text) + 1,
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(`${text}\n`);
}

interface Target {
  method: 'PUT' | 'GET';
  bucket: string;
  key: string;
}

/** The request's bucket and key, if its URL carries a valid, unexpired signature for this method. */
function authorize(
  req: http.IncomingMessage,
  options: ObjectServerOptions,
): Target | { status: number; text: string } {
  const url = new URL(req.url ?? '/', 'http://local');
  const [, bucket = '', ...rest] = url.pathname.split('/');
  let key: string;
  try {
    key = decodeURIComponent(rest.join('/'));
  } catch {
    return { status: 404, text: 'Not found' };
  }
  if (!isBucketName(bucket) || !isObjectKey(key)) return { status: 404, text: 'Not found' };
  // Only GET and PUT are ever signed: any other method cannot match a signature.
  const method = req.method === 'GET' || req.method === 'PUT' ? req.method : undefined;
  const expiresText = url.searchParams.get(EXPIRES_PARAM) ?? '';
  const signature = url.searchParams.get(SIGNATURE_PARAM) ?? '';
  if (!/^\d{1,12}$/.test(expiresText)) return { status: 403, text: 'Missing or malformed signature' };
  const expires = Number(expiresText);
  if (!method || !options.signer.verify({ method, bucket, key, expires }, signature))
    return { status: 403, text: 'Signature does not match' };
  if (options.now() / 1000 > expires) return { status: 403, text: 'URL expired' };
  return { method, bucket, key };
}

async function isDirectory(dir: string): Promise<boolean> {
  return fs.stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

async function handleGet(res: http.ServerResponse, file: string): Promise<void> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch {
    return reply(res, 404, 'No such object');
  }
  try {
    // The size comes from the open file, so a concurrent PUT (a rename) cannot make it lie.
    const stat = await handle.stat();
    if (!stat.isFile()) return reply(res, 404, 'No such object');
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': stat.size,
      etag: `"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`,
      'last-modified': stat.mtime.toUTCString(),
    });
    await pipeline(handle.createReadStream({ autoClose: false }), res);
  } finally {
    await handle.close();
  }
}

/** Counts and hashes what streams through it, refusing more bytes than were announced. */
function meter(limit: number) {
  const md5 = createHash('md5');
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > limit) return done(new Error('body longer than Content-Length'));
      md5.update(chunk);
      done(null, chunk);
    },
  });
  return { stream, bytes: () => bytes, etag: () => `"${md5.digest('hex')}"` };
}

const CONFLICT_CODES = new Set(['ENOTDIR', 'EISDIR', 'EEXIST', 'ENOTEMPTY']);

async function handlePut(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  options: ObjectServerOptions,
  target: Target,
): Promise<void> {
  const lengthText = req.headers['content-length'];
  // A known length up front, like S3: a body is either all there or refused, never cut short unnoticed.
  if (lengthText === undefined || !/^\d{1,15}$/.test(lengthText))
    return reply(res, 411, 'Content-Length required', true);
  const length = Number(lengthText);
  if (length > options.maxObjectBytes) return reply(res, 413, 'Object too large', true);

  const bucketDir = path.join(options.rootDir, target.bucket);
  const temp = path.join(bucketDir, `${TEMP_PREFIX}${randomBytes(12).toString('hex')}`);
  const file = objectFile(options.rootDir, target.bucket, target.key);
  const m = meter(length);
  try {
    // Streamed to disk as it arrives: backups are hundreds of megabytes, never held in memory.
    await pipeline(req, m.stream, createWriteStream(temp, { flags: 'wx' }));
    if (m.bytes() !== length) throw new Error('body shorter than Content-Length');
    await fs.mkdir(path.dirname(file), { recursive: true });
    // The rename is atomic: a reader sees the old object or the new one, never half of one.
    await fs.rename(temp, file);
  } catch (err) {
    await fs.rm(temp, { force: true });
    const code = (err as { code?: string }).code ?? '';
    if (CONFLICT_CODES.has(code)) return reply(res, 409, 'Key conflicts with another object', true);
    return reply(res, 400, 'Upload incomplete', true);
  }
  res.writeHead(200, { etag: m.etag(), 'content-length': 0 });
  res.end();
}

async function handle(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  options: ObjectServerOptions,
): Promise<void> {
  const target = authorize(req, options);
  if ('status' in target) return reply(res, target.status, target.text, true);
  if (!(await isDirectory(path.join(options.rootDir, target.bucket))))
    return reply(res, 404, 'No such bucket', true);
  if (target.method === 'GET') return handleGet(res, objectFile(options.rootDir, target.bucket, target.key));
  return handlePut(req, res, options, target);
}

/**
 * The HTTP face of the local store: serves presigned GETs and PUTs of objects, so a Mini talks to
 * it exactly as it would to S3 (a URL, a method, a body), and never to the store itself.
 */
export async function startObjectServer(options: ObjectServerOptions): Promise<RunningObjectServer> {
  // No overall request deadline (a large upload over a slow link takes as long as it takes), but a
  // connection silent for two minutes is dropped.
  const server = http.createServer({ requestTimeout: 0 }, (req, res) => {
    handle(req, res, options).catch(() => reply(res, 500, 'Internal error', true));
  });
  server.setTimeout(120_000, (socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    origin: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
