import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { clawsProjection } from '../../projections/claws';
import { createTestDatabase, testDrivers, type TestDatabase } from '../../tests/fixtures/db';
import { commandContext, testRuntime } from '../../tests/fixtures/fleet';
import { requestClaw } from '../claws/commands';
import { createOrganization } from '../orgs/organizations';
import type { Runtime } from '../runtime';
import { allocateClaw } from './allocator';
import { registerMini, updateMini } from './commands';

/**
 * The allocator with port blocks (placement.ts says why a real gateway needs one): every claw on a
 * Mini gets the lowest free block, no two blocks overlap even when claws are placed at once, and a
 * Mini holds only as many claws as its range has blocks.
 */
for (const driver of testDrivers()) {
  describe(`allocating port blocks on ${driver}`, () => {
    let database: TestDatabase;
    let rt: Runtime;
    let orgId: string;

    before(async () => {
      database = await createTestDatabase(driver);
      rt = testRuntime(database);
      orgId = (
        await createOrganization(database.db, { name: 'Blocks', slug: `blocks-${randomUUID().slice(0, 6)}` })
      ).id;
    });
    after(async () => {
      await rt?.close();
      await database?.close();
    });

    const ctx = () => commandContext(rt);
    const newClaw = (name: string) =>
      requestClaw(ctx(), { orgId, name: `${name} ${randomUUID().slice(0, 6)}` });
    const mini = (hostname: string, capacity: number, stride: number, start = 20000, blocks = capacity) =>
      registerMini(ctx(), {
        hostname,
        agentUrl: 'http://10.0.0.9:7070',
        agentToken: 'agent-token-0123456789',
        tunnelSuffix: `${hostname}.claws.test`,
        portRangeStart: start,
        portRangeEnd: start + blocks * stride - 1,
        portStride: stride,
        capacity,
      });

    it('places claws a stride apart, at once too, until the range has no block left', async () => {
      const m = await mini(`stride-${randomUUID().slice(0, 6)}`, 4, 120);
      const claws = await Promise.all([1, 2, 3, 4].map((i) => newClaw(`c${i}`)));
      // All four at once: the Mini's row lock serializes them (PGlite runs them one by one anyway).
      const results = await Promise.all(
        claws.map((c) => allocateClaw(rt.store, c, { actor: 'system:test', correlationId: randomUUID() })),
      );
      assert.ok(results.every((r) => r.ok));
      const ports = (await Promise.all(claws.map((c) => rt.store.load(clawsProjection, c.id))))
        .map((c) => c!.miniPort!)
        .sort((a, b) => a - b);
      assert.deepEqual(ports, [20000, 20120, 20240, 20360]);
      const fifth = await newClaw('c5');
      const r = await allocateClaw(rt.store, fifth, { actor: 'system:test', correlationId: randomUUID() });
      assert.equal(r.ok, false);
      // The claws stay inside the range, each block whole.
      assert.ok(ports.every((p) => p >= m.portRangeStart && p + 119 <= m.portRangeEnd));
    });

    it('refuses a Mini whose range cannot hold its capacity in blocks, or an edge inside the range', async () => {
      await assert.rejects(mini(`small-${randomUUID().slice(0, 6)}`, 3, 120, 21000, 2), /capacity/);
      await assert.rejects(
        registerMini(ctx(), {
          hostname: `edge-${randomUUID().slice(0, 6)}`,
          agentUrl: 'http://10.0.0.9:7070',
          agentToken: 'agent-token-0123456789',
          tunnelSuffix: 'edge.claws.test',
          portRangeStart: 22000,
          portRangeEnd: 22099,
          capacity: 10,
          edgePort: 22050,
        }),
        /edgePort: must lie outside the port range/,
      );
    });

    it('will not tighten the stride under claws already placed closer together', async () => {
      const m = await mini(`dense-${randomUUID().slice(0, 6)}`, 2, 1, 23000, 240);
      for (const name of ['d1', 'd2'])
        assert.ok(
          (
            await allocateClaw(rt.store, await newClaw(name), {
              actor: 'system:test',
              correlationId: randomUUID(),
            })
          ).ok,
        );
      await assert.rejects(updateMini(ctx(), m.id, { portStride: 120 }), /less than 120 apart/);
      const withEdge = await updateMini(ctx(), m.id, { edgePort: 8443 });
      assert.equal(withEdge.edgePort, 8443);
    });
  });
}
