// test: serial (starts many gateway processes, or the real OpenClaw gateway: it runs alone)
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { ClawState } from '../../../events/claw';
import { createLogger } from '../../log';
import {
  gatewayReady,
  realGatewayInstalled,
  startGateway as startGatewayProcess,
  type GatewayProcess,
} from '../../../tests/fixtures/gateways';
import { freePort, waitFor } from '../../../tests/fixtures/processes';
import { generateDeviceIdentity } from '../device-identity';
import { openclawConnect } from '../openclaw-client';
import { createClawsUpgradeHandler, type ProxyDeps } from '../upgrade';
import { PROXY_SCOPES } from '../verify-access';
import { ALLOWED_METHODS } from './allowlist';
import { CLOSE } from './close-codes';
import { RELAYED_EVENTS } from './relay-filter';

const TOKEN = 'proxy-test-gateway-token-7f3a9c1e5b';
const ORIGIN = 'http://claws.test';

type Gateway = GatewayProcess;
const startGateway = (kind: 'dev' | 'real', env: Record<string, string> = {}) =>
  startGatewayProcess(kind, { token: TOKEN, env, waitReady: false });

const claw = (slug: string, port: number, status: ClawState['status'] = 'active') =>
  ({ id: `claw-${slug}`, slug, status, miniPort: port, tunnelHostname: `claw-x.test` }) as ClawState;

const ready = (port: number) => gatewayReady(port, TOKEN, 120_000);

