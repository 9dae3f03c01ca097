import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { decideHealth } from '../../events/mini';
import { minisProjection } from '../../projections/minis';
import { createTestDatabase, testDrivers, type TestDatabase } from '../../tests/fixtures/db';
import { commandContext, testRuntime } from '../../tests/fixtures/fleet';
import { requestClaw } from '../claws/commands';
import { createOrganization } from '../orgs/organizations';
import type { Runtime } from '../runtime';
import { allocateClaw } from './allocator';
import { registerMini, updateMini } from './commands';
import { fleetView } from './views';

/**
 * Capacity that is honest about memory: a Mini whose agent reported 6 GB, with 1 GB given to each
 * claw (2 GB kept for the system), takes 4 claws although it has 10 slots; the fleet page says so;
 * without a per-claw memory it is counted by slots again.
 */
for (const driver of testDrivers()) {
  describe(`memory-bounded placement on ${driver}`, () => {
    let database: TestDatabase;
    let rt: Runtime;
    let orgId: string;

    before(async () => {
      database = await createTestDatabase(driver);
      rt = testRuntime(database);
      orgId = (
        await createOrganization(database.db, { name: 'Memory', slug: `mem-${randomUUID().slice(0, 6)}` })
      ).id;
    });
    after(async () => {
      await rt?.close();
      await database?.close();
    });

    const meta = () => ({ actor: 'system:test' as const, correlationId: randomUUID() });
    const place = async () =>
      allocateClaw(
        rt.store,
        await requestClaw(commandContext(rt), { orgId, name: `c ${randomUUID().slice(0, 6)}` }),
        meta(),
      );

    it('places no more claws than the reported memory holds, and says so on the fleet page', async () => {
      const ctx = commandContext(rt);
      const m = await registerMini(ctx, {
        hostname: `mem-${randomUUID().slice(0, 6)}.test`,
        agentUrl: 'http://10.0.0.9:7070',
        agentToken: 'agent-token-0123456789',
        tunnelSuffix: 'mem.claws.test',
        portRangeStart: 20000,
        portRangeEnd: 20009,
        capacity: 10,
        clawMemoryMb: 1024,
      });
      // Not reported yet: counted by slots.
      assert.equal((await fleetView(database.db)).find((v) => v.id === m.id)!.effectiveCapacity, 10);
      // The health loop's first answer from the agent: 6 GB.
      const reported = decideHealth(
        m,
        { ok: true, memoryMb: 6144 },
        { failuresToOffline: 2, lostAfterMs: 1 },
        new Date(),
      );
      assert.deepEqual(reported, [{ type: 'MiniMemoryReported', data: { memoryMb: 6144 } }]);
      await rt.store.append(minisProjection, m.id, reported, { expected: m.version, meta: meta() });
      const view = (await fleetView(database.db)).find((v) => v.id === m.id)!;
      assert.deepEqual([view.memoryMb, view.clawMemoryMb, view.effectiveCapacity], [6144, 1024, 4]);

      const results = [];
      for (let i = 0; i < 5; i++) results.push(await place());
      assert.deepEqual(
        results.map((r) => r.ok),
        [true, true, true, true, false],
      );
      assert.equal((await rt.store.load(minisProjection, m.id))!.allocated, 4);

      // Counted, not weighed, again: the slots bound it.
      await updateMini(ctx, m.id, { clawMemoryMb: null });
      assert.equal((await place()).ok, true);
      assert.equal((await fleetView(database.db)).find((v) => v.id === m.id)!.effectiveCapacity, 10);
    });
  });
}
