import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { miniStream } from '../../events/mini';
import { minisProjection } from '../../projections/minis';
import { createTestDatabase, testDrivers, type TestDatabase } from '../../tests/fixtures/db';
import {
  commandContext,
  registerAgentAsMini,
  startAgent,
  testKeySpec,
  testRuntime,
  type AgentProcess,
} from '../../tests/fixtures/fleet';
import { freePortRange } from '../../tests/fixtures/processes';
import { callerFor, newUser } from '../../tests/fixtures/trpc';
import { createDeploymentServices } from '../deployment';
import { FailureError } from '../failure';
import type { Runtime } from '../runtime';
import { DEV_AGENT_TOKEN } from './agent-api';
import { registerMini, updateMini } from './commands';

/**
 * How the control plane trusts a Mini's agent: registration pins the agent's certificate, every
 * call checks it, re-keying is a MiniUpdated, and a production control plane accepts neither plain
 * HTTP nor the public dev token. Against the real agent process over TLS.
 */

const colonHex = (fp: string) => fp.slice('sha256:'.length).toUpperCase().match(/../g)!.join(':');

for (const driver of testDrivers()) {
  describe(`Mini agents over pinned TLS on ${driver}`, () => {
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

    const base = async () => {
      const [start, end] = await freePortRange(2);
      return {
        hostname: `mini-${Math.random().toString(36).slice(2, 8)}.test`,
        tunnelSuffix: 'claws.test',
        portRangeStart: start,
        portRangeEnd: end,
        capacity: 2,
      };
    };

    it('refuses an https Mini without its certificate fingerprint, or with something else', async () => {
      const ctx = commandContext(rt);
      const input = { ...(await base()), agentUrl: agent.url, agentToken: agent.token };
      await assert.rejects(registerMini(ctx, input), /agentCertFingerprint is required for an https agent/);
      await assert.rejects(
        registerMini(ctx, { ...input, agentCertFingerprint: 'sha1:0123' }),
        /agentCertFingerprint: must be a SHA-256 certificate fingerprint/,
      );
      await assert.rejects(
        registerMini(ctx, {
          ...input,
          agentUrl: 'http://127.0.0.1:9',
          agentCertFingerprint: agent.fingerprint,
        }),
        /a certificate fingerprint needs an https agent URL/,
      );
    });

    it('pins it at registration, calls through it, refuses a re-keyed agent until MiniUpdated pins the new one', async () => {
      const mini = await registerAgentAsMini(rt, agent, { capacity: 2 });
      assert.equal(mini.agentCertFingerprint, agent.fingerprint);
      const row = await database.db
        .selectFrom('mac_minis')
        .select('agent_cert_fingerprint')
        .where('id', '=', mini.id)
        .executeTakeFirstOrThrow();
      assert.equal(row.agent_cert_fingerprint, agent.fingerprint, 'in the read model');
      const first = (await rt.store.readStream(miniStream, mini.id))[0]!;
      assert.equal((first.data as { agentCertFingerprint?: string }).agentCertFingerprint, agent.fingerprint);

      const probe = createDeploymentServices(rt).healthProbe;
      await probe.check(mini);

      // Re-keying: the agent's key and certificate are replaced (same port, state and token).
      const old = agent.fingerprint!;
      await agent.stop();
      fs.rmSync(path.join(agent.stateDir, 'tls'), { recursive: true });
      agent = await startAgent({ port: agent.port, stateDir: agent.stateDir, token: agent.token });
      assert.notEqual(agent.fingerprint, old);
      await assert.rejects(probe.check(mini), (err: unknown) => {
        assert.ok(err instanceof FailureError, String(err));
        assert.equal(err.kind, 'permanent');
        assert.ok(err.message.includes(`is ${agent.fingerprint}, not the pinned ${old}`), err.message);
        assert.ok(!err.message.includes(agent.token), 'never the token');
        return true;
      });

      // The operator pins the new certificate, pasted as openssl prints it.
      const updated = await updateMini(commandContext(rt), mini.id, {
        agentCertFingerprint: colonHex(agent.fingerprint!),
      });
      assert.equal(updated.agentCertFingerprint, agent.fingerprint, 'stored canonical');
      assert.equal(updated.version, mini.version + 1);
      const last = (await rt.store.readStream(miniStream, mini.id)).at(-1)!;
      assert.equal(last.type, 'MiniUpdated');
      assert.deepEqual(last.data, { agentCertFingerprint: agent.fingerprint });
      await probe.check(updated); // the cached client went with the old version
      assert.equal((await rt.store.load(minisProjection, mini.id))!.agentCertFingerprint, agent.fingerprint);
    });

    it('an update cannot leave an https Mini without a pin', async () => {
      const ctx = commandContext(rt);
      const dev = await registerMini(ctx, {
        ...(await base()),
        agentUrl: 'http://127.0.0.1:9',
        agentToken: 'some-agent-token-0123456789',
      });
      await assert.rejects(
        updateMini(ctx, dev.id, { agentUrl: agent.url }),
        /agentCertFingerprint is required for an https agent/,
      );
      const moved = await updateMini(ctx, dev.id, {
        agentUrl: agent.url,
        agentCertFingerprint: agent.fingerprint,
      });
      assert.equal(moved.agentUrl, agent.url);
    });

    it('a production control plane refuses plain HTTP and the dev token, on register and update', async () => {
      const prod = { ...commandContext(rt), production: true };
      const pinned = { agentUrl: agent.url, agentCertFingerprint: agent.fingerprint };
      await assert.rejects(
        registerMini(prod, { ...(await base()), agentUrl: 'http://10.0.0.5:7070', agentToken: agent.token }),
        /agentUrl must be https in production/,
      );
      await assert.rejects(
        registerMini(prod, { ...(await base()), ...pinned, agentToken: DEV_AGENT_TOKEN }),
        /public dev token, which production refuses/,
      );
      const mini = await registerMini(prod, { ...(await base()), ...pinned, agentToken: agent.token });
      await assert.rejects(updateMini(prod, mini.id, { agentToken: DEV_AGENT_TOKEN }), /public dev token/);
      await assert.rejects(updateMini(prod, mini.id, { agentUrl: 'http://10.0.0.5:7070' }), /must be https/);
      // A Mini that got the dev token before (say, registered by a development control plane on the
      // same database) cannot be changed by a production one until it gets a real token.
      const legacy = await registerMini(commandContext(rt), {
        ...(await base()),
        ...pinned,
        agentToken: DEV_AGENT_TOKEN,
      });
      await assert.rejects(updateMini(prod, legacy.id, { capacity: 1 }), /public dev token/);
      const fixed = await updateMini(prod, legacy.id, { capacity: 1, agentToken: agent.token });
      assert.equal(fixed.capacity, 1);
      // Outside production the dev flow still works: the dev agent, plain HTTP, the dev token.
      await registerMini(commandContext(rt), {
        ...(await base()),
        agentUrl: 'http://127.0.0.1:7070',
        agentToken: DEV_AGENT_TOKEN,
      });
    });
  });

  describe(`fleet.register on a production control plane on ${driver}`, () => {
    let database: TestDatabase;
    let rt: Runtime;
    before(async () => {
      database = await createTestDatabase(driver);
      const keys = testKeySpec();
      rt = testRuntime(database, keys, { NODE_ENV: 'production', CLAWS_SECRET_KEYS: keys });
    });
    after(async () => {
      await rt?.close();
      await database?.close();
    });

    it('refuses the dev token and plain HTTP through the API (the router passes production on)', async () => {
      assert.equal(rt.config.production, true);
      const admin = await callerFor(rt, await newUser(rt, 'operator', { platformAdmin: true }));
      const input = {
        hostname: 'mini-prod.test',
        agentUrl: 'https://mini-prod.test:7070',
        agentCertFingerprint: `sha256:${'ab'.repeat(32)}`,
        agentToken: DEV_AGENT_TOKEN,
        tunnelSuffix: 'claws.test',
        portRangeStart: 20000,
        portRangeEnd: 20009,
        capacity: 5,
      };
      await assert.rejects(admin.fleet.register(input), /public dev token/);
      await assert.rejects(
        admin.fleet.register({
          ...input,
          agentUrl: 'http://mini-prod.test:7070',
          agentCertFingerprint: undefined,
          agentToken: 'x'.repeat(24),
        }),
        /must be https in production/,
      );
      const ok = await admin.fleet.register({ ...input, agentToken: 'a-real-agent-token-0123456789' });
      await assert.rejects(
        admin.fleet.update({ miniId: ok.id, changes: { agentToken: DEV_AGENT_TOKEN } }),
        /public dev token/,
      );
      const fleet = await admin.fleet.list();
      assert.equal(fleet[0]!.agentCertFingerprint, input.agentCertFingerprint, 'operators see the pin');
    });
  });
}
