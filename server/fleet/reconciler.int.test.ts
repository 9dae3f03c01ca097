import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { clawStream, type ClawState } from '../../events/claw';
import { miniStream } from '../../events/mini';
import { clawsProjection } from '../../projections/claws';
import { minisProjection } from '../../projections/minis';
import { createTestDatabase, testDrivers, type TestDatabase } from '../../tests/fixtures/db';
import {
  commandContext,
  registerAgentAsMini,
  startAgent,
  testRuntime,
  testWorker,
  type AgentProcess,
} from '../../tests/fixtures/fleet';
import { isPortOpen, waitFor } from '../../tests/fixtures/processes';
import { deleteClaw, requestClaw } from '../claws/commands';
import { silentLogger } from '../log';
import { createOrganization } from '../orgs/organizations';
import type { Runtime } from '../runtime';
import { createAgentClient, type AgentClient } from './agent-client';
import { cordonMini, removeMini, unblockPort } from './commands';
import { MiniHealthLoop } from './health';
import { Reconciler } from './reconciler';

const claw = async (rt: Runtime, id: string) => (await rt.store.load(clawsProjection, id))!;
const until = (rt: Runtime, id: string, what: string, done: (c: ClawState) => boolean, ms = 30_000) =>
  waitFor(`claw ${id} ${what}`, async () => ((c) => (done(c) ? c : null))(await claw(rt, id)), ms);
const types = async (rt: Runtime, id: string) =>
  (await rt.store.readStream(clawStream, id)).map((e) => e.type);

/**
 * Reconciliation against a real Mini agent with real dev gateways: what the agent runs is
 * compared with the log, each round run by hand (`runOnce`) so the test says when.
 */
