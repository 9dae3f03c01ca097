import assert from 'node:assert/strict';
import { randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createAgentClient, type AgentClient } from '../../server/fleet/agent-client';
import { generateDeviceIdentity } from '../../server/gateway/device-identity';
import { upstreamTarget } from '../../server/gateway/upstream-url';
import {
  OpenClawConnectError,
  openclawConnect,
  request,
  type ConnectOptions,
} from '../../server/gateway/openclaw-client';
import { devGatewayCommand, startAgent, type AgentProcess } from '../../tests/fixtures/fleet';
import { freePort, freePortRange, waitFor } from '../../tests/fixtures/processes';
import { createTestCa, type TestCa } from '../../tests/fixtures/test-ca';

/**
 * The Mini's edge in the real agent process, serving TLS as in direct mode, in front of dev
 * gateways: routing by SNI and Host and nothing else, what the gateway is told about the client,
 * the pairing that follows, and claws coming and going under an open connection. Everything runs
 * on 127.0.0.1; the client plays cloudflared (a trusted forwarder on loopback naming the visitor
 * in X-Forwarded-For). tests/netns/remote-minis.int.test.ts runs the same over real networks.
 */

const SUFFIX = 'mini-1.claws.test';
const hostnameOf = (clawId: string) => `claw-${clawId}.${SUFFIX}`;
const VISITOR = '203.0.113.5';

