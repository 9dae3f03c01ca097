import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { FailureError } from '../failure';
import { selfSignedCertificate } from '../../scripts/mini-agent/x509';
import { createAgentClient, type AgentClient } from './agent-client';
import { certFingerprint, normalizeFingerprint, pemToDer } from './agent-tls';

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

describe('agent client: an https agent is trusted by its pinned certificate only', () => {
  const identity = () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const certPem = selfSignedCertificate({
      privateKey,
      commonName: 'test agent',
      altNames: ['127.0.0.1'],
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 3600_000),
    });
    const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    return { keyPem, certPem, fingerprint: certFingerprint(pemToDer(certPem)) };
  };
  const agentTls = identity();
  let tlsServer: https.Server;
  let tlsUrl: string;
  /** Requests that reached the agent, and TLS connections that were opened. */
  let requests: { authorization?: string }[];
  let connections = 0;

  before(async () => {
    tlsServer = https.createServer({ key: agentTls.keyPem, cert: agentTls.certPem }, (req, res) => {
      requests.push({ authorization: req.headers.authorization });
      req.resume();
      json(res, 200, { ok: true, claws: 0, version: 'tls' });
    });
    tlsServer.on('connection', () => connections++);
    await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r));
    tlsUrl = `https://127.0.0.1:${(tlsServer.address() as AddressInfo).port}`;
  });
  after(async () => {
    tlsServer.closeAllConnections();
    await new Promise((r) => tlsServer.close(r));
  });
  beforeEach(() => {
    requests = [];
    connections = 0;
  });

  const pinned = (certFingerprint: string | undefined) =>
    createAgentClient({ baseUrl: tlsUrl, token: TOKEN, certFingerprint, timeoutMs: 2000 });

  it('calls it when its certificate is the pinned one (also pinned as AB:CD:… colon hex)', async () => {
    assert.deepEqual(await pinned(agentTls.fingerprint).health(), { claws: 0, version: 'tls' });
    const colons = agentTls.fingerprint.slice('sha256:'.length).toUpperCase().match(/../g)!.join(':');
    await pinned(colons).health();
    assert.equal(requests.length, 2);
    assert.equal(requests[0]!.authorization, `Bearer ${TOKEN}`);
  });

  it('refuses another certificate, permanently, naming both fingerprints, before sending anything', async () => {
    const other = identity().fingerprint;
    const err = await failure(pinned(other).health());
    assert.equal(err.kind, 'permanent');
    assert.ok(err.message.includes(agentTls.fingerprint), `names the certificate seen: ${err.message}`);
    assert.ok(err.message.includes(other), 'names the pinned one');
    assert.match(err.message, /^Agent GET \/health: /);
    assert.equal(connections, 1, 'it did connect');
    assert.deepEqual(requests, [], 'no request, so no token, reached the impostor');
  });

  it('checks the pin on every connection, and does not retry a mismatch', async () => {
    const c = pinned(identity().fingerprint);
    await failure(c.health());
    await failure(c.listClaws());
    assert.equal(connections, 2);
    const retrying = createAgentClient({
      baseUrl: tlsUrl,
      token: TOKEN,
      certFingerprint: identity().fingerprint,
      retries: 3,
      timeoutMs: 2000,
    });
    await failure(retrying.health());
    assert.equal(connections, 3, 'one attempt: a wrong certificate stays wrong');
  });

  it('will not call an https agent without a pin, or with something that is no fingerprint', () => {
    assert.throws(() => pinned(undefined), /No certificate fingerprint is pinned/);
    assert.throws(() => pinned('sha1:abcd'), /not a SHA-256 fingerprint/);
  });

  it('plain HTTP to the TLS agent gets no answer, and an https call to a plain agent none either', async () => {
    const plain = createAgentClient({
      baseUrl: tlsUrl.replace('https:', 'http:'),
      token: TOKEN,
      timeoutMs: 2000,
    });
    const err = await failure(plain.health());
    assert.equal(err.status, undefined, 'no HTTP answer');
    const toPlain = createAgentClient({
      baseUrl: baseUrl.replace('http:', 'https:'),
      token: TOKEN,
      certFingerprint: agentTls.fingerprint,
      timeoutMs: 2000,
    });
    await failure(toPlain.health());
    assert.deepEqual(seen, [], 'the plain agent never saw a request (the token stayed unsent)');
  });
});

describe('certificate fingerprints', () => {
  it('take the spellings operators paste and come out canonical', () => {
    const hex = 'ab'.repeat(32);
    const canonical = `sha256:${hex}`;
    for (const v of [canonical, `SHA256:${hex.toUpperCase()}`, hex, `  ${hex}\n`, 'AB:'.repeat(31) + 'AB'])
      assert.equal(normalizeFingerprint(v), canonical, v);
    assert.equal(normalizeFingerprint(`sha256 Fingerprint=${'AB:'.repeat(31)}AB`), canonical);
    for (const v of ['', 'sha256:', `sha1:${'ab'.repeat(20)}`, 'ab'.repeat(31), `${hex}00`, 'zz'.repeat(32)])
      assert.equal(normalizeFingerprint(v), undefined, v);
  });
});

describe('agent client: bounded answers', () => {
  it('stops reading an answer far larger than the API ever sends', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"ok":true,"claws":[],"pad":"${'x'.repeat(9 * 1024 * 1024)}"}`);
    };
    const err = await failure(client({ timeoutMs: 5000 }).listClaws());
    assert.equal(err.kind, 'retryable');
    assert.match(err.message, /exceeds \d+ bytes/);
  });
});
