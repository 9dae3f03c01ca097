// test: serial (network namespaces, a dozen processes, and the real OpenClaw gateway when installed)
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { createScratchDatabase, type ScratchDatabase } from '../../db/scratch';
import type { ClawState } from '../../events/claw';
import { clawStream } from '../../events/claw';
import { clawsProjection } from '../../projections/claws';
import { benchPostgres } from '../../scripts/bench/lib/postgres';
import { createSession, SESSION_COOKIE } from '../../server/auth/session';
import { signup } from '../../server/auth/users';
import { deleteClaw, requestClaw } from '../../server/claws/commands';
import { registerMini } from '../../server/fleet/commands';
import { loadControlPlaneIdentity } from '../../server/gateway/control-plane-identity';
import { createOrganizationWithOwner } from '../../server/orgs/memberships';
import type { Runtime } from '../../server/runtime';
import { gatewayTokenSecret } from '../../server/secrets/secret-store';
import { commandContext, devGatewayCommand, testKeySpec, testRuntime } from '../fixtures/fleet';
import { realGatewayInstalled } from '../fixtures/gateways';
import { netnsUnavailable, TestNetwork, type Spawned } from '../fixtures/netns/network';
import { modelConfig } from '../../scripts/mini-agent/gateway-config';
import { waitFor } from '../fixtures/processes';
import { createTestCa, type TestCa } from '../fixtures/test-ca';

/**
 * Remote mode, proven on one machine: the control plane (worker, health loop, reconciler, chat
 * proxy) in one network namespace, two Minis in two others, and "Cloudflare" in a fourth, with
 * `UPSTREAM_MODE=tunnel`. Nothing is reachable through loopback across them:
 *
 *   test (host ns) ──10.77.H──▶ claws-cp ──10.77.0── claws-cf ──10.77.1── claws-mini1
 *     │  PostgreSQL, via a         │ worker, proxy      Cloudflare     └─10.77.2── claws-mini2
 *     │  forwarder on 10.77.H.1    └──10.77.11/12 (agent API)──────▶ agents
 *
 * - The control plane dials `wss://claw-<id>.<suffix>` on port 443. No DNS knows those names:
 *   UPSTREAM_TUNNEL_CONNECT_TO makes every tunnel hostname resolve to the Cloudflare stand-in
 *   (the only address it dials for gateways), and UPSTREAM_CA_FILE makes it trust the test CA
 *   that signed the stand-in's `*.<suffix>` certificates; TLS is verified as in production.
 * - The stand-in adds Cloudflare's headers and sends each name over the matching Mini's tunnel to
 *   that Mini's cloudflared stand-in, which forwards to the service of the one wildcard rule of the
 *   config `npm run agent -- tunnel-config` wrote: the agent's edge on the Mini's loopback, which
 *   routes by Host to the claw's gateway on 127.0.0.1.
 * - mini1 runs the real OpenClaw gateway when OPENCLAW_BIN_DIR/OPENCLAW_PKG_DIR are set (CI; one
 *   gateway, with a model stand-in on its loopback), else the dev gateway; mini2 runs dev gateways.
 */

const unavailable = netnsUnavailable();
const REAL = realGatewayInstalled();
const SUFFIX = { mini1: 'mini1.claws.test', mini2: 'mini2.claws.test' } as const;
const EDGE_PORT = 8080;
const TUNNEL_PORT = 7844;
const AGENT_PORT = 7070;
const PROXY_PORT = 3000;
const STRIDE = 120;
const MODEL_PORT = 18799;

