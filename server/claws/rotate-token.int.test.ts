import assert from 'node:assert/strict';
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
import { waitFor } from '../../tests/fixtures/processes';
import { openclawConnect } from '../gateway/openclaw-client';
import { verifyGatewayAccess } from '../gateway/verify-access';
import { createOrganization } from '../orgs/organizations';
import type { Runtime } from '../runtime';
import { fingerprint } from '../secrets/keyring';
import { gatewayTokenSecret } from '../secrets/secret-store';
import { requestClaw } from './commands';
import { rotateGatewayToken } from './rotate-token';

/** A running claw gets a new gateway token: the gateway restarts with it, the old one stops working. */
describe('gateway token rotation', () => {
  let database: TestDatabase;
  let rt: Runtime;
  let agent: AgentProcess;

  before(async () => {
    database = await createTestDatabase('pglite');
    rt = testRuntime(database);
    agent = await startAgent();
  });
  after(async () => {
    await agent?.stop();
    await rt?.close();
    await database?.close();
  });

  it('restarts the gateway with a new token, records its fingerprint, refuses the old one', async () => {
    await registerAgentAsMini(rt, agent, { capacity: 2 });
    const { worker, deployments } = testWorker(rt);
    worker.start();
    try {
      const orgId = (await createOrganization(database.db, { name: 'Rotation' })).id;
      const requested = await requestClaw(commandContext(rt, 'user:ops'), { orgId, name: 'Rotating' });
      const active = await waitFor(
        'active',
        async () => {
          const c = await rt.store.load(clawsProjection, requested.id);
          return c?.status === 'active' ? c : null;
        },
        60_000,
      );
      const oldToken = (await rt.secrets.get(gatewayTokenSecret(active.id)))!;
      const result = await rotateGatewayToken(
        commandContext(rt, 'system:cli'),
        deployments.agents,
        active.id,
      );
      assert.equal(result.status, 'running');
      const newToken = (await rt.secrets.get(gatewayTokenSecret(active.id)))!;
      assert.notEqual(newToken, oldToken);
      assert.equal(result.fingerprint, fingerprint(newToken));
      const last = (await rt.store.readStream(clawStream, active.id)).at(-1)!;
      assert.equal(last.type, 'GatewayTokenRotated');
      assert.deepEqual(last.data, { tokenFingerprint: fingerprint(newToken), requestedBy: 'cli' });
      assert.ok(!JSON.stringify(last.data).includes(newToken));

      const claw = (await rt.store.load(clawsProjection, active.id)) as ClawState;
      assert.equal(claw.status, 'active');
      const mini = await rt.store.load(minisProjection, claw.miniId!);
      const access = await waitFor(
        'the proxy can connect with the new token',
        async () => {
          const a = await verifyGatewayAccess(rt.secrets, claw, mini, { mode: 'direct' }, 3000);
          return a.ok ? a : null;
        },
        30_000,
      );
      assert.equal(access.ok, true);
      await assert.rejects(
        openclawConnect({
          url: `ws://127.0.0.1:${claw.miniPort}`,
          token: oldToken,
          scopes: [],
          timeoutMs: 5000,
        }),
        'the old token is refused',
      );
    } finally {
      await worker.stop();
    }
  });

  it('refuses a claw that is not running', async () => {
    const orgId = (await createOrganization(database.db, { name: 'Not running' })).id;
    const requested = await requestClaw(commandContext(rt, 'user:ops'), { orgId, name: 'Idle' });
    const { deployments } = testWorker(rt);
    await assert.rejects(
      rotateGatewayToken(commandContext(rt), deployments.agents, requested.id),
      /only a running claw's token rotates/,
    );
  });
});