/** The proxy on a real HTTP server, with fake identity lookups (sessions and memberships are tested elsewhere). */
async function startProxy(claws: Record<string, { claw: ClawState; token: string }>, logs: string[]) {
  const identity = generateDeviceIdentity();
  const deps: ProxyDeps = {
    allowedOrigins: [ORIGIN],
    authenticate: async (cookie) => (cookie?.includes('claws_session=alice') ? { userId: 'alice' } : null),
    resolveClaw: async (userId, orgSlug, clawSlug) =>
      userId === 'alice' && orgSlug === 'acme' ? (claws[clawSlug]?.claw ?? null) : null,
    connectUpstream: async (c) => {
      const token = Object.values(claws).find((x) => x.claw.id === c.id)!.token;
      const connection = openclawConnect({
        url: `ws://127.0.0.1:${c.miniPort}`,
        token,
        identity,
        scopes: PROXY_SCOPES,
        timeoutMs: 20_000,
      });
      return { token, connection };
    },
    log: createLogger('debug', {}, (line) => logs.push(line)),
    limits: { highWaterBytes: 1 << 20, lowWaterBytes: 1 << 18, heartbeatMs: 25_000 },
  };
  const handler = createClawsUpgradeHandler(deps);
  const responses: string[] = [];
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket, head) => {
    const write = socket.write.bind(socket);
    socket.write = ((chunk: Buffer | string, ...rest: never[]) => {
      responses.push(String(chunk));
      return write(chunk, ...rest);
    }) as typeof socket.write;
    if (!handler.handleUpgrade(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, handler, port: (server.address() as AddressInfo).port, responses };
}

interface Browser {
  ws: WebSocket;
  frames: Record<string, unknown>[];
  raw: string[];
  closed: Promise<{ code: number; reason: string }>;
  next(pred: (f: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
  request(method: string, params: unknown): Promise<Record<string, unknown>>;
}

function browser(
  port: number,
  clawSlug: string,
  opts: { cookie?: string; origin?: string; org?: string } = {},
): Browser {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api/ws/claws/${opts.org ?? 'acme'}/${clawSlug}`, {
    headers:
      opts.cookie === undefined
        ? { cookie: 'claws_session=alice' }
        : opts.cookie
          ? { cookie: opts.cookie }
          : {},
    origin: opts.origin ?? ORIGIN,
    perMessageDeflate: false,
  });
  const frames: Record<string, unknown>[] = [];
  const raw: string[] = [];
  ws.on('message', (d) => {
    raw.push(d.toString());
    frames.push(JSON.parse(d.toString()));
  });
  ws.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((r) =>
    ws.on('close', (code, reason) => r({ code, reason: reason.toString() })),
  );
  let n = 0;
  return {
    ws,
    frames,
    raw,
    closed,
    next: (pred, ms = 20_000) => waitFor('a frame', async () => frames.find(pred), ms, 10),
    async request(method, params) {
      const id = `b${++n}`;
      ws.send(JSON.stringify({ type: 'req', id, method, params }));
      return waitFor(`res ${method}`, async () => frames.find((f) => f.id === id), 20_000, 10);
    },
  };
}

/**
 * What must never reach a member: the Mini's hostname, addresses and kernel (presence), the claw's
 * state-database path (health), capability URLs and config hashes, credentials. Checked on every
 * byte the browser received, hello-ok and every frame after it.
 */
function assertNothingOfTheMini(b: Browser, what: string) {
  const raw = b.raw.join('\n');
  const leaks = [
    JSON.stringify(os.hostname()),
    os.release(),
    '"host":',
    '"ip":',
    'openclaw-agent.sqlite',
    '__openclaw__/cap',
    'hmac-sha256:',
    'recoveryScope',
    'deviceToken',
    'bootId',
    'connId',
    TOKEN,
  ];
  for (const leak of leaks) assert.ok(!raw.includes(leak), `${what}: ${leak} reached the browser`);
  for (const f of b.frames)
    if (f.type === 'event')
      assert.ok(
        f.event === 'connect.challenge' || RELAYED_EVENTS.has(f.event as string),
        `${what}: event ${String(f.event)} relayed`,
      );
  const hello = b.frames.find((f) => (f.payload as { type?: string } | undefined)?.type === 'hello-ok')!
    .payload as Record<string, unknown>;
  assert.deepEqual(Object.keys(hello).sort(), [
    'auth',
    'features',
    'policy',
    'protocol',
    'server',
    'snapshot',
    'type',
  ]);
  const methods = (hello.features as { methods: string[] }).methods;
  assert.deepEqual(
    methods.filter((m) => !ALLOWED_METHODS.has(m)),
    [],
    `${what}: methods the proxy refuses are not advertised`,
  );
  assert.ok(methods.includes('chat.send'));
  assert.equal(
    (hello.snapshot as { sessionDefaults: { mainKey: string } }).sessionDefaults.mainKey,
    'main',
    'what the chat client needs is there',
  );
}

async function handshake(b: Browser) {
  await b.next((f) => f.event === 'connect.challenge');
  return b.request('connect', {
    minProtocol: 4,
    maxProtocol: 4,
    client: { id: 'webchat-ui', version: 't', platform: 'web', mode: 'webchat' },
    role: 'operator',
    scopes: PROXY_SCOPES,
  });
}

describe('chat proxy against the dev gateway', () => {
  let gateway: Gateway;
  let slow: Gateway;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  const logs: string[] = [];
  let downPort: number;

  before(async () => {
    gateway = await startGateway('dev', { CLAWS_DEV_GATEWAY_WORD_MS: '10' });
    slow = await startGateway('dev', { CLAWS_DEV_GATEWAY_STARTUP_MS: '600000' });
    downPort = await freePort();
    await ready(gateway.port);
    await waitFor('slow gateway', async () => (await fetch(`http://127.0.0.1:${slow.port}/healthz`)).ok);
    proxy = await startProxy(
      {
        c1: { claw: claw('c1', gateway.port), token: TOKEN },
        starting: { claw: claw('starting', slow.port), token: TOKEN },
        down: { claw: claw('down', downPort), token: TOKEN },
        wrongtoken: { claw: claw('wrongtoken', gateway.port + 0), token: 'not-the-gateway-token-0000' },
        inactive: { claw: claw('inactive', gateway.port, 'provisioning'), token: TOKEN },
      },
      logs,
    );
  });
  after(async () => {
    await proxy?.handler.closeAll();
    proxy?.server.close();
    await gateway?.stop();
    await slow?.stop();
  });

  it('handshakes for the browser and relays chat.history, with hello-ok stripped of secrets', async () => {
    const b = browser(proxy.port, 'c1');
    const hello = (await handshake(b)) as {
      ok: boolean;
      payload: { type: string; protocol: number; auth: Record<string, unknown> };
    };
    assert.equal(hello.ok, true);
    assert.equal(hello.payload.type, 'hello-ok');
    assert.equal(hello.payload.protocol, 4);
    assert.deepEqual(hello.payload.auth.scopes, PROXY_SCOPES);
    assert.equal(hello.payload.auth.deviceToken, undefined);
    assert.equal(hello.payload.auth.recoveryScope, undefined);
    const history = (await b.request('chat.history', { sessionKey: 'main' })) as {
      ok: boolean;
      payload: { sessionKey: string };
    };
    assert.equal(history.ok, true);
    assert.equal(history.payload.sessionKey, 'main');
    b.ws.close(1000);
  });

  it('streams a chat reply end to end (delta events, then final)', async () => {
    const b = browser(proxy.port, 'c1');
    await handshake(b);
    const sent = (await b.request('chat.send', {
      sessionKey: 'main',
      message: 'through the proxy',
      idempotencyKey: 'proxy-run-1',
    })) as { ok: boolean };
    assert.equal(sent.ok, true);
    const final = (await b.next((f) => (f.payload as { state?: string })?.state === 'final')) as {
      payload: { message: { content: { text: string }[] } };
    };
    assert.match(final.payload.message.content[0]!.text, /through the proxy/);
    const deltas = b.frames.filter((f) => (f.payload as { state?: string })?.state === 'delta');
    assert.ok(deltas.length >= 5, `streamed ${deltas.length} deltas`);
    b.ws.close(1000);
  });

  it('answers a method outside the allowlist locally with FORBIDDEN, and keeps the socket', async () => {
    const b = browser(proxy.port, 'c1');
    await handshake(b);
    const r = (await b.request('device.pair.approve', { requestId: 'x' })) as {
      ok: boolean;
      error: { code: string };
    };
    assert.equal(r.ok, false);
    assert.equal(r.error.code, 'FORBIDDEN');
    assert.equal(((await b.request('chat.history', { sessionKey: 'main' })) as { ok: boolean }).ok, true);
    b.ws.close(1000);
  });

  const refusals: [string, () => Browser, number, RegExp][] = [
    ['no session', () => browser(proxy.port, 'c1', { cookie: '' }), CLOSE.UNAUTHENTICATED, /sign in/],
    [
      "another org's claw",
      () => browser(proxy.port, 'c1', { org: 'other-org' }),
      CLOSE.NOT_FOUND,
      /not found/,
    ],
    ['a claw that is not active', () => browser(proxy.port, 'inactive'), CLOSE.NOT_ACTIVE, /provisioning/],
  ];
  for (const [what, open, code, reason] of refusals) {
    it(`closes ${code} for ${what}`, async () => {
      const b = open();
      const closed = await b.closed;
      assert.equal(closed.code, code);
      assert.match(closed.reason, reason);
    });
  }

  it('refuses a foreign Origin before upgrading (HTTP 403)', async () => {
    const b = browser(proxy.port, 'c1', { origin: 'https://evil.example' });
    const status = await new Promise<number>((r) =>
      b.ws.on('unexpected-response', (_req, res) => r(res.statusCode ?? 0)),
    );
    assert.equal(status, 403);
  });

  it('closes 1009 on a browser frame over the gateway frame limit', async () => {
    const b = browser(proxy.port, 'c1');
    await handshake(b);
    b.ws.send('x'.repeat(26_214_400 + 10));
    assert.equal((await b.closed).code, 1009);
  });

  const upstreamFailures: [string, string, number, RegExp][] = [
    ['a gateway that is down', 'down', CLOSE.UPSTREAM_UNAVAILABLE, /unreachable; retry-after-ms=\d+/],
    ['a gateway still starting', 'starting', CLOSE.UPSTREAM_UNAVAILABLE, /starting; retry-after-ms=500/],
    ['a wrong token', 'wrongtoken', CLOSE.UPSTREAM_REFUSED, /refused/],
  ];
  for (const [what, slug, code, reason] of upstreamFailures) {
    it(`answers connect with an error and closes ${code} for ${what}`, async () => {
      const b = browser(proxy.port, slug);
      const res = (await handshake(b)) as { ok: boolean; error: { code: string; message: string } };
      assert.equal(res.ok, false);
      assert.equal(res.error.code, 'UNAVAILABLE');
      const closed = await b.closed;
      assert.equal(closed.code, code);
      assert.match(closed.reason, reason);
    });
  }

  it('closes with "upstream unavailable" when the gateway shuts down mid-session, never 1006', async () => {
    const g = await startGateway('dev');
    await ready(g.port);
    const p = await startProxy({ live: { claw: claw('live', g.port), token: TOKEN } }, logs);
    try {
      const b = browser(p.port, 'live');
      await handshake(b);
      g.child.kill('SIGTERM');
      const closed = await b.closed;
      assert.equal(closed.code, CLOSE.UPSTREAM_UNAVAILABLE);
      assert.ok(
        b.frames.some((f) => f.event === 'shutdown'),
        'the shutdown event was relayed first',
      );
    } finally {
      p.server.close();
      await g.stop();
    }
  });

  it("relays nothing of the Mini: not the gateway's presence, health, paths or capability links", async () => {
    // The dev gateway does tell its clients (as the real one does): the test can fail.
    const direct = await openclawConnect({
      url: `ws://127.0.0.1:${gateway.port}`,
      token: TOKEN,
      identity: generateDeviceIdentity(),
      scopes: PROXY_SCOPES,
      timeoutMs: 10_000,
    });
    const seen = JSON.stringify(direct.hello);
    direct.ws.close();
    assert.ok(seen.includes(JSON.stringify(os.hostname())), 'the gateway names its host');
    assert.ok(seen.includes('openclaw-agent.sqlite') && seen.includes('__openclaw__/cap'));

    const b = browser(proxy.port, 'c1');
    await handshake(b);
    // Someone else joins: the gateway broadcasts presence (with its host) to every connection.
    const other = browser(proxy.port, 'c1');
    await handshake(other);
    await b.request('chat.send', { sessionKey: 'main', message: 'hello', idempotencyKey: 'presence-1' });
    await b.next((f) => (f.payload as { state?: string })?.state === 'final');
    await b.request('chat.history', { sessionKey: 'main' });
    await waitFor(
      'the presence and health events, dropped',
      async () =>
        ['event presence', 'event health'].every((e) =>
          logs.some((l) => l.includes('gateway frame not relayed') && l.includes(e)),
        ),
      10_000,
    );
    assertNothingOfTheMini(b, 'dev gateway');
    assertNothingOfTheMini(other, 'dev gateway, second browser');
    b.ws.close(1000);
    other.ws.close(1000);
  });

  it('never shows the gateway token to the browser, in an HTTP response, or in a log line', () => {
    const everything = [...logs, ...proxy.responses].join('\n');
    assert.ok(logs.length > 5, 'the proxy logged its sessions');
    assert.ok(!everything.includes(TOKEN), 'token in logs or HTTP responses');
    // Frames of every browser above are checked where they were received; check a fresh session too.
  });

  it('a full session carries no token in any frame', async () => {
    const b = browser(proxy.port, 'c1');
    await handshake(b);
    await b.request('chat.send', {
      sessionKey: 'main',
      message: `say ${TOKEN.slice(0, 4)}`,
      idempotencyKey: 'leak-check',
    });
    await b.next((f) => (f.payload as { state?: string })?.state === 'final');
    await b.request('chat.history', { sessionKey: 'main' });
    assert.ok(!b.raw.join('\n').includes(TOKEN));
    b.ws.close(1000);
  });
});

