import { clawsProjection } from '../../projections/claws';
import { minisProjection } from '../../projections/minis';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { clawStream } from '../../events/claw';
import type { ClawState } from '../../events/claw';
import { createTestDatabase, testDrivers, type TestDatabase } from '../../tests/fixtures/db';
import { startFaultProxy, type Fault } from '../../tests/fixtures/fault-proxy';
import {
  commandContext,
  registerAgentAsMini,
  startAgent,
  testRuntime,
  testWorker,
  type AgentProcess,
} from '../../tests/fixtures/fleet';
import { freePort, isPortOpen, waitFor } from '../../tests/fixtures/processes';
import { deleteClaw, requestClaw } from '../claws/commands';
import { createAgentClient } from '../fleet/agent-client';
import { openclawConnect } from '../gateway/openclaw-client';
import { gatewayTokenSecret } from '../secrets/secret-store';
import type { Runtime } from '../runtime';
import { createOrganization } from '../orgs/organizations';

const LIFECYCLE = ['ClawRequested', 'MiniAllocated', 'AgentStarted', 'BucketCreated', 'ClawActive'];

async function waitForClaw(rt: Runtime, clawId: string, done: (c: ClawState) => boolean, timeoutMs = 30_000) {
  return waitFor(
    `claw ${clawId}`,
    async () => {
      const c = await rt.store.load(clawsProjection, clawId);
      return c && done(c) ? c : null;
    },
    timeoutMs,
  );
}

const types = async (rt: Runtime, clawId: string) =>
  (await rt.store.readStream(clawStream, clawId)).map((e) => e.type);

