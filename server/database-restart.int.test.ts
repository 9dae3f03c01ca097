// test: serial (restarts a PostgreSQL cluster of its own, with a Mini agent and eight dev gateways)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { createDatabase, type ConnectionMonitor } from '../db/client';
import { checkpointOf, parseCheckpoint } from '../events/read';
import { clawStream } from '../events/claw';
import { EVENTS_CHANNEL } from '../events/store';
import { createScratchDatabase, type ScratchDatabase } from '../db/scratch';
import { startAppServer, trpcClient, type AppServer } from '../tests/fixtures/app-server';
import {
  registerAgentAsMini,
  startAgent,
  testKeySpec,
  testRuntime,
  testWorker,
  type AgentProcess,
} from '../tests/fixtures/fleet';
import {
  postgresBinDir,
  startPostgresCluster,
  type PostgresCluster,
} from '../tests/fixtures/postgres-cluster';
import { runTs, waitFor } from '../tests/fixtures/processes';
import { callerFor, newUser } from '../tests/fixtures/trpc';
import { createSession, SESSION_COOKIE, type SessionUser } from './auth/session';
import { createAgentClient } from './fleet/agent-client';
import { CLOSE } from './gateway/proxy/close-codes';
import { PROXY_SCOPES } from './gateway/verify-access';
import type { Runtime } from './runtime';

const CLAWS = 8;
/** The origin the test runtime's proxy accepts (its own: HOST and PORT of the test config). */
const ORIGIN = 'http://127.0.0.1:3000';

type View = { id: string; status: string };

/**
 * Chaos finding 1: `pg_ctl restart -m fast` during provisioning killed the worker ("Connection
 * terminated unexpectedly") and its claws stayed `provisioning` until someone started another.
 * Here the database restarts (and stops) under the worker, the readiness probe, a live
 * subscription over SSE and an open chat, all in this process: an unhandled 'error' anywhere
 * would end the test run itself.
 */