const real = realGatewayInstalled();
describe(
  'chat proxy against the real OpenClaw gateway',
  {
    skip:
      !real &&
      'needs OPENCLAW_BIN_DIR and OPENCLAW_PKG_DIR (.ci/install-openclaw.sh installs them; CI sets them)',
  },
  () => {
    let gateway: Gateway;
    let proxy: Awaited<ReturnType<typeof startProxy>>;
    const logs: string[] = [];
    before(async () => {
      // Waits until it accepts connect, and says what it printed if it never does.
      gateway = await startGatewayProcess('real', { token: TOKEN });
      proxy = await startProxy({ real: { claw: claw('real', gateway.port), token: TOKEN } }, logs);
    });
    after(async () => {
      await proxy?.handler.closeAll();
      proxy?.server.close();
      await gateway?.stop();
    });

    it('gets hello-ok with operator.read/operator.write through the proxy, and a working chat.history', async () => {
      const b = browser(proxy.port, 'real');
      const hello = (await handshake(b)) as {
        ok: boolean;
        payload: { protocol: number; server: { version: string }; auth: Record<string, unknown> };
      };
      assert.equal(hello.ok, true, JSON.stringify(hello).slice(0, 500));
      assert.equal(hello.payload.protocol, 4);
      assert.match(hello.payload.server.version, /^2026\.9\.6/);
      assert.deepEqual(hello.payload.auth.scopes, ['operator.read', 'operator.write']);
      assert.equal(hello.payload.auth.recoveryScope, undefined, 'recovery scope stripped');
      const history = (await b.request('chat.history', { sessionKey: 'main' })) as {
        ok: boolean;
        payload: { sessionKey: string; messages: unknown[] };
      };
      assert.equal(history.ok, true, JSON.stringify(history).slice(0, 500));
      assert.equal(history.payload.sessionKey, 'main');
      assert.ok(Array.isArray(history.payload.messages));
      assert.ok(!b.raw.join('\n').includes(TOKEN), 'no token in any frame');
      assert.ok(!logs.join('\n').includes(TOKEN), 'no token in any log line');
      // The real gateway's hello-ok names its host, address, kernel and database path, and a
      // health event (with the path again) follows it: none of it reaches the browser.
      await waitFor(
        "the real gateway's health event, dropped",
        async () => logs.some((l) => l.includes('gateway frame not relayed') && l.includes('event health')),
        30_000,
        100,
      );
      assertNothingOfTheMini(b, 'real gateway');
      b.ws.close(1000);
    });
  },
);