for (const driver of testDrivers()) {
  describe(`provisioning on ${driver}`, () => {
    let database: TestDatabase;
    let rt: Runtime;
    let agent: AgentProcess;
    let orgId: string;

    before(async () => {
      database = await createTestDatabase(driver);
      rt = testRuntime(database);
      agent = await startAgent();
      orgId = (await createOrganization(database.db, { name: `Org ${driver}` })).id;
    });
    after(async () => {
      await agent?.stop();
      await rt?.close();
      await database?.close();
    });

    it('takes a claw to active with a real gateway listening, then back to deleted', async () => {
      const mini = await registerAgentAsMini(rt, agent, { capacity: 3 });
      const { worker, bucketDir } = testWorker(rt);
      worker.start();
      try {
        const requested = await requestClaw(commandContext(rt, 'user:alice'), {
          orgId,
          name: 'Lifecycle claw',
        });
        const active = await waitForClaw(
          rt,
          requested.id,
          (c) => c.status === 'active' || c.status === 'failed',
        );
        assert.equal(active.status, 'active', `claw failed: ${active.lastError}`);
        assert.equal(active.miniId, mini.id);
        assert.equal(active.miniPort, mini.portRangeStart);
        assert.equal(active.tunnelHostname, `claw-${active.id}.claws.test`);
        assert.ok(active.warmupMs !== null && active.warmupMs >= 0);
        const lifecycle = (await types(rt, active.id)).filter((t) => LIFECYCLE.includes(t));
        assert.deepEqual(lifecycle, LIFECYCLE);
        assert.ok(fs.existsSync(`${bucketDir}/${active.bucket}`), 'bucket created');
        assert.equal((await rt.store.load(minisProjection, mini.id))!.allocated, 1);

        // A real gateway answers its handshake on the claw's port with the claw's token.
        const token = (await rt.secrets.get(gatewayTokenSecret(active.id)))!;
        const { ws, hello } = await openclawConnect({
          url: `ws://127.0.0.1:${active.miniPort}`,
          token,
          scopes: ['operator.read', 'operator.write'],
          timeoutMs: 5000,
        });
        assert.equal(hello.type, 'hello-ok');
        ws.close();

        // Worker events keep the request's correlation and name their cause.
        const stream = await rt.store.readStream(clawStream, active.id);
        assert.ok(stream.every((e) => e.correlationId === stream[0]!.correlationId));
        assert.ok(stream.slice(1).every((e) => e.causationId !== null && e.actor === 'system:provisioner'));
        assert.equal(stream[0]!.actor, 'user:alice');

        await deleteClaw(commandContext(rt, 'user:alice'), active.id);
        const deleted = await waitForClaw(rt, active.id, (c) => c.status === 'deleted');
        assert.equal(deleted.miniPort, null);
        assert.deepEqual((await types(rt, active.id)).slice(-5), [
          'ClawDeletionRequested',
          'AgentStopped',
          'BucketDeleted',
          'AllocationReleased',
          'ClawDeleted',
        ]);
        assert.equal(await isPortOpen(active.miniPort!), false, 'gateway stopped');
        assert.equal(fs.existsSync(`${bucketDir}/${active.bucket}`), false, 'bucket deleted');
        assert.equal((await rt.store.load(minisProjection, mini.id))!.allocated, 0);
        assert.equal(await rt.secrets.get(gatewayTokenSecret(active.id)), null, 'token dropped');
        const listed = await createAgentClient({
          baseUrl: agent.url,
          token: agent.token,
          certFingerprint: agent.fingerprint,
          timeoutMs: 2000,
        }).listClaws();
        assert.ok(!JSON.stringify(listed).includes(active.id));
      } finally {
        await worker.stop();
      }
    });

    it('fails a claw with "no capacity" when no Mini can take it', async () => {
      const { worker } = testWorker(rt);
      // Every registered Mini cordoned: nothing is eligible.
      const minis = await database.db
        .selectFrom('mac_minis')
        .select('id')
        .where('status', '<>', 'removed')
        .execute();
      const { cordonMini, uncordonMini } = await import('../fleet/commands');
      for (const m of minis) await cordonMini(commandContext(rt), m.id);
      worker.start();
      try {
        const c = await requestClaw(commandContext(rt), { orgId, name: 'No room' });
        const failed = await waitForClaw(rt, c.id, (x) => x.status === 'failed');
        assert.match(failed.lastError!, /no capacity/i);
        assert.equal(failed.miniPort, null);
      } finally {
        await worker.stop();
        for (const m of minis) await uncordonMini(commandContext(rt), m.id);
      }
    });

    const faults: [string, Fault][] = [
      ['HTTP 500', 'http500'],
      ['a timeout', 'timeout'],
      ['malformed JSON', 'malformed'],
      ['a reset connection', 'reset'],
      // The agent starts the gateway and its answer is lost: without a stop it would be an orphan.
      ['HTTP 500 after starting the gateway', 'lost-500'],
      ['nothing after starting the gateway', 'lost-timeout'],
    ];
    for (const [label, fault] of faults) {
      it(`retries an agent that answers ${label}, then fails cleanly with the gateway stopped and the port released`, async () => {
        let posts: Fault = fault;
        const proxy = await startFaultProxy(agent.url, (req) => (req.method === 'POST' ? posts : 'pass'));
        const mini = await registerAgentAsMini(rt, { url: proxy.url, token: agent.token }, { capacity: 1 });
        const others = await database.db
          .selectFrom('mac_minis')
          .select('id')
          .where('id', '<>', mini.id)
          .where('status', '<>', 'removed')
          .execute();
        const { cordonMini, uncordonMini } = await import('../fleet/commands');
        for (const m of others) await cordonMini(commandContext(rt), m.id);
        const { worker } = testWorker(rt, { maxAttempts: 3 });
        worker.start();
        try {
          const c = await requestClaw(commandContext(rt), { orgId, name: `Fault ${fault}` });
          const failed = await waitForClaw(rt, c.id, (x) => x.status === 'failed' && !x.workPending);
          const t = await types(rt, c.id);
          assert.equal(t.filter((x) => x === 'ProvisioningStepFailed').length, 2, t.join(','));
          assert.ok(!t.includes('AgentStarted'), 'no start was ever confirmed');
          // The Mini is asked to stop the claw's gateway all the same, before the port goes back.
          assert.deepEqual(t.slice(-3), ['ProvisioningFailed', 'AgentStopped', 'AllocationReleased']);
          const listed = await createAgentClient({
            baseUrl: agent.url,
            token: agent.token,
            certFingerprint: agent.fingerprint,
            timeoutMs: 2000,
          }).listClaws();
          assert.ok(!listed.some((g) => g.clawId === c.id), 'the agent runs no gateway of the failed claw');
          assert.equal(await isPortOpen(mini.portRangeStart), false, 'nothing listens on the released port');
          if (fault.startsWith('lost-')) {
            // The next claw gets that port and works (before, the agent refused it: "port already used").
            posts = 'pass';
            const next = await requestClaw(commandContext(rt), { orgId, name: `After ${fault}` });
            const active = await waitForClaw(
              rt,
              next.id,
              (x) => x.status === 'active' || x.status === 'failed',
            );
            assert.equal(active.status, 'active', `claw failed: ${active.lastError}`);
            assert.equal(active.miniPort, mini.portRangeStart);
            await deleteClaw(commandContext(rt), next.id);
            await waitForClaw(rt, next.id, (x) => x.status === 'deleted');
          }
          assert.equal(failed.failedStep, 'start_agent');
          assert.ok(
            failed.lastError && !failed.lastError.includes(agent.token),
            'error says why, not the token',
          );
          assert.equal(failed.miniPort, null);
          assert.equal((await rt.store.load(minisProjection, mini.id))!.allocated, 0);
          assert.ok(proxy.seen.filter((s) => s.method === 'POST').length >= 3);
        } finally {
          await worker.stop();
          await proxy.close();
          for (const m of others) await uncordonMini(commandContext(rt), m.id);
          const { removeMini } = await import('../fleet/commands');
          await removeMini(commandContext(rt), mini.id);
        }
      });
    }

    it('retries an agent that refuses connections, then fails cleanly', async () => {
      const closedPort = await freePort();
      const mini = await registerAgentAsMini(
        rt,
        { url: `http://127.0.0.1:${closedPort}`, token: agent.token },
        { capacity: 1 },
      );
      const others = await database.db
        .selectFrom('mac_minis')
        .select('id')
        .where('id', '<>', mini.id)
        .where('status', '<>', 'removed')
        .execute();
      const { cordonMini, uncordonMini, removeMini } = await import('../fleet/commands');
      for (const m of others) await cordonMini(commandContext(rt), m.id);
      const { worker } = testWorker(rt, { maxAttempts: 2 });
      worker.start();
      try {
        const c = await requestClaw(commandContext(rt), { orgId, name: 'Refused' });
        const failed = await waitForClaw(rt, c.id, (x) => x.status === 'failed' && !x.workPending);
        assert.match(failed.lastError!, /ECONNREFUSED|refused|connect/i);
        assert.equal((await rt.store.load(minisProjection, mini.id))!.allocated, 0);
      } finally {
        await worker.stop();
        for (const m of others) await uncordonMini(commandContext(rt), m.id);
        await removeMini(commandContext(rt), mini.id);
      }
    });

    it('fails a gateway that never becomes ready, stopping it and releasing the port', async () => {
      const slow = await startAgent({ env: { CLAWS_DEV_GATEWAY_STARTUP_MS: '600000' } });
      const mini = await registerAgentAsMini(rt, slow, { capacity: 1 });
      const others = await database.db
        .selectFrom('mac_minis')
        .select('id')
        .where('id', '<>', mini.id)
        .where('status', '<>', 'removed')
        .execute();
      const { cordonMini, uncordonMini, removeMini } = await import('../fleet/commands');
      for (const m of others) await cordonMini(commandContext(rt), m.id);
      const { worker } = testWorker(rt, { maxAttempts: 2, readyTimeoutMs: 1200 });
      worker.start();
      try {
        const c = await requestClaw(commandContext(rt), { orgId, name: 'Never ready' });
        const failed = await waitForClaw(rt, c.id, (x) => x.status === 'failed' && !x.workPending, 45_000);
        assert.equal(failed.failedStep, 'wait_ready');
        assert.match(failed.lastError!, /ready/);
        const t = await types(rt, c.id);
        assert.deepEqual(t.slice(-3), ['ProvisioningFailed', 'AgentStopped', 'AllocationReleased']);
        assert.equal(await isPortOpen(mini.portRangeStart), false, 'the gateway was stopped');
      } finally {
        await worker.stop();
        await slow.stop();
        for (const m of others) await uncordonMini(commandContext(rt), m.id);
        await removeMini(commandContext(rt), mini.id);
      }
    });
  });
}