describe(
  'a PostgreSQL restart',
  { skip: !postgresBinDir() && 'needs the PostgreSQL server binaries' },
  () => {
    let cluster: PostgresCluster;
    let database: ScratchDatabase;
    let rt: Runtime;
    let agent: AgentProcess;
    let app: AppServer;
    let user: SessionUser;
    let cookie: string;
    const keySpec = testKeySpec();
    const lost: string[] = [];
    /** Subscriptions and processes still open: a failed test must not leave one running forever. */
    const stopAfter = new Set<() => unknown>();
    const monitor: ConnectionMonitor = { lost: (source) => lost.push(source) };

    before(async () => {
      cluster = await startPostgresCluster();
      database = await createScratchDatabase(cluster.adminUrl, {
        monitor,
        session: {
          applicationName: 'claws-restart-test',
          statementTimeoutMs: 30_000,
          idleInTransactionTimeoutMs: 15_000,
        },
      });
      rt = testRuntime(database, keySpec);
      agent = await startAgent();
      await registerAgentAsMini(rt, agent, { capacity: CLAWS + 4 });
      user = await newUser(rt, 'restart');
      await (await callerFor(rt, user)).orgs.create({ name: 'Restart', slug: 'restart' });
      cookie = `${SESSION_COOKIE}=${(await createSession(database.db, user.id)).token}`;
      app = await startAppServer(rt);
    });
    after(async () => {
      await app?.close();
      await agent?.stop();
      await rt?.close();
      await database?.close();
      await cluster?.close();
    });

    /** Every claws.onChange delivery over SSE (the tRPC client, as a browser tab would hold it). */
    function subscribe(lastEventId?: string) {
      const got: { id: string; data: View }[] = [];
      const errors: string[] = [];
      const sub = trpcClient(app.url, cookie).claws.onChange.subscribe(
        { orgSlug: 'restart', lastEventId },
        {
          onData: (d) => got.push({ id: d.id, data: d.data }),
          onError: (err) => errors.push(err.message),
        },
      );
      const stop = () => {
        sub.unsubscribe();
        stopAfter.delete(stop);
      };
      stopAfter.add(stop);
      return { got, errors, stop };
    }

    const lastDelivered = (got: { id: string; data: View }[]) => {
      const last = new Map<string, { id: string; data: View }>();
      for (const g of got) last.set(g.data.id, g);
      return last;
    };

    it(`finishes all ${CLAWS} claws of a provisioning run cut by a restart, with no manual step`, async () => {
      const feed = subscribe();
      await new Promise((r) => setTimeout(r, 300)); // the subscription is listening
      const api = await callerFor(rt, user);
      const ids: string[] = [];
      for (let i = 0; i < CLAWS; i++)
        ids.push((await api.claws.create({ orgSlug: 'restart', name: `r${i}` })).id);

      // A statement the restart cuts can be the worker's release of its lease (or the reply of its
      // claim): that claw then waits for the lease to expire, 30 s by default. A short lease keeps
      // this test short; what it checks is that every claw finishes with nobody's help.
      const { worker } = testWorker(rt, { maxAttempts: 5, leaseMs: 5_000 });
      worker.start();
      try {
        // Mid-way: some claws hold a Mini and port, none is done.
        await waitFor(
          'claws in flight',
          async () => {
            const rows = await database.db.selectFrom('claws').select('status').execute();
            return rows.filter((r) => r.status === 'provisioning').length >= 3;
          },
          30_000,
          20,
        );
        const lostBefore = lost.length;
        const { ms: restartMs } = await cluster.restart();
        const backAt = performance.now();
        let open: string[] = [];
        await waitFor(
          'every claw active',
          async () => {
            const rows = await database.db
              .selectFrom('claws')
              .select(['slug', 'status', 'last_error'])
              .execute();
            open = rows
              .filter((r) => r.status !== 'active')
              .map((r) => `${r.slug}:${r.status}:${r.last_error}`);
            return open.length === 0;
          },
          90_000,
          100,
        ).catch((err: Error) => {
          throw new Error(`${err.message}; still open: ${open.join(', ')}`);
        });
        const finishedMs = Math.round(performance.now() - backAt);
        console.log(`restart took ${restartMs} ms; every claw active ${finishedMs} ms after it`);
        assert.ok(lost.length > lostBefore, 'the restart cut live pool connections');
      } finally {
        await worker.stop();
      }

      const claws = await database.db.selectFrom('claws').selectAll().execute();
      const ports = claws.map((c) => c.mini_port);
      assert.equal(new Set(ports).size, CLAWS, 'unique ports');
      const mini = await database.db.selectFrom('mac_minis').selectAll().executeTakeFirstOrThrow();
      assert.equal(mini.allocated, CLAWS);
      assert.ok(ports.every((p) => p! >= mini.port_range_start && p! <= mini.port_range_end));
      const failed = await database.db
        .selectFrom('events')
        .select('event_type')
        .where('event_type', '=', 'ProvisioningFailed')
        .execute();
      assert.equal(failed.length, 0, 'no claw gave up');
      // Nothing leaked: the agent runs exactly these claws' gateways.
      const onAgent = await createAgentClient({
        baseUrl: agent.url,
        token: agent.token,
        certFingerprint: agent.fingerprint,
        timeoutMs: 3000,
      }).listClaws();
      assert.deepEqual(onAgent.map((c) => c.clawId).sort(), [...ids].sort());

      // The live feed rode it out: it reached every claw's last event, each delivery once.
      await waitFor('the feed to catch up', async () => {
        const last = lastDelivered(feed.got);
        return ids.every((id) => last.get(id)?.data.status === 'active');
      });
      feed.stop();
      const last = lastDelivered(feed.got);
      for (const id of ids) {
        const events = await rt.store.readStream(clawStream, id);
        assert.equal(last.get(id)!.id, checkpointOf(events.at(-1)!), `the feed delivered ${id}'s last event`);
      }
      const delivered = feed.got.map((g) => g.id);
      assert.equal(new Set(delivered).size, delivered.length, 'no delivery twice');
      assert.deepEqual(feed.errors, []);
    });

    it('answers /readyz 503 while the database is down, keeps `npm run worker` alive, and a feed opened meanwhile misses nothing', async () => {
      const ready = async () => (await fetch(`${app.url}/readyz`)).status;
      assert.equal(await ready(), 200);
      // The worker as operators run it, in its own process, with its Mini health loop polling
      // through the outage.
      const workerProcess = runTs('scripts/claws-cli.ts', ['worker'], {
        DATABASE_URL: database.url,
        DATABASE_OWNER_URL: '',
        DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'claws-restart-worker-')),
        CLAWS_SECRET_KEYS: keySpec,
        WORKER_POLL_MS: '100',
        WORKER_BACKOFF_BASE_MS: '50',
        WORKER_BACKOFF_MAX_MS: '300',
        HEALTH_INTERVAL_MS: '200',
        AGENT_TIMEOUT_MS: '3000',
        LOG_LEVEL: 'warn',
      });
      stopAfter.add(() => workerProcess.kill('SIGTERM'));
      await waitFor('the worker process', async () => workerProcess.output().includes('running'), 20_000);
      const before = subscribe();
      await new Promise((r) => setTimeout(r, 300)); // the subscription is listening
      const api = await callerFor(rt, user);
      const early = await api.claws.create({ orgSlug: 'restart', name: 'before the stop' });
      await waitFor('the first feed saw it', async () => before.got.some((g) => g.data.id === early.id));
      const lastEventId = before.got.at(-1)!.id;
      before.stop();
      const missed = await api.claws.create({ orgSlug: 'restart', name: 'missed while away' });

      await cluster.stop();
      // A browser tab reconnecting now (with its last event id) gets an SSE error it retries after.
      const resumed = subscribe(lastEventId);
      try {
        const t0 = performance.now();
        assert.equal(await ready(), 503);
        assert.ok(performance.now() - t0 < 3000, '/readyz answers promptly');
        // The API says 503 too, which clients retry, instead of an internal error.
        const res = await fetch(
          `${app.url}/api/trpc/claws.list?input=${encodeURIComponent('{"json":{"orgSlug":"restart"}}')}`,
          {
            headers: { cookie },
          },
        );
        assert.equal(res.status, 503);
        // A chat opened now is told to come back, with a reason.
        const closed = await openChat('restart', 'r0').closed;
        assert.equal(closed.code, CLOSE.UPSTREAM_UNAVAILABLE);
        assert.match(closed.reason, /database unavailable; retry-after-ms=\d+/);
        await new Promise((r) => setTimeout(r, 1000));
        assert.equal(resumed.got.length, 0, 'nothing while the database is down');
      } finally {
        await cluster.start();
      }
      await waitFor('ready again', async () => (await ready()) === 200, 20_000, 200);
      await waitFor('the resumed feed delivers what it missed', async () =>
        resumed.got.some((g) => g.data.id === missed.id),
      );
      const after = await api.claws.create({ orgSlug: 'restart', name: 'after the start' });
      await waitFor('and what came after', async () => resumed.got.some((g) => g.data.id === after.id));
      const from = parseCheckpoint(lastEventId);
      assert.ok(
        resumed.got.every(({ id }) => {
          const c = parseCheckpoint(id);
          return BigInt(c.tx) > BigInt(from.tx) || (c.tx === from.tx && c.pos > from.pos);
        }),
        'nothing at or before its last event id',
      );
      assert.deepEqual(resumed.errors, [], 'the subscription never gave up');

      // The worker process lived through it and provisions what came after.
      await waitFor(
        'the worker process to provision the new claw',
        async () => resumed.got.some((g) => g.data.id === after.id && g.data.status === 'active'),
        30_000,
      );
      assert.equal(workerProcess.child.exitCode, null, `the worker is alive: ${workerProcess.output()}`);
      resumed.stop();
      await workerProcess.kill('SIGTERM');
    });

    it('starts listening for appends once the database is back, when it was down at the first listen', async () => {
      await cluster.stop();
      let down = true;
      const other = await createDatabase({ url: database.url, connectRetryMs: 0 });
      try {
        const payloads: string[] = [];
        // Resolves although the database is away: the listener keeps trying in the background.
        await other.listen(EVENTS_CHANNEL, (p) => payloads.push(p));
        await cluster.start();
        down = false;
        await waitFor('the "read again" signal', async () => payloads.includes(''), 15_000);
        await (await callerFor(rt, user)).claws.create({ orgSlug: 'restart', name: 'heard' });
        await waitFor('a notification', async () => payloads.some((p) => /^\d+$/.test(p)), 10_000);
      } finally {
        await other.close();
        if (down) await cluster.start();
      }
    });

    it('keeps an open chat working across a restart, and opens new chats after it', async () => {
      const chat = openChat('restart', 'r0');
      await chat.handshake();
      assert.match(await chat.say('before the restart'), /before the restart/);
      await cluster.restart();
      // The relay holds no database connection: the open chat goes on as if nothing happened.
      assert.match(await chat.say('during the outage'), /during the outage/);
      chat.ws.close(1000);
      const fresh = openChat('restart', 'r1');
      await waitFor('a new chat after the restart', async () => {
        await fresh.handshake();
        return true;
      });
      assert.match(await fresh.say('after the restart'), /after the restart/);
      fresh.ws.close(1000);
    });

    /** A browser's chat socket through the proxy. */
    function openChat(org: string, claw: string) {
      const ws = new WebSocket(`ws://127.0.0.1:${app.port}/api/ws/claws/${org}/${claw}`, {
        headers: { cookie },
        origin: ORIGIN,
        perMessageDeflate: false,
      });
      const frames: Record<string, unknown>[] = [];
      ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
      ws.on('error', () => {});
      const closed = new Promise<{ code: number; reason: string }>((r) =>
        ws.on('close', (code, reason) => r({ code, reason: reason.toString() })),
      );
      let n = 0;
      const request = async (method: string, params: unknown) => {
        const id = `b${++n}`;
        ws.send(JSON.stringify({ type: 'req', id, method, params }));
        return waitFor(`res ${method}`, async () => frames.find((f) => f.id === id), 20_000, 10);
      };
      return {
        ws,
        closed,
        async handshake() {
          await waitFor(
            'the challenge',
            async () => frames.find((f) => f.event === 'connect.challenge'),
            20_000,
            10,
          );
          const hello = (await request('connect', {
            minProtocol: 4,
            maxProtocol: 4,
            client: { id: 'webchat-ui', version: 't', platform: 'web', mode: 'webchat' },
            role: 'operator',
            scopes: PROXY_SCOPES,
          })) as { ok: boolean };
          assert.equal(hello.ok, true);
        },
        async say(message: string): Promise<string> {
          const key = `k-${n}-${Date.now()}`;
          const sent = (await request('chat.send', { sessionKey: 'main', message, idempotencyKey: key })) as {
            ok: boolean;
          };
          assert.equal(sent.ok, true);
          const final = (await waitFor(
            'the reply',
            async () =>
              frames.find((f) => {
                const p = f.payload as
                  { state?: string; message?: { content: { text: string }[] } } | undefined;
                return p?.state === 'final' && p.message?.content[0]?.text.includes(message);
              }),
            20_000,
            10,
          )) as { payload: { message: { content: { text: string }[] } } };
          return final.payload.message.content[0]!.text;
        },
      };
    }
  },
);