describe('the Mini edge', () => {
  let ca: TestCa;
  let agent: AgentProcess;
  let client: AgentClient;
  let edgePort: number;
  let edgeCert: string;
  let ports: number[];
  const a: string = randomUUID();
  const b: string = randomUUID();
  const c: string = randomUUID();
  const tokens = new Map([a, b, c].map((id) => [id, `gw-${randomBytes(16).toString('hex')}`]));
  const identity = generateDeviceIdentity();
  const device = { deviceId: identity.deviceId, publicKey: identity.publicKeyRaw };

  /**
   * A connect to a claw through the edge as direct mode makes it (server/gateway/upstream-url.ts),
   * as the control plane's device, here behind "cloudflared" naming the visitor.
   */
  const throughEdge = (
    clawId: string,
    extra: Partial<ConnectOptions> & { sni?: string; forwardedFor?: string | null } = {},
  ) => {
    const target = upstreamTarget(
      { tunnelHostname: hostnameOf(clawId), miniPort: null },
      { agentUrl: 'https://127.0.0.1:7070', edgePort },
      { mode: 'direct', ca: ca.caPem },
    );
    return openclawConnect({
      url: target.url,
      token: tokens.get(clawId)!,
      identity,
      scopes: ['operator.read', 'operator.write'],
      connect: { ...target.options, ...(extra.sni ? { servername: extra.sni } : {}) },
      headers: {
        ...target.options.headers,
        ...(extra.forwardedFor === null ? {} : { 'x-forwarded-for': extra.forwardedFor ?? VISITOR }),
      },
      timeoutMs: 8000,
      ...extra,
    });
  };

  const get = (hostname: string, sni = hostname) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.get(
        {
          host: '127.0.0.1',
          port: edgePort,
          path: '/healthz',
          servername: sni,
          headers: { host: hostname },
          ca: ca.caPem,
          // The edge's certificate is the Mini's own.
          checkServerIdentity: (_name: string, cert: tls.PeerCertificate) =>
            tls.checkServerIdentity('127.0.0.1', cert),
        },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
    });

  const running = (clawId: string, also: (s: { paired: boolean }) => boolean = () => true) =>
    waitFor(
      `claw ${clawId.slice(0, 8)} running`,
      async () => {
        const s = await client.clawStatus(clawId);
        return s.status === 'running' && also({ paired: s.paired === true }) ? s : null;
      },
      30_000,
      100,
    );

  const start = (clawId: string, port: number) =>
    client.startClaw({
      clawId,
      port,
      gatewayToken: tokens.get(clawId)!,
      controlPlaneDevice: device,
      hostname: hostnameOf(clawId),
    });

  before(async () => {
    ca = createTestCa();
    const cert = ca.issue('mini-1', ['DNS:mini-1.test', 'IP:127.0.0.1']);
    edgeCert = cert.certFile;
    edgePort = await freePort();
    const [first] = await freePortRange(3);
    ports = [first, first + 1, first + 2];
    agent = await startAgent({
      gatewayCmd: devGatewayCommand(),
      env: {
        MINI_AGENT_TUNNEL_SUFFIX: SUFFIX,
        MINI_AGENT_EDGE_PORT: String(edgePort),
        MINI_AGENT_EDGE_CERT: cert.certFile,
        MINI_AGENT_EDGE_KEY: cert.keyFile,
        MINI_AGENT_PAIRING_INTERVAL_MS: '200',
        CLAWS_DEV_GATEWAY_STARTUP_MS: '200',
      },
    });
    client = createAgentClient({
      baseUrl: agent.url,
      token: agent.token,
      certFingerprint: agent.fingerprint,
      timeoutMs: 10_000,
    });
    await start(a, ports[0]!);
    await start(b, ports[1]!);
    await running(a);
    await running(b);
  });

  after(async () => {
    await agent?.stop();
    fs.rmSync(agent?.stateDir ?? '/nonexistent', { recursive: true, force: true });
    ca?.remove();
  });

  it('routes each claw by its name, and refuses any other name, or a Host unlike the TLS name', async () => {
    assert.deepEqual(await get(hostnameOf(a)), { status: 200, body: '{"ok":true,"status":"live"}' });
    assert.equal((await get(hostnameOf(b))).status, 200);
    assert.equal((await get(hostnameOf(randomUUID()))).status, 404);
    assert.equal((await get('mini-1.test')).status, 404);
    assert.equal((await get(hostnameOf(a), hostnameOf(b))).status, 421);
    // A start for a name outside this Mini's suffix is refused: the Mini was registered wrongly.
    await assert.rejects(
      client.startClaw({
        clawId: randomUUID(),
        port: ports[2]!,
        gatewayToken: tokens.get(c)!,
        hostname: 'claw-x.other-mini.claws.test',
      }),
      /serves \*\.mini-1\.claws\.test/,
    );
    // WebSockets alike.
    await assert.rejects(throughEdge(a, { sni: hostnameOf(randomUUID()) }), /HTTP 421/);
  });

  it("writes the edge's address, and only it, as each gateway's trusted proxy", () => {
    for (const id of [a, b]) {
      const file = path.join(agent.stateDir, 'claws', id, 'openclaw.json');
      const cfg = JSON.parse(fs.readFileSync(file, 'utf8')) as { gateway: { trustedProxies: string[] } };
      assert.deepEqual(cfg.gateway.trustedProxies, ['127.0.0.1']);
    }
  });

  it('makes the gateway see the visitor as a remote client: pairing is required, approved, reported', async () => {
    // Token only, no device: remote, so no scopes at all.
    const tokenOnly = await throughEdge(a, { identity: undefined });
    tokenOnly.ws.close();
    assert.deepEqual(tokenOnly.hello.auth?.scopes, []);
    const before = await client.clawStatus(a);
    assert.equal(before.paired, false);
    await assert.rejects(throughEdge(a), (err: unknown) => {
      assert.ok(err instanceof OpenClawConnectError);
      assert.equal(err.details?.code, 'PAIRING_REQUIRED');
      return true;
    });
    await running(a, (s) => s.paired);
    const { ws, hello } = await throughEdge(a);
    ws.close();
    assert.deepEqual(hello.auth?.scopes, ['operator.read', 'operator.write']);
    const log = fs.readFileSync(path.join(agent.stateDir, 'claws', a, 'gateway.log'), 'utf8');
    assert.match(log, new RegExp(`attributed trusted-proxy client=${VISITOR.replace(/\./g, '\\.')}`));
    // Nothing claimed the other claw's pairing.
    assert.equal((await client.clawStatus(b)).paired, false);
  });

  it("trusts an edge by the Mini's pinned certificate, and nothing else, when one is pinned", async () => {
    const pinned = (fingerprint: string) => {
      const target = upstreamTarget(
        { tunnelHostname: hostnameOf(a), miniPort: null },
        { agentUrl: 'https://127.0.0.1:7070', edgePort, agentCertFingerprint: fingerprint },
        // No CA at all: the pin alone decides.
        { mode: 'direct' },
      );
      return openclawConnect({
        url: target.url,
        token: tokens.get(a)!,
        identity,
        scopes: ['operator.read', 'operator.write'],
        connect: target.options,
        headers: { ...target.options.headers, 'x-forwarded-for': VISITOR },
        timeoutMs: 8000,
      });
    };
    const served = new X509Certificate(fs.readFileSync(edgeCert, 'utf8')).fingerprint256;
    const { ws, hello } = await pinned(`sha256:${served}`);
    ws.close();
    assert.equal(hello.type, 'hello-ok');
    const other = new X509Certificate(ca.caPem).fingerprint256;
    await assert.rejects(pinned(`sha256:${other}`), /not the one pinned/);
  });

  it('gives a loopback caller without a forwarded client no loopback privileges: the gateway refuses it', async () => {
    await assert.rejects(throughEdge(a, { forwardedFor: null, identity: undefined }), /HTTP 403/);
  });

  it('relays a WebSocket byte for byte while other claws are added and removed', async () => {
    const { ws } = await throughEdge(a);
    try {
      const big = 'x'.repeat(300_000) + randomUUID();
      await request(ws, 'chat.send', { sessionKey: 'main', message: big, idempotencyKey: randomUUID() });
      await start(c, ports[2]!);
      await running(c);
      assert.equal((await get(hostnameOf(c))).status, 200);
      await client.stopClaw(b);
      assert.equal((await get(hostnameOf(b))).status, 404);
      // The open connection of claw a went through all of it.
      assert.equal(ws.readyState, ws.OPEN);
      const history = await request<{ messages: { role: string; content: unknown }[] }>(ws, 'chat.history', {
        sessionKey: 'main',
      });
      assert.ok(history.messages.some((m) => m.role === 'user' && m.content === big));
    } finally {
      ws.close();
    }
  });
});
