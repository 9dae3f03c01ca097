import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { FailureError } from '../failure';
import { createAgentClient, type AgentClient } from './agent-client';

const TOKEN = 'agent-token-0123456789abcdef-SECRET';
const GATEWAY_TOKEN = 'gateway-token-fedcba9876543210-SECRET';

interface Seen {
  method: string;
  url: string;
  authorization?: string;
  body: string;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

let server: http.Server;
let baseUrl: string;
let handler: Handler;
let seen: Seen[];

const json = (res: http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};

before(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

beforeEach(() => {
  seen = [];
  handler = (_req, res) => json(res, 200, { ok: true });
});

const client = (opts: { timeoutMs?: number; retries?: number; url?: string } = {}): AgentClient =>
  createAgentClient({
    baseUrl: opts.url ?? baseUrl,
    token: TOKEN,
    timeoutMs: opts.timeoutMs ?? 2000,
    retries: opts.retries,
  });

async function failure(p: Promise<unknown>): Promise<FailureError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof FailureError, `expected a FailureError, got ${String(err)}`);
    assert.ok(!err.message.includes(TOKEN), `the message leaks the agent token: ${err.message}`);
    assert.ok(!err.message.includes(GATEWAY_TOKEN), `the message leaks the gateway token: ${err.message}`);
    return err;
  }
  assert.fail('expected the call to fail');
}

const start = (c: AgentClient) =>
  c.startClaw({
    clawId: 'claw-1',
    port: 19001,
    gatewayToken: GATEWAY_TOKEN,
    controlPlaneDevice: { deviceId: 'dev-1', publicKey: 'pk' },
  });

describe('agent client: successful calls', () => {
  it('startClaw posts the claw with the bearer token and JSON body', async () => {
    await start(client());
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.method, 'POST');
    assert.equal(seen[0]!.url, '/claws');
    assert.equal(seen[0]!.authorization, `Bearer ${TOKEN}`);
    assert.deepEqual(JSON.parse(seen[0]!.body), {
      clawId: 'claw-1',
      port: 19001,
      gatewayToken: GATEWAY_TOKEN,
      controlPlaneDevice: { deviceId: 'dev-1', publicKey: 'pk' },
    });
  });

  it('clawStatus returns the validated report', async () => {
    handler = (_req, res) =>
      json(res, 200, { status: 'running', paired: true, deviceId: 'dev-1', pid: 42, restarts: 1 });
    const s = await client().clawStatus('claw/1');
    assert.deepEqual(s, { status: 'running', paired: true, deviceId: 'dev-1', pid: 42, restarts: 1 });
    assert.equal(seen[0]!.url, '/claws/claw%2F1/status');
  });

  it('stopClaw sends DELETE', async () => {
    await client().stopClaw('claw-1');
    assert.equal(seen[0]!.method, 'DELETE');
    assert.equal(seen[0]!.url, '/claws/claw-1');
  });

  it('health and listClaws parse their bodies', async () => {
    handler = (req, res) =>
      req.url === '/health'
        ? json(res, 200, { ok: true, claws: 1, version: '0.1.0' })
        : json(res, 200, {
            ok: true,
            claws: [{ clawId: 'claw-1', port: 19001, status: 'starting', paired: false, restarts: 0 }],
          });
    assert.deepEqual(await client().health(), { claws: 1, version: '0.1.0' });
    assert.deepEqual(await client().listClaws(), [
      { clawId: 'claw-1', port: 19001, status: 'starting', paired: false, restarts: 0 },
    ]);
  });
});

describe('agent client: not present is not an error', () => {
  it('a JSON 404 on status means the agent does not know the claw', async () => {
    handler = (_req, res) => json(res, 404, { ok: false, error: 'unknown claw' });
    assert.deepEqual(await client().clawStatus('claw-1'), { status: 'unknown' });
  });

  it('a JSON 404 on DELETE means already stopped', async () => {
    handler = (_req, res) => json(res, 404, { ok: false, error: 'unknown claw' });
    await client().stopClaw('claw-1');
  });

  it('a 404 that is not the agent (wrong URL) is permanent', async () => {
    handler = (_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<h1>Not Found</h1>');
    };
    const err = await failure(client().clawStatus('claw-1'));
    assert.equal(err.kind, 'permanent');
    assert.equal(err.status, 404);
  });

  it('a 404 on POST is permanent', async () => {
    handler = (_req, res) => json(res, 404, { ok: false, error: 'no such route' });
    assert.equal((await failure(start(client()))).kind, 'permanent');
  });
});

