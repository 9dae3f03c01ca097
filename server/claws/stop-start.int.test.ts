import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clawStream, type ClawState } from '../../events/claw';
import { clawsProjection } from '../../projections/claws';
import { minisProjection } from '../../projections/minis';
import { createTestDatabase, type TestDatabase } from '../../tests/fixtures/db';
import {
  commandContext,
  registerAgentAsMini,
  startAgent,
  testRuntime,
  testWorker,
  type AgentProcess,
} from '../../tests/fixtures/fleet';
import { isAlive, waitFor } from '../../tests/fixtures/processes';
import { createOrganization } from '../orgs/organizations';
import type { Runtime } from '../runtime';
import { deleteClaw, requestClaw, restartClaw, startClaw, stopClaw } from './commands';

/**
 * Stop, start and restart against the real Mini agent and the worker: a stopped claw frees its
 * process but keeps its Mini, port, bucket and files (an agent restart keeps it stopped); started,
 * it comes back with the same state; a restart is a new process; a stopped claw still deletes.
 */
describe('stop, start and restart a claw', () => {
  let database: TestDatabase;
  let rt: Runtime;
  let agent: AgentProcess;
  let worker: ReturnType<typeof testWorker>;
  let claw: ClawState;
  const ctx = () => commandContext(rt, 'user:ops');

  const load = async (id: string) => (await rt.store.load(clawsProjection, id))!;
  const until = (status: ClawState['status']) =>
    waitFor(
      `claw ${status}`,
      async () => ((await load(claw.id)).status === status ? load(claw.id) : null),
      60_000,
    );
  const record = () =>
    (
      JSON.parse(fs.readFileSync(path.join(agent.stateDir, 'claws.json'), 'utf8')) as {
        claws: { clawId: string; pid?: number; stopped?: boolean }[];
      }
    ).claws.find((c) => c.clawId === claw.id);
  const clawDir = () => path.join(agent.stateDir, 'claws', claw.id);

  before(async () => {
    database = await createTestDatabase('pglite');
    rt = testRuntime(database);
    agent = await startAgent();
    await registerAgentAsMini(rt, agent, { capacity: 2 });
    worker = testWorker(rt);
    worker.worker.start();
    const orgId = (await createOrganization(database.db, { name: 'Stops' })).id;
    claw = await requestClaw(ctx(), { orgId, name: 'Pausable' });
    claw = await until('active');
  });
  after(async () => {
    await worker?.worker.stop();
    await agent?.stop();
    await rt?.close();
    await database?.close();
  });

  it('stops the gateway and keeps the claw: its Mini, port, bucket, files and allocation', async () => {
    const pid = record()!.pid!;
    fs.writeFileSync(path.join(clawDir(), 'state', 'kept.txt'), 'still here');
    const mini = (await rt.store.load(minisProjection, claw.miniId!))!;
    const stopping = await stopClaw(ctx(), claw.id);
    assert.equal(stopping.status, 'stopping');
    const stopped = await until('stopped');
    assert.deepEqual(
      [stopped.miniId, stopped.miniPort, stopped.bucket],
      [claw.miniId, claw.miniPort, claw.bucket],
    );
    await waitFor('the gateway process gone', async () => !isAlive(pid), 10_000);
    assert.equal(record()?.stopped, true);
    assert.equal(record()?.pid, undefined);
    const still = (await rt.store.load(minisProjection, claw.miniId!))!;
    assert.deepEqual([mini.allocated, still.allocated], [1, 1], 'the claw still holds its slot on the Mini');
    assert.equal(fs.readFileSync(path.join(clawDir(), 'state', 'kept.txt'), 'utf8'), 'still here');
    const agentSays = await worker.deployments.agents.status(stopped, mini);
    assert.equal(agentSays.status, 'stopped');
    const types = (await rt.store.readStream(clawStream, claw.id)).map((e) => e.type);
    assert.deepEqual(types.slice(-3), ['ClawStopRequested', 'ClawBackupTaken', 'ClawStopped']);
    // Stopping again changes nothing; a restart is refused, saying why.
    assert.equal((await stopClaw(ctx(), claw.id)).version, stopped.version);
    await assert.rejects(
      restartClaw(ctx(), worker.deployments.agents, claw.id),
      /Only a running claw can be restarted/,
    );
  });

  it('stays stopped across an agent restart', async () => {
    await agent.stop();
    agent = await startAgent({ stateDir: agent.stateDir, port: agent.port, token: agent.token });
    // The certificate is the agent's own, kept in its state directory: the pinned Mini still matches.
    assert.equal(record()?.stopped, true);
    assert.equal(record()?.pid, undefined);
    const mini = (await rt.store.load(minisProjection, claw.miniId!))!;
    assert.equal((await worker.deployments.agents.status(await load(claw.id), mini)).status, 'stopped');
  });

  it('starts again with the same state, counting its warm-up from the start', async () => {
    const before = (await load(claw.id)).version;
    assert.equal((await startClaw(ctx(), claw.id)).status, 'provisioning');
    const active = await until('active');
    assert.ok(active.version > before);
    assert.ok(record()?.pid && isAlive(record()!.pid!));
    assert.equal(record()?.stopped, undefined);
    assert.equal(fs.readFileSync(path.join(clawDir(), 'state', 'kept.txt'), 'utf8'), 'still here');
    assert.ok(active.warmupMs! < Date.now() - active.createdAt.getTime(), 'warm-up counted from the start');
    const types = (await rt.store.readStream(clawStream, claw.id)).map((e) => e.type);
    assert.deepEqual(types.slice(-3), ['ClawStartRequested', 'AgentStarted', 'ClawActive']);
  });

  it('restarts a running claw as a new process and records it once the agent did', async () => {
    const pid = record()!.pid!;
    const after = await restartClaw(ctx(), worker.deployments.agents, claw.id);
    assert.equal(after.status, 'active');
    assert.equal((await rt.store.readStream(clawStream, claw.id)).at(-1)!.type, 'ClawRestarted');
    await waitFor(
      'a new gateway process',
      async () => {
        const now = record()?.pid;
        return now !== undefined && now !== pid && isAlive(now) && !isAlive(pid);
      },
      20_000,
    );
  });

  it('deletes a stopped claw, and its files with it', async () => {
    await stopClaw(ctx(), claw.id);
    await until('stopped');
    await deleteClaw(ctx(), claw.id);
    await until('deleted');
    assert.equal(record(), undefined);
    assert.equal(fs.existsSync(clawDir()), false);
  });
});
