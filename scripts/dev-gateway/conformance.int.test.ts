// test: serial (starts many gateway processes, or the real OpenClaw gateway: it runs alone)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { generateDeviceIdentity, signDeviceAuth } from '../../server/gateway/device-identity';
import { openclawConnect, OpenClawConnectError, request } from '../../server/gateway/openclaw-client';
import { startGateway, realGatewayInstalled, type GatewayProcess } from '../../tests/fixtures/gateways';
import { waitFor } from '../../tests/fixtures/processes';

/**
 * One protocol suite, run against the dev gateway always, and against the real OpenClaw gateway
 * when OPENCLAW_BIN_DIR and OPENCLAW_PKG_DIR point at an install (CI installs one). Where the two
 * can differ (the real one has no model here, so it does not stream a reply), the test says so.
 */
type Gateway = GatewayProcess;
const launch = (kind: 'dev' | 'real', env: Record<string, string | undefined> = {}) =>
  startGateway(kind, { env });

/** Opens a socket and collects frames. */
function open(port: number, headers: Record<string, string> = {}, origin?: string) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`, {
    perMessageDeflate: false,
    headers,
    ...(origin ? { origin } : {}),
  });
  const frames: Record<string, unknown>[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
  ws.on('error', () => {});
  const next = (pred: (f: Record<string, unknown>) => boolean, ms = 10_000) =>
    waitFor('a frame', async () => frames.find(pred), ms, 10);
  return { ws, frames, closed, next };
}

const real = realGatewayInstalled();
const kinds: ('dev' | 'real')[] = real ? ['dev', 'real'] : ['dev'];
if (!real)
  console.log(
    '# the real-gateway half of this suite needs OPENCLAW_BIN_DIR and OPENCLAW_PKG_DIR (.ci/install-openclaw.sh)',
  );

for (const kind of kinds) {
  describe(`OpenClaw protocol conformance: ${kind} gateway`, () => {
    let gw: Gateway;
    before(async () => {
      gw = await launch(kind);
    });
    after(async () => {
      await gw?.stop();
    });

    it('sends connect.challenge first and answers connect with hello-ok (protocol 4, scopes, policy)', async () => {
      const c = open(gw.port);
      const challenge = await c.next((f) => f.event === 'connect.challenge');
      const payload = challenge.payload as { nonce: string; ts: number };
      assert.equal(typeof payload.nonce, 'string');
      assert.ok(Math.abs(payload.ts - Date.now()) < 60_000);
      assert.equal(c.frames[0], challenge);
      c.ws.send(
        JSON.stringify({
          type: 'req',
          id: 'c1',
          method: 'connect',
          params: {
            minProtocol: 4,
            maxProtocol: 4,
            client: { id: 'gateway-client', version: 't', platform: 'linux', mode: 'backend' },
            role: 'operator',
            scopes: ['operator.read', 'operator.write'],
            caps: [],
            auth: { token: gw.token },
          },
        }),
      );
      const hello = (await c.next((f) => f.id === 'c1')) as {
        ok: boolean;
        payload: {
          type: string;
          protocol: number;
          auth: { scopes: string[] };
          policy: { maxPayload: number; tickIntervalMs: number };
        };
      };
      assert.equal(hello.ok, true);
      assert.equal(hello.payload.type, 'hello-ok');
      assert.equal(hello.payload.protocol, 4);
      assert.deepEqual(hello.payload.auth.scopes, ['operator.read', 'operator.write']);
      assert.equal(hello.payload.policy.maxPayload, 26_214_400);
      c.ws.close();
    });

    it('refuses a wrong token (AUTH_TOKEN_MISMATCH, close 1008)', async () => {
      await assert.rejects(
        openclawConnect({
          url: `ws://127.0.0.1:${gw.port}`,
          token: 'wrong-token-000000000000',
          scopes: ['operator.read'],
        }),
        (e: unknown) =>
          e instanceof OpenClawConnectError &&
          e.details?.code === 'AUTH_TOKEN_MISMATCH' &&
          e.closeCode === 1008 &&
          /token mismatch/.test(e.message),
      );
    });

    it('requires connect as the first frame (close 1008)', async () => {
      const c = open(gw.port);
      await c.next((f) => f.event === 'connect.challenge');
      c.ws.send(
        JSON.stringify({ type: 'req', id: 'x', method: 'chat.history', params: { sessionKey: 'main' } }),
      );
      const r = (await c.next((f) => f.type === 'res')) as { error: { message: string } };
      assert.match(r.error.message, /first request must be connect/);
      assert.equal((await c.closed).code, 1008);
    });

    it('refuses a protocol it does not speak (close 1002)', async () => {
      const c = open(gw.port);
      await c.next((f) => f.event === 'connect.challenge');
      c.ws.send(
        JSON.stringify({
          type: 'req',
          id: 'p',
          method: 'connect',
          params: {
            minProtocol: 2,
            maxProtocol: 3,
            client: { id: 'gateway-client', version: 't', platform: 'linux', mode: 'backend' },
            role: 'operator',
            scopes: [],
            auth: { token: gw.token },
          },
        }),
      );
      const r = (await c.next((f) => f.id === 'p')) as { error: { message: string } };
      assert.match(r.error.message, /protocol mismatch/);
      assert.equal((await c.closed).code, 1002);
    });

    it('closes 1009 on a pre-auth frame over 64 KiB', async () => {
      const c = open(gw.port);
      await c.next((f) => f.event === 'connect.challenge');
      c.ws.send('x'.repeat(70_000));
      assert.equal((await c.closed).code, 1009);
    });

    it('checks the device signature and nonce', async () => {
      const identity = generateDeviceIdentity();
      const c = open(gw.port);
      const ch = (await c.next((f) => f.event === 'connect.challenge')).payload as {
        nonce: string;
        ts: number;
      };
      const fields = {
        clientId: 'gateway-client',
        clientMode: 'backend',
        role: 'operator',
        scopes: ['operator.read'],
        signedAt: ch.ts,
        token: gw.token,
        nonce: ch.nonce,
        platform: 'linux',
      };
      const device = signDeviceAuth(identity, fields);
      device.signature = signDeviceAuth(identity, { ...fields, scopes: ['operator.admin'] }).signature; // signed for other scopes
      c.ws.send(
        JSON.stringify({
          type: 'req',
          id: 'd',
          method: 'connect',
          params: {
            minProtocol: 4,
            maxProtocol: 4,
            client: { id: 'gateway-client', version: 't', platform: 'linux', mode: 'backend' },
            role: 'operator',
            scopes: ['operator.read'],
            caps: [],
            auth: { token: gw.token },
            device,
          },
        }),
      );
      const r = (await c.next((f) => f.id === 'd')) as { ok: boolean; error: { message: string } };
      assert.equal(r.ok, false);
      assert.match(r.error.message, /device signature invalid/);
      assert.equal((await c.closed).code, 1008);

      const c2 = open(gw.port);
      await c2.next((f) => f.event === 'connect.challenge');
      const stale = signDeviceAuth(identity, { ...fields, nonce: 'not-the-nonce' });
      c2.ws.send(
        JSON.stringify({
          type: 'req',
          id: 'n',
          method: 'connect',
          params: {
            minProtocol: 4,
            maxProtocol: 4,
            client: { id: 'gateway-client', version: 't', platform: 'linux', mode: 'backend' },
            role: 'operator',
            scopes: ['operator.read'],
            caps: [],
            auth: { token: gw.token },
            device: stale,
          },
        }),
      );
      const r2 = (await c2.next((f) => f.id === 'n')) as { error: { message: string } };
      assert.match(r2.error.message, /nonce mismatch/);

      // Correctly signed, on loopback as gateway-client/backend: accepted with its scopes.
      const { ws, hello } = await openclawConnect({
        url: `ws://127.0.0.1:${gw.port}`,
        token: gw.token,
        identity,
        scopes: ['operator.read', 'operator.write'],
      });
      assert.deepEqual(hello.auth?.scopes, ['operator.read', 'operator.write']);
      ws.close();
    });

    it('gives an Origin-bearing or non-backend connection no scopes, and then forbids chat', async () => {
      const { ws, hello } = await openclawConnect({
        url: `ws://127.0.0.1:${gw.port}`,
        token: gw.token,
        scopes: ['operator.read'],
        clientId: 'test',
        mode: 'test',
      });
      assert.deepEqual(hello.auth?.scopes, []);
      await assert.rejects(
        request(ws, 'chat.history', { sessionKey: 'main' }),
        /missing scope: operator.read/,
      );
      ws.close();
      const { ws: ws2, hello: h2 } = await openclawConnect({
        url: `ws://127.0.0.1:${gw.port}`,
        token: gw.token,
        scopes: ['operator.read'],
        headers: { Origin: `http://127.0.0.1:${gw.port}` },
      });
      assert.deepEqual(h2.auth?.scopes, []);
      ws2.close();
    });

    it('refuses forwarded headers from a proxy it does not trust (HTTP 403)', async () => {
      await assert.rejects(
        openclawConnect({
          url: `ws://127.0.0.1:${gw.port}`,
          token: gw.token,
          scopes: ['operator.read'],
          headers: { 'X-Forwarded-For': '203.0.113.5' },
        }),
        (e: unknown) => e instanceof OpenClawConnectError && e.code === 'HTTP_403',
      );
    });

    it('accepts chat.send with an idempotency key, dedupes a resend, and records history', async () => {
      const { ws } = await openclawConnect({
        url: `ws://127.0.0.1:${gw.port}`,
        token: gw.token,
        scopes: ['operator.read', 'operator.write'],
      });
      await assert.rejects(
        request(ws, 'chat.send', { sessionKey: 'main', message: 'hi' }),
        /must have required property 'idempotencyKey'/,
      );
      const key = `conf-${Date.now()}`;
      assert.deepEqual(
        await request(ws, 'chat.send', { sessionKey: 'main', message: 'first message', idempotencyKey: key }),
        { runId: key, status: 'started' },
      );
      // Resent while the first run is still going: not a new run (the real gateway says "in_flight").
      assert.deepEqual(
        await request(ws, 'chat.send', { sessionKey: 'main', message: 'first message', idempotencyKey: key }),
        { runId: key, status: 'in_flight' },
      );
      // The transcript is written as the run starts; give the gateway a moment.
      const text = (c: unknown) =>
        typeof c === 'string'
          ? c
          : Array.isArray(c)
            ? c.map((p: { text?: string }) => p.text ?? '').join('')
            : '';
      const history = await waitFor('the user message in chat.history', async () => {
        const h = await request<{ sessionKey: string; messages: { role: string; content: unknown }[] }>(
          ws,
          'chat.history',
          {
            sessionKey: 'main',
          },
        );
        return h.messages.some((m) => m.role === 'user' && text(m.content) === 'first message') ? h : null;
      });
      assert.equal(history.sessionKey, 'main');
      assert.deepEqual(await request(ws, 'sessions.messages.subscribe', { key: 'main' }), {
        subscribed: true,
        key: 'agent:main:main',
      });
      ws.close();
    });

    if (kind === 'dev') {
      // The real gateway here has no model provider, so it cannot stream a reply (its run ends in
      // an `error` chat event); the dev gateway streams a deterministic one.
      it('streams a reply as chat delta events, then final, and aborts a run', async () => {
        const { ws } = await openclawConnect({
          url: `ws://127.0.0.1:${gw.port}`,
          token: gw.token,
          scopes: ['operator.read', 'operator.write'],
        });
        const events: {
          state: string;
          deltaText?: string;
          runId: string;
          message?: { content: { text: string }[] };
        }[] = [];
        ws.on('message', (d) => {
          const f = JSON.parse(d.toString());
          if (f.event === 'chat') events.push(f.payload);
        });
        await request(ws, 'chat.send', {
          sessionKey: 'main',
          message: 'stream please',
          idempotencyKey: 'run-a',
        });
        const final = await waitFor('final', async () =>
          events.find((e) => e.runId === 'run-a' && e.state === 'final'),
        );
        const deltas = events.filter((e) => e.runId === 'run-a' && e.state === 'delta');
        assert.ok(deltas.length > 3);
        assert.equal(deltas.map((d) => d.deltaText).join(''), final.message!.content[0]!.text);
        assert.match(final.message!.content[0]!.text, /stream please/);
        await request(ws, 'chat.send', {
          sessionKey: 'main',
          message: 'a long one to stop',
          idempotencyKey: 'run-b',
        });
        const abort = await request<{ aborted: boolean; runIds: string[] }>(ws, 'chat.abort', {
          sessionKey: 'main',
          runId: 'run-b',
        });
        assert.deepEqual(abort, { ok: true, aborted: true, runIds: ['run-b'] });
        await waitFor('aborted', async () =>
          events.find((e) => e.runId === 'run-b' && e.state === 'aborted'),
        );
        ws.close();
      });

      it('pairs a remote device only once approved (device.pair.list / approve)', async () => {
        const remote = await launch('dev', { CLAWS_DEV_GATEWAY_TRUSTED_PROXIES: '127.0.0.1' });
        try {
          const identity = generateDeviceIdentity();
          const asRemote = {
            url: `ws://127.0.0.1:${remote.port}`,
            token: remote.token,
            identity,
            scopes: ['operator.read', 'operator.write'],
            headers: { 'X-Forwarded-For': '203.0.113.5' },
          };
          const first = await openclawConnect(asRemote).then(
            () => null,
            (e: OpenClawConnectError) => e,
          );
          assert.equal(first?.details?.code, 'PAIRING_REQUIRED');
          const { ws: admin } = await openclawConnect({
            url: `ws://127.0.0.1:${remote.port}`,
            token: remote.token,
            scopes: ['operator.admin', 'operator.pairing'],
          });
          const list = await request<{ pending: { requestId: string; deviceId: string }[] }>(
            admin,
            'device.pair.list',
            {},
          );
          const req = list.pending.find((p) => p.deviceId === identity.deviceId)!;
          assert.equal(req.requestId, first?.details?.requestId);
          await request(admin, 'device.pair.approve', { requestId: req.requestId });
          admin.close();
          const { ws, hello } = await openclawConnect(asRemote);
          assert.deepEqual(hello.auth?.scopes, ['operator.read', 'operator.write']);
          assert.equal(typeof hello.auth?.deviceToken, 'string');
          ws.close();
        } finally {
          await remote.stop();
        }
      });

      it('says "gateway starting" (1013) until it is ready', async () => {
        const slow = await startGateway('dev', {
          env: { CLAWS_DEV_GATEWAY_STARTUP_MS: '600000' },
          waitReady: false,
        });
        try {
          const err = await waitFor('a starting answer', () =>
            openclawConnect({
              url: `ws://127.0.0.1:${slow.port}`,
              token: slow.token,
              scopes: [],
            }).then(
              () => null,
              (e: OpenClawConnectError) => (e.code === 'UNAVAILABLE' ? e : null),
            ),
          );
          assert.equal(err.closeCode, 1013);
          assert.equal(err.retryable, true);
          assert.equal(err.retryAfterMs, 500);
        } finally {
          await slow.stop();
        }
      });
    }

    it('on shutdown sends a shutdown event, then closes 1012', async () => {
      const g = kind === 'dev' ? await launch('dev') : gw;
      const { ws } = await openclawConnect({
        url: `ws://127.0.0.1:${g.port}`,
        token: g.token,
        scopes: ['operator.read'],
      });
      const events: string[] = [];
      ws.on('message', (d) => events.push(JSON.parse(d.toString()).event));
      const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
      g.child.kill('SIGTERM');
      assert.equal(await closed, 1012);
      assert.ok(events.includes('shutdown'));
      if (kind === 'dev') await g.stop();
    });
  });
}
