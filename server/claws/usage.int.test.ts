import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clawsProjection } from '../../projections/claws';
import { createTestDatabase, type TestDatabase } from '../../tests/fixtures/db';
import {
  registerAgentAsMini,
  startAgent,
  testRuntime,
  testWorker,
  type AgentProcess,
} from '../../tests/fixtures/fleet';
import { waitFor } from '../../tests/fixtures/processes';
import { callerFor, joinOrg, newUser } from '../../tests/fixtures/trpc';
import type { Runtime } from '../runtime';

/**
 * What a claw uses, from its Mini's agent to its page: the memory and CPU of its processes, sampled
 * by the agent, and the disk its directory takes, pushed to members of its organization.
 */
describe('what a claw uses', () => {
  let database: TestDatabase;
  let rt: Runtime;
  let agent: AgentProcess;
  let worker: ReturnType<typeof testWorker>;

  before(async () => {
    database = await createTestDatabase('pglite');
    rt = testRuntime(database);
    agent = await startAgent();
    await registerAgentAsMini(rt, agent, { capacity: 1 });
    worker = testWorker(rt);
    worker.worker.start();
  });
  after(async () => {
    await worker?.worker.stop();
    await agent?.stop();
    await rt?.close();
    await database?.close();
  });

  it('shows members the memory, CPU and disk of the claw’s processes', async () => {
    const owner = await newUser(rt, 'owner');
    const member = await newUser(rt, 'member');
    const o = await callerFor(rt, owner);
    const orgSlug = (await o.orgs.create({ name: 'Usage' })).slug;
    await joinOrg(rt, orgSlug, member, 'member');
    const created = await o.claws.create({ orgSlug, name: 'Busy' });
    await waitFor(
      'the claw active',
      async () => (await rt.store.load(clawsProjection, created.id))?.status === 'active',
      60_000,
    );
    const ac = new AbortController();
    const m = await callerFor(rt, member, { signal: ac.signal });
    const stream = (await m.claws.onUsage({ orgSlug, clawSlug: created.slug })) as AsyncIterable<{
      diskBytes: number;
      samples: { rssBytes: number; processes: number }[];
    }>;
    let seen: { diskBytes: number; samples: { rssBytes: number; processes: number }[] } | undefined;
    const timer = setTimeout(() => ac.abort(), 30_000);
    try {
      for await (const u of stream) {
        // The first sample may predate the gateway (the agent samples every 10 s).
        if (u.samples.at(-1)!.processes > 0) {
          seen = u;
          break;
        }
      }
    } finally {
      clearTimeout(timer);
      ac.abort();
    }
    assert.ok(seen, 'a sample of the running gateway arrived');
    const last = seen.samples.at(-1)!;
    assert.ok(last.rssBytes > 10 * 1024 * 1024, `a node gateway holds more than 10 MB (${last.rssBytes})`);
    assert.ok(seen.diskBytes > 0, 'its directory holds its config and state');
  });
});
