import { FailureError } from '../failure';
import { assertBucketName, type BucketStore } from './types';
import { hashPayload, signRequest } from './sigv4';

export interface S3Config {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region?: string;
  timeoutMs?: number;
}

interface S3Response {
  status: number;
  body: string;
}

const codeOf = (body: string) => /<Code>([^<]+)<\/Code>/.exec(body)?.[1] ?? '';

/**
 * Buckets through the S3 REST API (R2 is S3-compatible), path-style, signed with SigV4. Create and
 * delete are idempotent: "already yours" and "already gone" are successes.
 */
export class S3BucketStore implements BucketStore {
  readonly kind = 's3' as const;
  readonly #endpoint: URL;
  constructor(private readonly config: S3Config) {
    this.#endpoint = new URL(config.endpoint);
  }

  async #request(
    method: string,
    path: string,
    query: Record<string, string> = {},
    body = '',
  ): Promise<S3Response> {
    const url = new URL(path, this.#endpoint);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const headers = signRequest({
      method,
      url,
      headers: body ? { 'content-type': 'application/xml' } : {},
      payloadHash: hashPayload(body),
      region: this.config.region ?? 'auto',
      service: 's3',
      accessKeyId: this.config.accessKeyId,
      secretAccessKey: this.config.secretAccessKey,
      date: new Date(),
    });
    delete headers.host;
    try {
      const res = await fetch(url, {
        method,
        headers,
        body: body || undefined,
        signal: AbortSignal.timeout(this.config.timeoutMs ?? 10_000),
      });
      return { status: res.status, body: await res.text() };
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      throw new FailureError('retryable', `S3 endpoint ${this.#endpoint.host} unreachable (${cause})`);
    }
  }

  #fail(op: string, name: string, r: S3Response): never {
    const code = codeOf(r.body) || `HTTP${r.status}`;
    const kind = r.status >= 500 || r.status === 429 ? 'retryable' : 'permanent';
    throw new FailureError(kind, `S3 ${op} ${name} failed: ${code} (HTTP ${r.status})`, r.status);
  }

  async create(name: string): Promise<void> {
    assertBucketName(name);
    const r = await this.#request('PUT', `/${name}`);
    if (r.status === 200) return;
    if (r.status === 409 && codeOf(r.body) === 'BucketAlreadyOwnedByYou') return;
    // Some S3-compatible servers answer BucketAlreadyExists to its own owner too: if these
    // credentials can reach the bucket, it is ours (a retried create), otherwise someone else's.
    if (
      r.status === 409 &&
      codeOf(r.body) === 'BucketAlreadyExists' &&
      (await this.exists(name).catch(() => false))
    )
      return;
    this.#fail('create', name, r);
  }

  async exists(name: string): Promise<boolean> {
    assertBucketName(name);
    const r = await this.#request('HEAD', `/${name}`);
    if (r.status === 200) return true;
    if (r.status === 404) return false;
    this.#fail('head', name, r);
  }

  async delete(name: string): Promise<void> {
    assertBucketName(name);
    // A bucket must be empty before it can go: delete its objects page by page first.
    for (let page = 0; page < 10_000; page++) {
      const list = await this.#request('GET', `/${name}`, { 'list-type': '2', 'max-keys': '1000' });
      if (list.status === 404) return;
      if (list.status !== 200) this.#fail('list', name, list);
      const keys = [...list.body.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => decodeXml(m[1]!));
      if (keys.length === 0) break;
      for (const key of keys) {
        const r = await this.#request(
          'DELETE',
          `/${name}/${key.split('/').map(encodeURIComponent).join('/')}`,
        );
        if (r.status !== 204 && r.status !== 200 && r.status !== 404) this.#fail('delete object in', name, r);
      }
    }
    const r = await this.#request('DELETE', `/${name}`);
    if (r.status === 204 || r.status === 200 || r.status === 404) return;
    this.#fail('delete', name, r);
  }
}

const decodeXml = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
