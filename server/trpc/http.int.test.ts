import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, testDrivers, type TestDatabase } from '../../tests/fixtures/db';
import { testRuntime } from '../../tests/fixtures/fleet';
import { waitFor } from '../../tests/fixtures/processes';
import type { EventStore } from '../../events/store';
import { SESSION_COOKIE } from '../auth/session';
import { createLogger } from '../log';
import type { Runtime } from '../runtime';
import { handleTrpcRequest, MAX_BATCH_SIZE, MAX_BODY_BYTES } from './http';

/**
 * The tRPC endpoint over HTTP (the handler Next's route calls), without Next: cookies, the CSRF
 * rule, body and batch limits, error sanitizing, SSE framing.
 */
const HOST = '127.0.0.1:3000';
const BASE = `http://${HOST}/api/trpc`;

for (const driver of testDrivers()) {
  describe(`tRPC over HTTP on ${driver}`, () => {
    let database: TestDatabase;
    let rt: Runtime;
    const logLines: string[] = [];
    const log = createLogger('info', { component: 'trpc' }, (l) => logLines.push(l));

    before(async () => {
      database = await createTestDatabase(driver);
      rt = testRuntime(database);
    });
    after(async () => {
      await rt?.close();
      await database?.close();
    });

    const call = (req: Request, runtime = rt) => handleTrpcRequest(req, { runtime, log });
    const mutation = (path: string, input: unknown, headers: Record<string, string> = {}) =>
      call(
        new Request(`${BASE}/${path}`, {
          method: 'POST',
          headers: { host: HOST, 'content-type': 'application/json', 'x-claws-csrf': '1', ...headers },
          body: JSON.stringify({ json: input }),
        }),
      );
    const query = (path: string, input: unknown, cookie?: string, runtime = rt) =>
      call(
        new Request(
          `${BASE}/${path}${input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify({ json: input }))}`}`,
          { headers: { host: HOST, ...(cookie ? { cookie } : {}) } },
        ),
        runtime,
      );
    const cookieOf = (res: Response) =>
      res.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`));
    const body = async (res: Response) =>
      (await res.json()) as {
        result?: { data: { json: unknown } };
        error?: { json: { message: string; code: number; data: { code: string } } };
      };

    let cookie = '';
    it('signup sets the session cookie (httpOnly, SameSite=Lax, Path=/, expiry), and it signs requests in', async () => {
      const res = await mutation('auth.signup', {
        email: 'Http@Example.com',
        password: 'password-123',
        name: 'H',
      });
      assert.equal(res.status, 200);
      const set = cookieOf(res);
      assert.ok(set);
      assert.match(set, /; HttpOnly/);
      assert.match(set, /; SameSite=Lax/);
      assert.match(set, /; Path=\//);
      assert.match(set, /; Expires=/);
      assert.doesNotMatch(set, /; Secure/, 'not in test/dev');
      cookie = set.split(';')[0]!;
      const me = await body(await query('auth.me', undefined, cookie));
      assert.equal((me.result!.data.json as { email: string }).email, 'http@example.com');
      const anon = await body(await query('auth.me', undefined));
      assert.equal(anon.result!.data.json, null);
    });

    it('login starts a new session; logout revokes it and clears the cookie', async () => {
      const res = await mutation(
        'auth.login',
        { email: 'http@example.com', password: 'password-123' },
        { cookie },
      );
      assert.equal(res.status, 200);
      const fresh = cookieOf(res)!.split(';')[0]!;
      assert.notEqual(fresh, cookie);
      // The session the request came with is replaced, not left alive beside the new one.
      assert.equal((await body(await query('auth.me', undefined, cookie))).result!.data.json, null);

      const out = await mutation('auth.logout', null, { cookie: fresh });
      assert.equal(out.status, 200);
      assert.match(cookieOf(out)!, new RegExp(`^${SESSION_COOKIE}=;.*Max-Age=0`));
      assert.equal((await body(await query('auth.me', undefined, fresh))).result!.data.json, null);
      const again = await mutation('auth.logout', null, { cookie: fresh });
      assert.equal(again.status, 401);
    });

    it('refuses cross-site mutations with 403, and never with a 500', async () => {
      const attempt = (headers: Record<string, string>) =>
        mutation('auth.login', { email: 'http@example.com', password: 'password-123' }, headers);
      const noHeader = await call(
        new Request(`${BASE}/auth.login`, {
          method: 'POST',
          headers: { host: HOST, 'content-type': 'application/json' },
          body: JSON.stringify({ json: { email: 'http@example.com', password: 'password-123' } }),
        }),
      );
      assert.equal(noHeader.status, 403);
      assert.equal((await attempt({ origin: 'https://evil.example' })).status, 403);
      assert.equal((await attempt({ origin: 'null' })).status, 403);
      assert.equal((await attempt({ origin: 'not a url' })).status, 403);
      assert.equal((await attempt({ referer: 'https://evil.example/page' })).status, 403);
      assert.equal((await attempt({ origin: `http://${HOST}` })).status, 200);
      assert.equal((await attempt({ referer: `http://${HOST}/login` })).status, 200);
      assert.equal((await attempt({})).status, 200, 'scripts send neither Origin nor Referer');
    });

    it('accepts an Origin listed in CLAWS_ALLOWED_ORIGINS (a dashboard behind a tunnel)', async () => {
      const behindTunnel = {
        ...rt,
        config: { ...rt.config, allowedOrigins: ['https://claws.example.com'] },
      };
      const req = (origin: string) =>
        handleTrpcRequest(
          new Request(`${BASE}/auth.login`, {
            method: 'POST',
            headers: {
              host: 'internal:3000',
              'content-type': 'application/json',
              'x-claws-csrf': '1',
              origin,
            },
            body: JSON.stringify({ json: { email: 'http@example.com', password: 'password-123' } }),
          }),
          { runtime: behindTunnel, log },
        );
      assert.equal((await req('https://claws.example.com')).status, 200);
      assert.equal((await req('http://claws.example.com')).status, 403, 'scheme matters');
      assert.equal((await req('https://claws.example.com.evil.example')).status, 403);
    });

    it('limits body size (413) and batch size (400); malformed JSON is a 400', async () => {
      const big = await call(
        new Request(`${BASE}/orgs.create`, {
          method: 'POST',
          headers: { host: HOST, 'content-type': 'application/json', 'x-claws-csrf': '1' },
          body: JSON.stringify({ json: { name: 'x'.repeat(MAX_BODY_BYTES) } }),
        }),
      );
      assert.equal(big.status, 413);
      const chunked = await call(
        new Request(`${BASE}/orgs.create`, {
          method: 'POST',
          headers: { host: HOST, 'content-type': 'application/json', 'x-claws-csrf': '1' },
          body: new ReadableStream({
            start(c) {
              for (let i = 0; i < 20; i++) c.enqueue(new Uint8Array(100_000));
              c.close();
            },
          }),
          duplex: 'half',
        } as RequestInit),
      );
      assert.equal(chunked.status, 413, 'no content-length: counted while read');

      const paths = Array.from({ length: MAX_BATCH_SIZE + 1 }, () => 'auth.me').join(',');
      const batch = await call(new Request(`${BASE}/${paths}?batch=1&input={}`, { headers: { host: HOST } }));
      assert.equal(batch.status, 400);

      const bad = await call(
        new Request(`${BASE}/auth.signup`, {
          method: 'POST',
          headers: { host: HOST, 'content-type': 'application/json', 'x-claws-csrf': '1' },
          body: '{"json": {"email": ',
        }),
      );
      assert.equal(bad.status, 400);
      // Input is parsed when a procedure reads it: one that takes input, signed in.
      const login = await mutation('auth.login', { email: 'http@example.com', password: 'password-123' });
      const signedIn = cookieOf(login)!.split(';')[0]!;
      const badQuery = await call(
        new Request(`${BASE}/orgs.members?input=%7Bnope`, { headers: { host: HOST, cookie: signedIn } }),
      );
      assert.equal(badQuery.status, 400);
    });

    it('answers zod errors with the flattened field errors', async () => {
      const res = await mutation('auth.signup', { email: 'not-an-email', password: 'short', name: '' });
      assert.equal(res.status, 400);
      const err = (await res.json()) as {
        error: { json: { data: { zodError: { fieldErrors: Record<string, string[]> } } } };
      };
      assert.deepEqual(Object.keys(err.error.json.data.zodError.fieldErrors).sort(), [
        'email',
        'name',
        'password',
      ]);
    });

    it('turns unexpected failures into "Internal error (request <id>)", details only in the log', async () => {
      // A procedure that fails inside: the event store is gone.
      await mutation('auth.signup', { email: 'boom@example.com', password: 'password-123', name: 'B' });
      const login = await mutation('auth.login', { email: 'boom@example.com', password: 'password-123' });
      const c = cookieOf(login)!.split(';')[0]!;
      const org = await mutation('orgs.create', { name: 'Boom' }, { cookie: c });
      assert.equal(org.status, 200);
      await mutation('claws.create', { orgSlug: 'boom', name: 'Kaboom' }, { cookie: c });
      const broken = {
        ...rt,
        store: {
          readStream: async () => {
            throw new Error('connection to db-host:5432 failed: password=hunter2');
          },
        } as unknown as EventStore,
      };
      logLines.length = 0;
      const res = await query('claws.timeline', { orgSlug: 'boom', clawSlug: 'kaboom' }, c, broken);
      assert.equal(res.status, 500);
      const text = await res.text();
      assert.doesNotMatch(text, /hunter2|db-host|stack|at /);
      const id = /Internal error \(request ([\w-]+)\)/.exec(text)?.[1];
      assert.ok(id, text);
      const logged = logLines.filter((l) => l.includes(id));
      assert.equal(logged.length, 1, logLines.join('\n'));
      assert.match(logged[0]!, /db-host:5432/, 'the details are in the log, under the request id');
      assert.doesNotMatch(logged[0]!, /hunter2/, 'but never a password');

      // A context that cannot be built: the database is unreachable.
      const unreachable = new Proxy(rt.database.db, {
        get() {
          throw new Error('connect ECONNREFUSED db-host:5432 password=hunter2');
        },
      });
      const goneRt = { ...rt, database: { ...rt.database, db: unreachable } };
      logLines.length = 0;
      const res2 = await query('auth.me', undefined, c, goneRt);
      assert.equal(res2.status, 500);
      const text2 = await res2.text();
      assert.doesNotMatch(text2, /hunter2|db-host/);
      const id2 = /Internal error \(request ([\w-]+)\)/.exec(text2)?.[1];
      assert.ok(id2, text2);
      assert.equal(logLines.filter((l) => l.includes(id2)).length, 1, logLines.join('\n'));
    });

    it('streams subscriptions as SSE with the tracked id as the event id', async () => {
      const login = await mutation('auth.login', { email: 'boom@example.com', password: 'password-123' });
      const c = cookieOf(login)!.split(';')[0]!;
      const ac = new AbortController();
      const res = await call(
        new Request(
          `${BASE}/claws.onChange?input=${encodeURIComponent(JSON.stringify({ json: { orgSlug: 'boom' } }))}`,
          {
            headers: { host: HOST, cookie: c, accept: 'text/event-stream' },
            signal: ac.signal,
          },
        ),
      );
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
      let text = '';
      const reader = res.body!.getReader();
      const reading = (async () => {
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            text += new TextDecoder().decode(value);
          }
        } catch {
          // aborted
        }
      })();
      await waitFor('the connected event', async () => text.includes('connected'));
      await mutation('claws.create', { orgSlug: 'boom', name: 'Streamed' }, { cookie: c });
      await waitFor('the claw on the stream', async () => text.includes('streamed'));
      assert.match(text, /\nid: \d+:\d+\n/);
      ac.abort();
      await reader.cancel().catch(() => {});
      await reading;
    });
  });
}
