// test: serial (two production servers, a Mini agent and a dozen dev gateways: it runs alone)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { apiClient, CookieJar, type ApiClient } from '../tests/fixtures/api-client';
import {
  browserChat,
  chatRoundTrip,
  installBrowserWebSocket,
  type NodeClawChat,
} from '../tests/fixtures/browser-chat';
import { createTestDatabase, type TestDatabase } from '../tests/fixtures/db';
import { startAgent, testKeySpec, type AgentProcess } from '../tests/fixtures/fleet';
import { GENEROUS_LIMITS } from '../tests/fixtures/limits';
import { freePort, freePortRange, isAlive, waitFor, tempDir } from '../tests/fixtures/processes';
import { ensureProductionBuild } from '../tests/fixtures/production-build';
import {
  startRoundRobinProxy,
  SERVED_BY_HEADER,
  type RoundRobinProxy,
} from '../tests/fixtures/round-robin-proxy';
import { startServer, type ServerProcess } from '../tests/fixtures/servers';
import { createAgentClient } from './fleet/agent-client';

/**
 * Several full servers at once, as users who outgrow one run them: two `npm start` processes
 * (NODE_ENV=production node dist/server.js, built once by `npm run build`) on one PostgreSQL,
 * behind one address (a round-robin proxy), with a real Mini agent running dev gateways. Through
 * that one address: identity, live subscriptions and chat work across the servers, their workers
 * share provisioning without running a step twice, and a SIGKILL of one loses nothing while its
 * chat sockets reconnect to the other. PostgreSQL only: PGlite is one process.
 */
// No GatewayPaired: over loopback the gateway lets the control plane in without a pairing, and
// the log records only pairings the Mini performed (the namespace suite covers those).
const FORWARD = ['ClawRequested', 'MiniAllocated', 'AgentStarted', 'BucketCreated', 'ClawActive'];
/** Claws created at once for "the workers share the work", and again around the SIGKILL. */
const SHARED = 10;
const AROUND_KILL = 8;