interface Browser {
  ws: WebSocket;
  frames: Record<string, unknown>[];
  closed: boolean;
  request(method: string, params: unknown): Promise<Record<string, unknown>>;
  next(pred: (f: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
}

describe(
  `remote Minis through a tunnel, in network namespaces (${REAL ? 'real OpenClaw gateway on mini1' : 'dev gateways'})`,
  { skip: unavailable ?? false, timeout: 600_000 },
  () => {
    let network: TestNetwork;
    let pg: { url: string; stop(): void };
    let database: ScratchDatabase;
    let rt: Runtime;
    let forwarder: net.Server;
    let ca: TestCa;
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'claws-netns-'));
    const processes: Spawned[] = [];
    const agents: Partial<Record<'mini1' | 'mini2', Spawned>> = {};
    const stateDirs = { mini1: path.join(work, 'mini1-agent'), mini2: path.join(work, 'mini2-agent') };
    const ns = { cp: '', cf: '', mini1: '', mini2: '' };
    const addr = {
      cpToCf: '',
      cf: '',
      mini1Tunnel: '',
      mini2Tunnel: '',
      mini1Agent: '',
      mini2Agent: '',
      proxy: '',
    };
    let orgSlug = '';
    let cookie = '';
    let deviceId = '';
    const claws: Record<'a' | 'b', ClawState | undefined> = { a: undefined, b: undefined };
    const browsers: Browser[] = [];

    const load = async (id: string) => (await rt.store.load(clawsProjection, id))!;
    const untilStatus = (id: string, status: ClawState['status'], ms = 240_000) =>
      waitFor(
        `claw ${id.slice(0, 8)} to be ${status}`,
        async () => {
          const c = await load(id);
          if (c.status === 'failed' && status !== 'failed') throw new Error(`claw failed: ${c.lastError}`);
          return c.status === status ? c : null;
        },
        ms,
        200,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${diagnostics()}`);
      });
    const diagnostics = () =>
      processes
        .map((p) => `--- ${p.child.spawnargs.slice(-1)[0]} ---\n${p.output().slice(-2500)}`)
        .join('\n');
    const eventsOf = async (id: string) => rt.store.readStream(clawStream, id);
    const gatewayDir = (mini: 'mini1' | 'mini2', clawId: string) =>
      path.join(stateDirs[mini], 'claws', clawId);

    /** A probe (tests/fixtures/netns/probe.ts) in a namespace: its one JSON line. */
    async function probe(inNs: string, env: Record<string, string>): Promise<Record<string, unknown>> {
      const p = network.spawnTs(inNs, 'tests/fixtures/netns/probe.ts', [], env, /^probe: /);
      const line = await p.ready;
      await p.exited;
      return JSON.parse(line.slice('probe: '.length)) as Record<string, unknown>;
    }

    /** The chat as a browser opens it: through the proxy, with the member's session cookie. */
    async function openChat(clawSlug: string): Promise<Browser> {
      const ws = new WebSocket(`ws://${addr.proxy}:${PROXY_PORT}/api/ws/claws/${orgSlug}/${clawSlug}`, {
        headers: { cookie },
        perMessageDeflate: false,
      });
      const frames: Record<string, unknown>[] = [];
      const b: Browser = {
        ws,
        frames,
        closed: false,
        next: (pred, ms = 90_000) => waitFor('a frame from the proxy', async () => frames.find(pred), ms, 20),
        async request(method, params) {
          const id = `b-${randomUUID()}`;
          ws.send(JSON.stringify({ type: 'req', id, method, params }));
          return b.next((f) => f.id === id);
        },
      };
      ws.on('message', (d) => frames.push(JSON.parse(d.toString()) as Record<string, unknown>));
      ws.on('close', () => (b.closed = true));
      ws.on('error', () => {});
      browsers.push(b);
      await b.next((f) => f.event === 'connect.challenge', 30_000);
      const hello = await b.request('connect', {
        minProtocol: 4,
        maxProtocol: 4,
        client: { id: 'webchat-ui', version: 'netns', platform: 'web', mode: 'webchat' },
        role: 'operator',
        scopes: ['operator.read', 'operator.write'],
      });
      assert.equal(hello.ok, true, JSON.stringify(hello).slice(0, 400));
      return b;
    }

    /** Sends a message and waits for the streamed reply: deltas, then a final. */
    async function chat(b: Browser, message: string): Promise<{ deltas: number; text: string }> {
      const key = randomUUID();
      const sent = await b.request('chat.send', { sessionKey: 'main', message, idempotencyKey: key });
      assert.equal(sent.ok, true, JSON.stringify(sent).slice(0, 400));
      const ofRun = (f: Record<string, unknown>, state: string) => {
        const p = f.payload as { runId?: string; state?: string } | undefined;
        return f.event === 'chat' && p?.runId === key && p.state === state;
      };
      const final = await b.next((f) => ofRun(f, 'final') || ofRun(f, 'error'), 120_000);
      assert.equal((final.payload as { state: string }).state, 'final', JSON.stringify(final).slice(0, 600));
      const message_ = (final.payload as { message?: { content?: { text?: string }[] | string } }).message;
      const content = message_?.content;
      const text = typeof content === 'string' ? content : (content ?? []).map((c) => c.text ?? '').join('');
      return { deltas: b.frames.filter((f) => ofRun(f, 'delta')).length, text };
    }

    before(async () => {
      network = new TestNetwork();
      ns.cp = network.namespace('cp');
      ns.cf = network.namespace('cf');
      ns.mini1 = network.namespace('mini1');
      ns.mini2 = network.namespace('mini2');
      const host = network.link(null, ns.cp, network.freeHostSubnet());
      addr.proxy = host.b;
      const cpCf = network.link(ns.cp, ns.cf, '10.77.0');
      addr.cpToCf = cpCf.a;
      addr.cf = cpCf.b;
      addr.mini1Tunnel = network.link(ns.cf, ns.mini1, '10.77.1').b;
      addr.mini2Tunnel = network.link(ns.cf, ns.mini2, '10.77.2').b;
      addr.mini1Agent = network.link(ns.cp, ns.mini1, '10.77.11').b;
      addr.mini2Agent = network.link(ns.cp, ns.mini2, '10.77.12').b;

      // PostgreSQL stays on this host's loopback; the control plane reaches it through the veth.
      pg = benchPostgres();
      database = await createScratchDatabase(pg.url, { prefix: 'claws_netns' });
      const dbUrl = new URL(database.url);
      forwarder = net.createServer((s) => {
        const up = net.connect({ host: dbUrl.hostname, port: Number(dbUrl.port) });
        s.pipe(up).pipe(s);
        s.on('error', () => up.destroy());
        up.on('error', () => s.destroy());
      });
      await new Promise<void>((r) => forwarder.listen(0, host.a, r));
      const cpDbUrl = new URL(database.url);
      cpDbUrl.hostname = host.a;
      cpDbUrl.port = String((forwarder.address() as net.AddressInfo).port);

      const keySpec = testKeySpec();
      rt = testRuntime(database, keySpec);
      ca = createTestCa();
      const edgeOfCloudflare = ca.issue('cloudflare', [`DNS:*.${SUFFIX.mini1}`, `DNS:*.${SUFFIX.mini2}`]);

      // Each Mini: its cloudflared config (the agent writes it), cloudflared, the agent and its edge.
      const agentToken = `agent-${randomBytes(16).toString('hex')}`;
      const realCmd = [
        path.join(process.env.OPENCLAW_BIN_DIR ?? '', 'node'),
        path.join(process.env.OPENCLAW_PKG_DIR ?? '', 'node_modules/openclaw/openclaw.mjs'),
      ].join(' ');
      // The model goes where an operator puts it: the agent's base config (`--gateway-config`),
      // under what the agent enforces. It is the model stand-in on the Mini's loopback.
      const modelBase = path.join(work, 'openclaw.base.json');
      fs.writeFileSync(
        modelBase,
        JSON.stringify(
          modelConfig({
            api: 'openai-completions',
            baseUrl: `http://127.0.0.1:${MODEL_PORT}/v1`,
            model: 'mock-echo',
            apiKey: 'mock-key',
          }),
        ),
      );
      for (const mini of ['mini1', 'mini2'] as const) {
        const real = REAL && mini === 'mini1';
        const config = path.join(work, `${mini}-cloudflared.yml`);
        const written = network.spawnTs(
          null,
          'scripts/mini-agent.ts',
          [
            'tunnel-config',
            '--edge-port',
            String(EDGE_PORT),
            '--tunnel-suffix',
            SUFFIX[mini],
            '--tunnel-id',
            `netns-${mini}`,
            '--out',
            config,
          ],
          {},
        );
        assert.equal(await written.exited, 0, written.output());
        // One wildcard rule to the edge and a 404: nothing in it names a claw.
        assert.match(
          fs.readFileSync(config, 'utf8'),
          new RegExp(
            `ingress:\n  - hostname: "\\*\\.${SUFFIX[mini].replace(/\./g, '\\.')}"\n    service: "http://127\\.0\\.0\\.1:${EDGE_PORT}"\n  - service: http_status:404\n$`,
          ),
        );
        processes.push(
          network.spawnTs(
            ns[mini],
            'tests/fixtures/netns/mini-sidecars.ts',
            [],
            {
              SIDECAR_CLOUDFLARED_CONFIG: config,
              SIDECAR_TUNNEL_LISTEN: `${mini === 'mini1' ? addr.mini1Tunnel : addr.mini2Tunnel}:${TUNNEL_PORT}`,
              ...(real ? { SIDECAR_MODEL_PORT: String(MODEL_PORT) } : {}),
            },
            /mini sidecars ready/,
          ),
        );
        const agent = network.spawnTs(
          ns[mini],
          'scripts/mini-agent.ts',
          [
            '--host',
            mini === 'mini1' ? addr.mini1Agent : addr.mini2Agent,
            '--port',
            String(AGENT_PORT),
            '--edge-port',
            String(EDGE_PORT),
            '--tunnel-suffix',
            SUFFIX[mini],
            '--stop-gateways-on-exit',
            ...(real ? ['--gateway-config', modelBase] : []),
          ],
          {
            MINI_AGENT_TOKEN: agentToken,
            MINI_AGENT_STATE_DIR: stateDirs[mini],
            // This suite is about the network path; claw users are scripts/mini-agent/isolation.int.test.ts's.
            MINI_AGENT_ISOLATION: 'none',
            MINI_AGENT_GATEWAY_CMD: real ? realCmd : devGatewayCommand(),
            MINI_AGENT_PAIRING_INTERVAL_MS: '250',
            MINI_AGENT_PAIRING_WINDOW_MS: '120000',
            MINI_AGENT_READY_TIMEOUT_MS: '240000',
            CLAWS_DEV_GATEWAY_STARTUP_MS: '200',
          },
          /mini-agent: listening on/,
        );
        agents[mini] = agent;
        processes.push(agent);
      }
      const cloudflare = network.spawnTs(
        ns.cf,
        'tests/fixtures/netns/cloudflare.ts',
        [],
        {
          CF_LISTEN: `${addr.cf}:443`,
          CF_CERT: edgeOfCloudflare.certFile,
          CF_KEY: edgeOfCloudflare.keyFile,
          CF_ROUTES: JSON.stringify([
            { suffix: SUFFIX.mini1, to: `${addr.mini1Tunnel}:${TUNNEL_PORT}` },
            { suffix: SUFFIX.mini2, to: `${addr.mini2Tunnel}:${TUNNEL_PORT}` },
          ]),
        },
        /cloudflare stand-in listening/,
      );
      processes.push(cloudflare);
      const controlPlane = network.spawnTs(
        ns.cp,
        'tests/fixtures/netns/control-plane.ts',
        [],
        {
          NODE_ENV: 'test',
          HOST: addr.proxy,
          PORT: String(PROXY_PORT),
          DATABASE_URL: cpDbUrl.toString(),
          DATA_DIR: path.join(work, 'control-plane'),
          CLAWS_SECRET_KEYS: keySpec,
          UPSTREAM_MODE: 'tunnel',
          UPSTREAM_CA_FILE: ca.caFile,
          UPSTREAM_TUNNEL_CONNECT_TO: addr.cf,
          WORKER_POLL_MS: '200',
          WORKER_BACKOFF_BASE_MS: '200',
          WORKER_BACKOFF_MAX_MS: '2000',
          WORKER_READY_TIMEOUT_MS: '240000',
          HEALTH_INTERVAL_MS: '1000',
          RECONCILE_INTERVAL_MS: '2000',
          LOG_LEVEL: 'warn',
        },
        /control plane listening/,
      );
      processes.push(controlPlane);
      await Promise.all(processes.map((p) => p.ready));

      const user = await signup(rt.database.db, {
        email: `netns-${randomUUID().slice(0, 8)}@example.com`,
        password: 'password-123',
        name: 'Netns',
      });
      const org = await createOrganizationWithOwner(rt.database.db, user.id, {
        name: `Netns ${randomUUID()}`,
      });
      orgSlug = org.slug;
      cookie = `${SESSION_COOKIE}=${(await createSession(rt.database.db, user.id)).token}`;
      deviceId = (await loadControlPlaneIdentity(rt.secrets)).deviceId;

      const fingerprintOf = (mini: 'mini1' | 'mini2') => {
        const printed = /certificate fingerprint (sha256:[0-9a-f]{64})/.exec(agents[mini]!.output());
        assert.ok(printed, `the ${mini} agent printed its certificate fingerprint`);
        return printed[1]!;
      };
      const ctx = commandContext(rt, 'system:netns-test');
      const register = (mini: 'mini1' | 'mini2', capacity: number) =>
        registerMini(ctx, {
          hostname: `${mini}.test`,
          agentUrl: `https://${mini === 'mini1' ? addr.mini1Agent : addr.mini2Agent}:${AGENT_PORT}`,
          // The agent serves HTTPS with its own certificate; the control plane pins what it printed.
          agentCertFingerprint: fingerprintOf(mini),
          agentToken,
          tunnelSuffix: SUFFIX[mini],
          portRangeStart: 20000,
          portRangeEnd: 20000 + STRIDE * 4 - 1,
          portStride: STRIDE,
          capacity,
        });
      // One claw on mini1 (where the real gateway runs), the rest on mini2.
      const mini1 = await register('mini1', 1);
      claws.a = await requestClaw(ctx, { orgId: org.id, name: 'Claw A' });
      await waitFor('claw A placed', async () => (await load(claws.a!.id)).miniId === mini1.id, 30_000, 100);
      await register('mini2', 3);
      claws.b = await requestClaw(ctx, { orgId: org.id, name: 'Claw B' });
      claws.a = await untilStatus(claws.a.id, 'active');
      claws.b = await untilStatus(claws.b.id, 'active');
    });

    after(async () => {
      for (const b of browsers) b.ws.terminate();
      // The control plane first (no more starts), then the agents, which stop their gateways.
      const [cp, ...rest] = [...processes].reverse();
      await cp?.stop();
      await Promise.all(rest.map((p) => p.stop()));
      network?.destroy();
      forwarder?.close();
      await rt?.close();
      await database?.close();
      pg?.stop();
      ca?.remove();
      fs.rmSync(work, { recursive: true, force: true });
    });

    it('provisions claws on both Minis through the tunnel, a port block apart', async () => {
      assert.equal(claws.a!.status, 'active');
      assert.equal(claws.b!.status, 'active');
      assert.notEqual(claws.a!.miniId, claws.b!.miniId);
      assert.equal(claws.a!.tunnelHostname, `claw-${claws.a!.id}.${SUFFIX.mini1}`);
      assert.equal(claws.b!.tunnelHostname, `claw-${claws.b!.id}.${SUFFIX.mini2}`);
      // The only route between the control plane and a gateway is the tunnel: no gateway port is
      // reachable from the control plane's namespace (the gateways listen on their Mini's loopback).
      const direct = await probe(ns.cp, {
        PROBE: 'pairing-list',
        PROBE_PORT: String(claws.b!.miniPort),
        PROBE_TOKEN: 'unused-token-0123456789',
      });
      assert.equal(direct.ok, false);
    });

    it('pairs for real: the gateway sees a remote peer, the agent approves, the log records it once', async () => {
      for (const [key, mini] of [
        ['a', 'mini1'],
        ['b', 'mini2'],
      ] as const) {
        const claw = claws[key]!;
        const token = (await rt.secrets.get(gatewayTokenSecret(claw.id)))!;
        // A token without a device, through the tunnel: the gateway grants a remote client nothing
        // (on loopback it would keep its scopes), so it attributed the peer as remote.
        const tokenOnly = await probe(ns.cp, {
          PROBE: 'tunnel-hello',
          PROBE_HOSTNAME: claw.tunnelHostname!,
          PROBE_TOKEN: token,
          UPSTREAM_CA_FILE: ca.caFile,
          UPSTREAM_TUNNEL_CONNECT_TO: addr.cf,
        });
        assert.deepEqual(tokenOnly, { ok: true, scopes: [] }, JSON.stringify(tokenOnly));
        // The gateway's own records: the control plane's device is paired…
        const records = await probe(ns[mini], {
          PROBE: 'pairing-list',
          PROBE_PORT: String(claw.miniPort),
          PROBE_TOKEN: token,
        });
        assert.deepEqual(records, { ok: true, paired: [deviceId] }, JSON.stringify(records));
        // …and the log says so exactly once, before the claw became active.
        const types = (await eventsOf(claw.id)).map((e) => e.type);
        assert.equal(types.filter((t) => t === 'GatewayPaired').length, 1, types.join(' '));
        assert.ok(types.indexOf('GatewayPaired') < types.indexOf('ClawActive'), types.join(' '));
        const paired = (await eventsOf(claw.id)).find((e) => e.type === 'GatewayPaired')!;
        assert.deepEqual(paired.data, { deviceId });
        // The dev gateway says how it attributed the connections: Cloudflare's visitor, which is
        // the control plane's address on its link, behind the edge.
        if (!(REAL && mini === 'mini1')) {
          const log = fs.readFileSync(path.join(gatewayDir(mini, claw.id), 'gateway.log'), 'utf8');
          const seen = [...log.matchAll(/attributed (\S+) client=(\S+)/g)].map((m) => `${m[1]} ${m[2]}`);
          // The agent's own checks over loopback, and the control plane behind the edge: nothing else.
          assert.ok(seen.includes(`trusted-proxy ${addr.cpToCf}`), seen.join(', '));
          assert.deepEqual(
            [...new Set(seen)].sort(),
            ['direct-local 127.0.0.1', `trusted-proxy ${addr.cpToCf}`].sort(),
          );
        }
      }
    });

    it('chats end to end: proxy → Cloudflare → cloudflared → edge → gateway, with a streamed reply', async () => {
      for (const claw of [claws.a!, claws.b!]) {
        const b = await openChat(claw.slug);
        const reply = await chat(b, `hello over the tunnel to ${claw.slug}`);
        assert.ok(reply.deltas >= 2, `streamed in ${reply.deltas} deltas`);
        assert.ok(reply.text.length > 0);
      }
    });

    it('adds and deletes a claw next to open chats without dropping them or restarting anything', async () => {
      const [chatA, chatB] = browsers;
      assert.ok(chatA && chatB && !chatA.closed && !chatB.closed);
      const pids = processes.map((p) => p.child.pid);
      const ctx = commandContext(rt, 'system:netns-test');
      const c = await requestClaw(ctx, { orgId: claws.a!.orgId, name: 'Claw C' });
      const active = await untilStatus(c.id, 'active');
      // On mini2 (mini1 is full), in the next port block after claw B's.
      assert.equal(active.miniId, claws.b!.miniId);
      assert.equal(active.miniPort, claws.b!.miniPort! + STRIDE);
      const chatC = await openChat(active.slug);
      assert.ok((await chat(chatC, 'and the newcomer')).deltas >= 2);
      await deleteClaw(ctx, c.id);
      await untilStatus(c.id, 'deleted');
      await waitFor('claw C gone from its edge', async () => chatC.closed, 30_000, 50);
      // The chats of A and B never noticed: same sockets, still streaming.
      assert.equal(chatA.closed || chatB.closed, false);
      for (const b of [chatA, chatB]) assert.ok((await chat(b, 'still here?')).deltas >= 2);
      // No process of the fleet was restarted (one cloudflared per Mini, one edge in each agent).
      assert.deepEqual(
        processes.map((p) => p.child.pid),
        pids,
      );
      assert.ok(processes.every((p) => p.child.exitCode === null));
      const typesC = (await eventsOf(c.id)).map((e) => e.type);
      assert.equal(typesC.filter((t) => t === 'GatewayPaired').length, 1, typesC.join(' '));
    });

    it("writes exactly the edge's address as each gateway's trusted proxy", () => {
      for (const [key, mini] of [
        ['a', 'mini1'],
        ['b', 'mini2'],
      ] as const) {
        const file = path.join(gatewayDir(mini, claws[key]!.id), 'openclaw.json');
        const cfg = JSON.parse(fs.readFileSync(file, 'utf8')) as { gateway: { trustedProxies: unknown } };
        assert.deepEqual(cfg.gateway.trustedProxies, ['127.0.0.1']);
      }
      assert.ok(agents.mini1 && agents.mini2);
    });
  },
);
