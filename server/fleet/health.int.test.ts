import os from 'node:os';
import { minisProjection } from '../../projections/minis';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { miniStream } from '../../events/mini';
import { createTestDatabase, testDrivers, type TestDatabase } from '../../tests/fixtures/db';
import { registerAgentAsMini, startAgent, testRuntime, type AgentProcess } from '../../tests/fixtures/fleet';
import { createDeploymentServices } from '../deployment';
import { silentLogger } from '../log';
import type { Runtime } from '../runtime';
import { MiniHealthLoop } from './health';

for (const driver of testDrivers()) {
  describe(`Mini health loop on ${driver}`, () => {
    let database: TestDatabase;
    let rt: Runtime;
    let agent: AgentProcess;
    before(async () => {
      database = await createTestDatabase(driver);
      rt = testRuntime(database);
      agent = await startAgent();
    });
    after(async () => {
      await agent?.stop();
      await rt?.close();
      await database?.close();
    });

    it('records MiniWentOffline after repeated failures and MiniCameOnline when it answers again', async () => {
      const mini = await registerAgentAsMini(rt, agent, { capacity: 2 });
      const loop = new MiniHealthLoop(rt.store, createDeploymentServices(rt).healthProbe, silentLogger, {
        intervalMs: 60_000,
        failuresToOffline: 2,
        lostAfterMs: 600_000,
      });
      await loop.runOnce();
      const first = (await rt.store.load(minisProjection, mini.id))!;
      assert.equal(first.status, 'online');
      // The first answer carries the Mini's memory, recorded once (placement weighs claws against it).
      assert.equal(first.memoryMb, Math.round(os.totalmem() / 2 ** 20));

      await agent.stop();
      await loop.runOnce();
      assert.equal(
        (await rt.store.load(minisProjection, mini.id))!.status,
        'online',
        'one failure is not enough',
      );
      await loop.runOnce();
      const offline = (await rt.store.load(minisProjection, mini.id))!;
      assert.equal(offline.status, 'offline');
      assert.match(offline.lastError!, /ECONNREFUSED|refused|unreachable|connect/i);

      agent = await startAgent({ port: agent.port, stateDir: agent.stateDir, token: agent.token });
      await loop.runOnce();
      assert.equal((await rt.store.load(minisProjection, mini.id))!.status, 'online');
      const types = (await rt.store.readStream(miniStream, mini.id)).map((e) => e.type);
      // The same memory again is not a change: nothing more is recorded for it.
      assert.deepEqual(types, ['MiniRegistered', 'MiniMemoryReported', 'MiniWentOffline', 'MiniCameOnline']);
      await loop.stop();
    });
  });
}