describe('agent client: failures are classified', () => {
  for (const status of [400, 401, 403, 409, 422]) {
    it(`HTTP ${status} is permanent and carries the agent's reason`, async () => {
      handler = (_req, res) => json(res, status, { ok: false, error: `refused with ${status}` });
      const err = await failure(start(client()));
      assert.equal(err.kind, 'permanent');
      assert.equal(err.status, status);
      assert.match(err.message, new RegExp(`HTTP ${status}: refused with ${status}`));
    });
  }

  for (const status of [500, 502, 503, 429]) {
    it(`HTTP ${status} is retryable`, async () => {
      handler = (_req, res) => json(res, status, { ok: false, error: 'busy' });
      const err = await failure(client().clawStatus('claw-1'));
      assert.equal(err.kind, 'retryable');
      assert.equal(err.status, status);
    });
  }

  it('a 2xx with {ok:false} is an error, not a success', async () => {
    handler = (_req, res) => json(res, 201, { ok: false, error: 'gateway did not start' });
    const err = await failure(start(client()));
    assert.equal(err.kind, 'retryable');
    assert.match(err.message, /gateway did not start/);
  });

  it('a 2xx with a body of the wrong shape is an error', async () => {
    handler = (_req, res) => json(res, 200, { status: 'exploded' });
    assert.equal((await failure(client().clawStatus('claw-1'))).kind, 'retryable');
  });

  it('malformed JSON is retryable', async () => {
    handler = (_req, res) => json(res, 200, '{"ok":tru');
    const err = await failure(start(client()));
    assert.equal(err.kind, 'retryable');
    assert.match(err.message, /malformed JSON/);
  });

  it('connection refused is retryable', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const err = await failure(client({ url: `http://127.0.0.1:${port}` }).health());
    assert.equal(err.kind, 'retryable');
    assert.match(err.message, /ECONNREFUSED/);
  });

  it('a connection reset is retryable', async () => {
    handler = (req) => req.socket.destroy();
    const err = await failure(client().health());
    assert.equal(err.kind, 'retryable');
  });

  it('a slow agent times out (retryable) within the per-call timeout', async () => {
    handler = () => undefined; // never answers
    const t0 = Date.now();
    const err = await failure(client({ timeoutMs: 200 }).clawStatus('claw-1'));
    assert.equal(err.kind, 'retryable');
    assert.match(err.message, /timed out after 200 ms/);
    assert.ok(Date.now() - t0 < 2000);
  });

  it('never puts a token in the message, even if the agent echoes it', async () => {
    handler = (_req, res) =>
      json(res, 400, { ok: false, error: `bad token ${TOKEN} for gateway ${GATEWAY_TOKEN}` });
    const err = await failure(start(client()));
    assert.match(err.message, /\[redacted\]/);
  });

  it('never puts URL credentials in the message', async () => {
    handler = (_req, res) => json(res, 500, { ok: false, error: 'boom' });
    const url = baseUrl.replace('http://', 'http://user:hunter2@');
    const err = await failure(client({ url }).health());
    assert.ok(!err.message.includes('hunter2'));
  });

  it('retries retryable failures when asked to', async () => {
    let calls = 0;
    handler = (_req, res) =>
      ++calls === 1 ? json(res, 503, { ok: false, error: 'busy' }) : json(res, 200, { ok: true });
    await client({ retries: 2 }).stopClaw('claw-1');
    assert.equal(calls, 2);
  });

  it('does not retry permanent failures', async () => {
    let calls = 0;
    handler = (_req, res) => {
      calls++;
      json(res, 401, { ok: false, error: 'unauthorized' });
    };
    await failure(client({ retries: 3 }).stopClaw('claw-1'));
    assert.equal(calls, 1);
  });
});
