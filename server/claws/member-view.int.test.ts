import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { clawsProjection } from '../../projections/claws';
import { createTestDatabase, testDrivers, type TestDatabase } from '../../tests/fixtures/db';
import { testRuntime } from '../../tests/fixtures/fleet';
import { callerFor, joinOrg, newUser } from '../../tests/fixtures/trpc';
import type { SessionUser } from '../auth/session';
import type { Runtime } from '../runtime';

/**
 * A claw's failure as the API shows it: an organization's members read it in words, without the
 * Mini's address, ports or paths; a platform admin (an operator) sees what the agent said.
 */
const AGENT_ERROR = 'Agent POST http://10.0.0.5:7070/claws failed: ECONNREFUSED';
const GATEWAY_ERROR = 'No hello-ok from ws://10.0.0.5:20001 within 5000 ms';

for (const driver of testDrivers()) {
  describe(`what a member reads of a claw's failure on ${driver}`, () => {
    let database: TestDatabase;
    let rt: Runtime;
    let operator: SessionUser;
    let member: SessionUser;
    let orgSlug: string;
    let clawSlug: string;

    before(async () => {
      database = await createTestDatabase(driver);
      rt = testRuntime(database);
      operator = await newUser(rt, 'operator', { platformAdmin: true });
      member = await newUser(rt, 'member');
      const m = await callerFor(rt, member);
      orgSlug = (await m.orgs.create({ name: 'Acme' })).slug;
      await joinOrg(rt, orgSlug, operator, 'member');
      const claw = await m.claws.create({ orgSlug, name: 'Unlucky' });
      clawSlug = claw.slug;
      // What the worker appends when the agent (then the gateway) cannot be reached.
      let state = (await rt.store.load(clawsProjection, claw.id))!;
      for (const [step, error] of [
        ['start_agent', AGENT_ERROR],
        ['wait_ready', GATEWAY_ERROR],
      ] as const) {
        state = (
          await rt.store.append(
            clawsProjection,
            claw.id,
            [
              {
                type: 'ProvisioningStepFailed',
                data: { step, attempt: 1, error, retryAt: new Date(Date.now() + 60_000).toISOString() },
              },
            ],
            {
              expected: state.version,
              known: state,
              meta: { actor: 'system:worker', correlationId: randomUUID() },
            },
          )
        ).state;
      }
    });
    after(async () => {
      await rt?.close();
      await database?.close();
    });

    it('members get words: no internal host or port in the claw view or its timeline', async () => {
      const m = await callerFor(rt, member);
      const view = await m.claws.get({ orgSlug, clawSlug });
      assert.equal(view.lastError, 'No hello-ok from (an internal address) within 5000 ms');
      const listed = (await m.claws.list({ orgSlug })).find((c) => c.slug === clawSlug)!;
      assert.equal(listed.lastError, view.lastError);
      const timeline = await m.claws.timeline({ orgSlug, clawSlug });
      const failures = timeline.filter((e) => e.failure).map((e) => (e.data as { error: string }).error);
      assert.deepEqual(failures, [
        "The claw's Mini failed: ECONNREFUSED",
        'No hello-ok from (an internal address) within 5000 ms',
      ]);
      const everything = JSON.stringify([view, listed, timeline]);
      assert.ok(!everything.includes('10.0.0.5'), everything);
      assert.ok(!/:7070|:20001/.test(everything));
    });

    it('a platform admin sees what the agent and the gateway said', async () => {
      const op = await callerFor(rt, operator);
      assert.equal((await op.claws.get({ orgSlug, clawSlug })).lastError, GATEWAY_ERROR);
      const timeline = await op.claws.timeline({ orgSlug, clawSlug });
      assert.ok(JSON.stringify(timeline).includes(AGENT_ERROR));
    });
  });
}