describe(
  'two production servers on one PostgreSQL behind one address',
  { skip: !process.env.TEST_DATABASE_URL && 'needs TEST_DATABASE_URL (PostgreSQL)' },
  () => {
    const work = tempDir('claws-multi-');
    const keySpec = testKeySpec();
    const jar = new CookieJar();
    let pg: TestDatabase;
    let agent: AgentProcess;
    let proxy: RoundRobinProxy;
    let servers: ServerProcess[] = [];
    let uninstallWebSocket: (() => void) | undefined;
    const chats: NodeClawChat[] = [];
    /** One client pinned to each server, and one that goes wherever the proxy sends it. */
    let pinned: ApiClient[] = [];
    let anywhere: ApiClient;
    let orgSlug = '';
    const adminEmail = `multi-${Date.now()}@example.com`;

    before(async () => {
      const build = await ensureProductionBuild('multi-server');
      console.log(build.built ? `# built in ${build.ms} ms` : '# reused the build (its marker matches)');
      pg = await createTestDatabase('pg');
      agent = await startAgent();
      // The proxy's address is the servers' public origin, so it is chosen before they start.
      const ports = [await freePort(), await freePort()];
      proxy = await startRoundRobinProxy(ports.map((p) => `http://127.0.0.1:${p}`));
      const env = {
        DATABASE_URL: pg.url,
        CLAWS_SECRET_KEYS: keySpec,
        CLAWS_ALLOWED_ORIGINS: proxy.url,
        // One bucket store for the deployment, as R2 would be.
        BUCKET_DIR: path.join(work, 'buckets'),
        HEALTH_INTERVAL_MS: '600000',
        LOG_LEVEL: 'info',
        CLAWS_ADMIN_EMAILS: adminEmail,
        ...GENEROUS_LIMITS,
      };
      servers = await Promise.all(
        ports.map((port, i) =>
          startServer({
            mode: 'production',
            suite: 'multi-server',
            port,
            env: { ...env, DATA_DIR: path.join(work, `server-${i}`) },
          }),
        ),
      );
      pinned = servers.map((_, i) => apiClient(proxy.url, { jar, origin: proxy.url, backend: i }));
      anywhere = apiClient(proxy.url, { jar, origin: proxy.url });
      uninstallWebSocket = installBrowserWebSocket({ jar, origin: proxy.url });
    });

    after(async () => {
      for (const c of chats) c.close();
      uninstallWebSocket?.();
      await Promise.all(servers.map((s) => s.stop()));
      await proxy?.close();
      await agent?.stop();
      await pg?.close();
      fs.rmSync(work, { recursive: true, force: true });
    });

    const logsOf = () => servers.map((s, i) => `--- server ${i} ---\n${s.output().slice(-3000)}`).join('\n');
    const lastServed = (pathPart: string) => proxy.served.findLast((s) => s.path.includes(pathPart));

    it('signs up through one server and is signed in on the other', async () => {
      const user = await pinned[0]!.auth.signup.mutate({
        email: adminEmail,
        password: 'password-123',
        name: 'Multi',
      });
      assert.equal(user.is_platform_admin, true, 'an address CLAWS_ADMIN_EMAILS names');
      assert.equal(lastServed('auth.signup')?.backend, 0);
      const me = await pinned[1]!.auth.me.query();
      assert.equal(me?.email, user.email);
      assert.equal(lastServed('auth.me')?.backend, 1);
      // A session started on the second works on the first.
      const before = jar.cookie;
      await pinned[1]!.auth.login.mutate({ email: user.email, password: 'password-123' });
      assert.notEqual(jar.cookie, before);
      assert.equal((await pinned[0]!.auth.me.query())?.email, user.email);

      const [start, end] = await freePortRange(SHARED + AROUND_KILL + 2);
      const mini = await pinned[1]!.fleet.register.mutate({
        hostname: 'multi-mini.local',
        agentUrl: agent.url,
        agentToken: agent.token,
        ...(agent.fingerprint ? { agentCertFingerprint: agent.fingerprint } : {}),
        tunnelSuffix: 'claws.localhost',
        portRangeStart: start,
        portRangeEnd: end,
        capacity: end - start + 1,
      });
      assert.equal(mini.status, 'online');
      orgSlug = (await pinned[0]!.orgs.create.mutate({ name: `Multi ${Date.now().toString(36)}` })).slug;
      // Plain requests alternate between the servers.
      const res = await Promise.all([0, 1, 2, 3].map(() => fetch(`${proxy.url}/healthz`)));
      assert.deepEqual(res.map((r) => r.headers.get(SERVED_BY_HEADER)).sort(), ['0', '0', '1', '1']);
    });

    it("a claw created through one server goes active on the other server's live subscription", async () => {
      const seen: { id: string; status: string }[] = [];
      let subscriptionError: string | undefined;
      const sub = pinned[1]!.claws.onChange.subscribe(
        { orgSlug },
        {
          onData: ({ data }) => seen.push({ id: data.id, status: data.status }),
          onError: (err) => (subscriptionError = err.message),
        },
      );
      try {
        // The subscription is open (its SSE request reached server 1) before the claw exists.
        await waitFor(
          'the subscription to reach server 1',
          async () => lastServed('claws.onChange')?.backend === 1,
        );
        const claw = await pinned[0]!.claws.create.mutate({ orgSlug, name: 'Across' });
        assert.equal(lastServed('claws.create')?.backend, 0);
        await waitFor(
          'the claw to go active on the subscription',
          async () => {
            if (subscriptionError) throw new Error(subscriptionError);
            return seen.some((s) => s.id === claw.id && s.status === 'active');
          },
          120_000,
        ).catch((err: Error) => {
          throw new Error(`${err.message}; seen: ${JSON.stringify(seen)}\n${logsOf()}`);
        });
      } finally {
        sub.unsubscribe();
      }
    });

    it('chats through either server: a real WebSocket session through the proxy, a streamed reply', async () => {
      const [claw] = await anywhere.claws.list.query({ orgSlug });
      assert.ok(claw);
      const url = `${proxy.url.replace('http', 'ws')}/api/ws/claws/${orgSlug}/${claw.slug}`;
      const onServer = new Set<number>();
      // Consecutive connections alternate; a few tries reach both servers whatever else went through.
      for (let attempt = 0; attempt < 6 && onServer.size < 2; attempt++) {
        const count = proxy.served.length;
        const chat = browserChat(url);
        try {
          await chat.until('the chat to open', (s) => s.state === 'open' || s.state === 'closed', 30_000);
          assert.equal(chat.snapshot().state, 'open', chat.snapshot().error ?? '');
          const upgrade = proxy.served.slice(count).find((s) => s.kind === 'upgrade');
          assert.ok(upgrade, 'the chat socket went through the proxy');
          const { reply, streamed, error } = await chatRoundTrip(chat, `hello via server ${upgrade.backend}`);
          assert.equal(error, null);
          assert.match(reply.text, new RegExp(`You said: hello via server ${upgrade.backend}$`));
          assert.ok(streamed, 'the reply arrived in parts');
          onServer.add(upgrade.backend);
        } finally {
          chat.close();
        }
      }
      assert.deepEqual([...onServer].sort(), [0, 1]);
    });

    /** Every claw of the org active, or the first failure. */
    const allActive = (ids: string[]) =>
      waitFor(
        `${ids.length} claws active`,
        async () => {
          const rows = await pg.db
            .selectFrom('claws')
            .select(['id', 'status', 'last_error'])
            .where('id', 'in', ids)
            .execute();
          const failed = rows.filter((r) => r.status === 'failed');
          if (failed.length) throw new Error(`failed: ${failed.map((f) => f.last_error).join('; ')}`);
          return rows.length === ids.length && rows.every((r) => r.status === 'active');
        },
        // A bound, not a timing assertion: a killed worker's claims wait out their lease first.
        240_000,
        250,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${logsOf()}`);
      });

    /** The events of each claw's stream, by type. */
    async function eventCounts(ids: string[]) {
      const rows = await pg.db
        .selectFrom('events')
        .select(['stream_id', 'event_type'])
        .where(
          'stream_id',
          'in',
          ids.map((id) => `claw-${id}`),
        )
        .execute();
      const counts = new Map<string, Record<string, number>>(ids.map((id) => [id, {}]));
      for (const r of rows) {
        const c = counts.get(r.stream_id.slice('claw-'.length))!;
        c[r.event_type] = (c[r.event_type] ?? 0) + 1;
      }
      return counts;
    }

    /** The log, the projections and the agent agree: each step once, unique ports, nothing orphaned. */
    async function assertConsistent(ids: string[]) {
      for (const [id, counts] of await eventCounts(ids)) {
        for (const type of FORWARD)
          assert.equal(counts[type], 1, `${type} of ${id}: ${JSON.stringify(counts)}`);
        assert.equal(counts.ProvisioningFailed, undefined, `claw ${id} never gave up`);
        assert.equal(counts.GatewayPaired, undefined, `no pairing is claimed for ${id}`);
      }
      const live = await pg.db.selectFrom('claws').selectAll().where('status', '!=', 'deleted').execute();
      const ports = live.map((c) => `${c.mini_id}:${c.mini_port}`);
      assert.equal(new Set(ports).size, ports.length, `unique (mini, port): ${ports.join(', ')}`);
      const mini = await pg.db.selectFrom('mac_minis').selectAll().executeTakeFirstOrThrow();
      assert.equal(mini.allocated, live.length, 'the Mini counts exactly the claws holding ports');
      // The projection is at the head of every stream.
      const heads = await pg.db
        .selectFrom('events')
        .select(['stream_id', (eb) => eb.fn.max('stream_version').as('head')])
        .where('stream_id', 'like', 'claw-%')
        .groupBy('stream_id')
        .execute();
      for (const c of live)
        assert.equal(
          Number(heads.find((h) => h.stream_id === `claw-${c.id}`)?.head),
          c.version,
          `version of ${c.slug}`,
        );
      const onAgent = await createAgentClient({
        baseUrl: agent.url,
        token: agent.token,
        certFingerprint: agent.fingerprint,
        timeoutMs: 5000,
      }).listClaws();
      assert.deepEqual(
        onAgent.map((c) => c.clawId).sort(),
        live.map((c) => c.id).sort(),
        'no orphaned or missing gateway',
      );
    }

    /** `claw step done` lines of one server's log (JSON lines among Next's): `clawId:step`. */
    const stepsDone = (s: ServerProcess) =>
      s
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{') && l.includes('"msg":"claw step done"'))
        .map((l) => JSON.parse(l) as { clawId: string; step: string })
        .map((l) => `${l.clawId}:${l.step}`);

    /** Creates `n` claws through both servers in turn. */
    async function createClaws(prefix: string, n: number) {
      const created = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          pinned[i % 2]!.claws.create.mutate({ orgSlug, name: `${prefix} ${i}` }),
        ),
      );
      return created.map((c) => c.id);
    }

    it('the two workers share provisioning of many claws without running a step twice', async () => {
      const ids = await createClaws('Shared', SHARED);
      await allActive(ids);
      await assertConsistent(ids);
      const done = servers.map((s) => stepsDone(s).filter((x) => ids.some((id) => x.startsWith(id))));
      assert.ok(
        done[0]!.length > 0 && done[1]!.length > 0,
        `both workers took steps: ${done.map((d) => d.length)}`,
      );
      const both = done[0]!.filter((x) => done[1]!.includes(x));
      assert.deepEqual(both, [], 'no step was done by both servers');
      const once = [...done[0]!, ...done[1]!];
      assert.equal(new Set(once).size, once.length, 'no step was done twice by one server');
    });

    it('a SIGKILL of one server mid-provisioning loses nothing; its chat socket reconnects to the other', async () => {
      const [claw] = await anywhere.claws.list.query({ orgSlug });
      const url = `${proxy.url.replace('http', 'ws')}/api/ws/claws/${orgSlug}/${claw!.slug}`;
      // One open chat on each server, through the proxy's turns.
      const chatOn = new Map<number, NodeClawChat>();
      for (let attempt = 0; attempt < 8 && chatOn.size < 2; attempt++) {
        const count = proxy.served.length;
        const chat = browserChat(url);
        chats.push(chat);
        await chat.until('the chat to open', (s) => s.state === 'open', 30_000);
        const backend = proxy.served.slice(count).find((s) => s.kind === 'upgrade')!.backend;
        if (chatOn.has(backend)) chat.close();
        else chatOn.set(backend, chat);
      }
      assert.equal(chatOn.size, 2, 'a chat open on each server');

      const ids = await createClaws('Killed', AROUND_KILL);
      // The victim is a server whose worker holds a claim right now, for a step past allocation
      // (those call the agent and take long enough to be caught in the act): it dies mid-step.
      const pidOf = (owner: string) => Number(/^worker-(\d+)-/.exec(owner)?.[1]);
      const owner = await waitFor(
        'a worker to hold a claim',
        async () =>
          (
            await pg.db
              .selectFrom('claw_leases as l')
              .innerJoin('claws as c', 'c.id', 'l.claw_id')
              .select('l.owner')
              .where('l.owner', 'is not', null)
              .where('l.expires_at', '>', new Date())
              .where('c.mini_port', 'is not', null)
              .where('l.claw_id', 'in', ids)
              .executeTakeFirst()
          )?.owner,
        60_000,
        2,
      );
      const victimIndex = servers.findIndex((s) => s.pid === pidOf(owner));
      assert.ok(victimIndex >= 0, `the claim's owner ${owner} is one of the servers`);
      const victim = servers[victimIndex]!;
      const survivorIndex = 1 - victimIndex;
      await victim.process.kill('SIGKILL');
      assert.equal(isAlive(victim.pid), false);
      // For the record (not asserted: the step may have finished between the look and the kill).
      const orphaned = await pg.db
        .selectFrom('claw_leases')
        .select('expires_at')
        .where('owner', 'like', `worker-${victim.pid}-%`)
        .where('expires_at', '>', new Date())
        .execute();
      console.log(`# server ${victimIndex} died holding ${orphaned.length} claim(s)`);
      const servedBeforeKill = proxy.served.length;

      // The victim's chat socket closes; the dashboard's client reconnects through the proxy,
      // which lands it on the survivor, and chat works there.
      const moved = chatOn.get(victimIndex)!;
      await moved.until('the chat to notice', (s) => s.state === 'reconnecting', 30_000);
      await moved.until('the chat to reconnect', (s) => s.state === 'open', 60_000);
      const reconnect = proxy.served.slice(servedBeforeKill).find((s) => s.kind === 'upgrade');
      assert.equal(reconnect?.backend, survivorIndex, 'the reconnect landed on the survivor');
      const again = await chatRoundTrip(moved, 'still there?');
      assert.match(again.reply.text, /You said: still there\?$/);
      // The survivor's own chat never noticed.
      const stayed = chatOn.get(survivorIndex)!;
      assert.equal(stayed.snapshot().state, 'open');
      assert.ok(
        !stayed.history.some((s) => s.state === 'reconnecting'),
        'the survivor chat stayed connected',
      );
      assert.match((await chatRoundTrip(stayed, 'and here?')).reply.text, /You said: and here\?$/);

      // Nothing lost: the survivor finishes every claw, the killed worker's claims included.
      const all = (await pg.db.selectFrom('claws').select('id').execute()).map((r) => r.id);
      await allActive(all);
      await assertConsistent(all);
      // Everything after the kill went to the survivor.
      assert.ok(proxy.served.slice(servedBeforeKill).every((s) => s.backend === survivorIndex));
    });
  },
);