for (const driver of testDrivers()) {
  describe(`reconciliation on ${driver}`, () => {
    let database: TestDatabase;
    let rt: Runtime;
    let orgId: string;
    const agents: AgentProcess[] = [];

    before(async () => {
      database = await createTestDatabase(driver);
      rt = testRuntime(database);
      orgId = (await createOrganization(database.db, { name: `Reconcile ${driver}` })).id;
    });
    after(async () => {
      for (const a of agents) await a.stop();
      await rt?.close();
      await database?.close();
    });

    /** A Mini of its own for each test (others cordoned), a worker and a reconciler for it. */
    async function fleet(options: { capacity?: number } = {}) {
      for (const m of await database.db
        .selectFrom('mac_minis')
        .select('id')
        .where('status', '=', 'online')
        .execute())
        await cordonMini(commandContext(rt), m.id);
      const agent = await startAgent();
      agents.push(agent);
      const mini = await registerAgentAsMini(rt, agent, { capacity: options.capacity ?? 3 });
      const { worker, deployments } = testWorker(rt);
      const reconciler = new Reconciler(rt.store, deployments.agents, silentLogger, { intervalMs: 60_000 });
      const client: AgentClient = createAgentClient({
        baseUrl: agent.url,
        token: agent.token,
        certFingerprint: agent.fingerprint,
        timeoutMs: 3000,
      });
      worker.start();
      const provision = async (name: string) => {
        const c = await requestClaw(commandContext(rt), { orgId, name });
        const active = await until(
          rt,
          c.id,
          'settles',
          (x) => x.status === 'active' || x.status === 'failed',
        );
        assert.equal(active.status, 'active', `claw failed: ${active.lastError}`);
        return active;
      };
      return { agent, mini, worker, reconciler, client, deployments, provision };
    }

    it('stops a gateway the log has never heard of, recording it on the Mini', async () => {
      const f = await fleet();
      try {
        // An agent whose own state is older than the database runs a claw nobody knows any more.
        const stranger = randomUUID();
        const port = f.mini.portRangeEnd;
        await f.client.startClaw({ clawId: stranger, port, gatewayToken: `t-${randomUUID()}` });
        await waitFor('the stranger gateway', () => isPortOpen(port), 15_000);
        await f.reconciler.runOnce();
        assert.ok(
          !(await f.client.listClaws()).some((g) => g.clawId === stranger),
          'the agent no longer runs it',
        );
        assert.equal(await isPortOpen(port), false);
        const minis = await rt.store.readStream(miniStream, f.mini.id);
        assert.deepEqual(minis.at(-1)?.data, { clawId: stranger, port });
        assert.equal(minis.at(-1)?.type, 'MiniOrphanStopped');
        // A real claw is left alone, and can take the port now.
        const c = await f.provision('Beside an orphan');
        await f.reconciler.runOnce();
        assert.equal((await claw(rt, c.id)).status, 'active');
        assert.ok((await f.client.listClaws()).some((g) => g.clawId === c.id));
      } finally {
        await f.worker.stop();
      }
    });

    it('degrades an active claw whose gateway vanished, restarts it, and sees it recover', async () => {
      const f = await fleet();
      try {
        const c = await f.provision('Vanishing gateway');
        // The agent forgets the claw (its state lost): the gateway is gone too.
        await f.client.stopClaw(c.id);
        assert.equal(await isPortOpen(c.miniPort!), false);
        await f.reconciler.runOnce();
        const degraded = await claw(rt, c.id);
        assert.equal(degraded.status, 'degraded');
        assert.match(degraded.lastError!, /not running on its Mini/);
        await waitFor('the restarted gateway', () => isPortOpen(c.miniPort!), 15_000);
        await waitFor(
          'the agent to report it running',
          async () => (await f.client.clawStatus(c.id)).status === 'running',
          15_000,
        );
        await f.reconciler.runOnce();
        const recovered = await claw(rt, c.id);
        assert.equal(recovered.status, 'active');
        assert.equal(recovered.lastError, null);
        assert.deepEqual((await types(rt, c.id)).slice(-2), ['ClawDegraded', 'ClawRecovered']);
        // Another round changes nothing: the log holds transitions, not pings.
        await f.reconciler.runOnce();
        assert.equal((await claw(rt, c.id)).version, recovered.version);
      } finally {
        await f.worker.stop();
      }
    });

    it('records a gateway that exited on its own once, with its signal, as the agent restarts it', async () => {
      const f = await fleet();
      try {
        const c = await f.provision('Crashing gateway');
        const pid = (await f.client.clawStatus(c.id)).pid!;
        process.kill(pid, 'SIGKILL');
        const exit = await waitFor(
          'the agent to report the exit',
          async () => (await f.client.clawStatus(c.id)).lastExit,
          15_000,
        );
        assert.deepEqual([exit.code, exit.signal, exit.gaveUp], [null, 'SIGKILL', false]);
        await f.reconciler.runOnce();
        const events = await rt.store.readStream(clawStream, c.id);
        const exited = events.filter((e) => e.type === 'GatewayExited');
        assert.equal(exited.length, 1);
        assert.deepEqual(exited[0]!.data, exit);
        // Reported again next round, recorded once.
        await f.reconciler.runOnce();
        assert.equal(
          (await rt.store.readStream(clawStream, c.id)).filter((e) => e.type === 'GatewayExited').length,
          1,
        );
      } finally {
        await f.worker.stop();
      }
    });

    it('says a claw on an offline Mini is degraded, and lets a lost Mini go', async () => {
      const f = await fleet();
      const health = new MiniHealthLoop(rt.store, f.deployments.healthProbe, silentLogger, {
        intervalMs: 60_000,
        failuresToOffline: 1,
        lostAfterMs: 300,
      });
      try {
        const c = await f.provision('On a Mini that goes away');
        await f.agent.stop();
        await health.runOnce();
        assert.equal((await rt.store.load(minisProjection, f.mini.id))!.status, 'offline');
        await f.reconciler.runOnce();
        const degraded = await claw(rt, c.id);
        assert.equal(degraded.status, 'degraded');
        assert.equal(degraded.lastError, 'Its Mini is offline');

        await new Promise((r) => setTimeout(r, 400));
        await health.runOnce();
        assert.equal((await rt.store.load(minisProjection, f.mini.id))!.status, 'lost');
        // Deleting the claw cannot stop its gateway on a lost Mini: the stop is given up, deletion
        // completes, and the Mini, now empty, can be removed.
        await deleteClaw(commandContext(rt), c.id);
        await until(rt, c.id, 'is deleted', (x) => x.status === 'deleted');
        const t = await types(rt, c.id);
        assert.ok(t.includes('GatewayAbandoned') && !t.includes('AgentStopped'), t.join(','));
        assert.equal((await rt.store.load(minisProjection, f.mini.id))!.allocated, 0);
        await removeMini(commandContext(rt), f.mini.id);
        assert.equal((await rt.store.load(minisProjection, f.mini.id))!.status, 'removed');
      } finally {
        await f.worker.stop();
      }
    });

    it('stops what a lost Mini still runs when it comes back', async () => {
      const f = await fleet();
      const health = new MiniHealthLoop(rt.store, f.deployments.healthProbe, silentLogger, {
        intervalMs: 60_000,
        failuresToOffline: 1,
        lostAfterMs: 1,
      });
      try {
        const c = await f.provision('Left behind');
        // The Mini drops off the network (its agent stops answering) but keeps its gateway.
        await f.agent.process.kill('SIGKILL');
        await health.runOnce();
        await new Promise((r) => setTimeout(r, 5));
        await health.runOnce();
        assert.equal((await rt.store.load(minisProjection, f.mini.id))!.status, 'lost');
        await deleteClaw(commandContext(rt), c.id);
        await until(rt, c.id, 'is deleted', (x) => x.status === 'deleted');
        assert.equal(await isPortOpen(c.miniPort!), true, 'the gateway outlived its agent');

        // The agent comes back with its old state and adopts the gateway; the log no longer holds it.
        const back = await startAgent({
          port: f.agent.port,
          stateDir: f.agent.stateDir,
          token: f.agent.token,
        });
        agents.push(back);
        await health.runOnce();
        assert.equal((await rt.store.load(minisProjection, f.mini.id))!.status, 'online');
        await f.reconciler.runOnce();
        assert.equal(await isPortOpen(c.miniPort!), false, 'the orphan was stopped');
        const last = (await rt.store.readStream(miniStream, f.mini.id)).at(-1)!;
        assert.deepEqual([last.type, last.data], ['MiniOrphanStopped', { clawId: c.id, port: c.miniPort }]);
      } finally {
        await f.worker.stop();
      }
    });

    it('blocks a port held by another process and places the claw on the next one at once', async () => {
      const f = await fleet({ capacity: 2 });
      const squatter = net.createServer();
      await new Promise<void>((r) => squatter.listen(f.mini.portRangeStart, '127.0.0.1', r));
      try {
        const first = await f.provision('Port squatted');
        assert.equal(first.miniPort, f.mini.portRangeStart + 1);
        const t = await types(rt, first.id);
        assert.ok(t.indexOf('PortRefused') > t.indexOf('MiniAllocated'), t.join(','));
        assert.ok(!t.includes('ProvisioningStepFailed'), 'no attempt is spent on a port that cannot work');
        const mini = (await rt.store.load(minisProjection, f.mini.id))!;
        assert.deepEqual(mini.blockedPorts, [f.mini.portRangeStart]);
        assert.equal(mini.allocated, 1);
        // Unblocked once the squatter is gone, the port is used again.
        await new Promise((r) => squatter.close(r));
        await unblockPort(commandContext(rt), f.mini.id, f.mini.portRangeStart);
        const second = await f.provision('After the squatter');
        assert.equal(second.miniPort, f.mini.portRangeStart);
      } finally {
        squatter.close();
        await f.worker.stop();
      }
    });
  });
}
