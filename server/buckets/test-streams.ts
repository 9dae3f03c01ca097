import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';

/**
 * Test support for the bucket stores' int tests: large bodies that never exist in memory at once,
 * and what a presigned request does with them, as a Mini's uploader would.
 */

const CHUNK = 1024 * 1024;

/** `bytes` of pseudo-random data generated a chunk at a time, with the SHA-256 of what was sent. */
export function generatedBody(bytes: number): { stream: Readable; sha256: () => string } {
  const hash = createHash('sha256');
  const base = randomBytes(CHUNK);
  function* chunks() {
    for (let sent = 0, i = 0; sent < bytes; i++) {
      const chunk = Buffer.from(base.subarray(0, Math.min(CHUNK, bytes - sent)));
      // Every chunk differs, so a store that dropped or repeated one would change the hash.
      chunk.writeUInt32BE(i, 0);
      hash.update(chunk);
      sent += chunk.length;
      yield chunk;
    }
  }
  return { stream: Readable.from(chunks(), { objectMode: false }), sha256: () => hash.digest('hex') };
}

/**
 * A streamed PUT with its Content-Length, as the uploader on a Mini sends it. node:http rather than
 * fetch: Node 20's fetch, given a stream body, reads it far ahead of the socket (a 400 MB body
 * ends up in memory), while a piped http request waits for the socket to drain.
 */
export function putStream(
  url: string,
  stream: Readable,
  bytes: number,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'PUT', headers: { ...headers, 'content-length': bytes } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    stream.on('error', (err) => req.destroy(err));
    stream.pipe(req);
  });
}

/** A GET's body hashed as it streams in. */
export async function sha256OfResponse(res: Response): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  if (!res.body) return { sha256: hash.digest('hex'), bytes };
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: hash.digest('hex'), bytes };
}
