import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { createTestDatabase, testDrivers, type TestDatabase } from '../tests/fixtures/db';
import { testDistDir } from '../tests/fixtures/next-dist';
import {
  freePort,
  freePortRange,
  isPortOpen,
  runTs,
  waitFor,
  type TsProcess,
} from '../tests/fixtures/processes';

/**
 * The typed client against real processes: the custom Next server (worker on, no dev Mini) and a
 * Mini agent (scripts/mini-agent.ts, running dev gateways). The demo signs up (a platform admin:
 * its address is in CLAWS_ADMIN_EMAILS), registers the agent through fleet.register, creates an org
 * and a claw, and waits on
 * claws.onChange until it is active. On PGlite, and on PostgreSQL (a fresh database) when
 * TEST_DATABASE_URL is set.
 */
for (const driver of testDrivers()) {
  describe(`typed client against a real server on ${driver}`, () => {
    let server: TsProcess | undefined;
    let agent: TsProcess | undefined;
    let pg: TestDatabase | undefined;
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'claws-demo-'));
    after(async () => {
      await server?.kill('SIGTERM');
      await agent?.kill('SIGTERM');
      await pg?.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it('signs up, registers a Mini, creates an org and a claw, and sees it become active', async () => {
      const demoEmail = `demo-${Date.now()}@example.com`;
      if (driver === 'pg') pg = await createTestDatabase('pg');

      const agentPort = await freePort();
      const agentToken = randomBytes(24).toString('base64url');
      agent = runTs('scripts/mini-agent.ts', ['--port', String(agentPort), '--stop-gateways-on-exit'], {
        MINI_AGENT_TOKEN: agentToken,
        MINI_AGENT_STATE_DIR: path.join(dataDir, 'agent'),
        // Gateways as the agent's own user, not one OS user per claw (the default for root).
        MINI_AGENT_ISOLATION: 'none',
        MINI_AGENT_LOG_LEVEL: 'warn',
      });

      const port = await freePort();
      server = runTs('server/main.ts', [], {
        NODE_ENV: 'test',
        PORT: String(port),
        HOST: '127.0.0.1',
        DATA_DIR: path.join(dataDir, 'server'),
        DATABASE_URL: pg?.url ?? '',
        CLAWS_DEV_MINI: '0',
        CLAWS_WORKER: '1',
        CLAWS_ADMIN_EMAILS: demoEmail,
        LOG_LEVEL: 'warn',
        // Its own Next output, beside a developer's `npm run dev` in this checkout.
        NEXT_DIST_DIR: testDistDir('client-demo'),
      });
      const base = `http://127.0.0.1:${port}`;
      await waitFor(
        'the Mini agent',
        async () => {
          if (agent!.child.exitCode !== null) throw new Error(`agent exited: ${agent!.output()}`);
          return agent!.output().includes('mini-agent: listening on');
        },
        30_000,
        100,
      );
      // As in production: the agent serves HTTPS and the Mini is registered with its certificate.
      const fingerprint = /mini-agent: certificate fingerprint (sha256:[0-9a-f]{64})/.exec(
        agent.output(),
      )?.[1];
      assert.ok(fingerprint, agent.output());
      await waitFor(
        'the server',
        async () => {
          if (server!.child.exitCode !== null) throw new Error(`server exited: ${server!.output()}`);
          return (await fetch(`${base}/readyz`)).ok;
        },
        120_000,
        250,
      );

      const [start, end] = await freePortRange(5);
      const demo = runTs('scripts/client-demo.ts', [base], {
        DEMO_EMAIL: demoEmail,
        DEMO_TIMEOUT_MS: '90000',
        DEMO_AGENT_URL: `https://127.0.0.1:${agentPort}`,
        DEMO_AGENT_CERT_FINGERPRINT: fingerprint,
        DEMO_AGENT_TOKEN: agentToken,
        DEMO_PORT_RANGE: `${start}-${end}`,
      });
      const code = await demo.exited;
      const logs = () =>
        `${demo.output()}\n--- server ---\n${server!.output().slice(-3000)}\n--- agent ---\n${agent!.output().slice(-2000)}`;
      assert.equal(code, 0, `client demo failed:\n${logs()}`);
      assert.match(demo.output(), /signed up .* \(platform admin\)/);
      assert.match(demo.output(), /registered Mini demo-mini-\w+\.local .*: online/);
      const m =
        /claw demo-claw is active on (demo-mini-\w+\.local):(\d+) \(claw-[0-9a-f-]+\.claws\.localhost\)/.exec(
          demo.output(),
        );
      assert.ok(m, logs());
      const gatewayPort = Number(m[2]);
      assert.ok(gatewayPort >= start && gatewayPort <= end, `port ${gatewayPort} outside ${start}-${end}`);
      assert.equal(await isPortOpen(gatewayPort), true, 'the gateway listens on its allocated port');

      // Graceful shutdown: SIGTERM ends the server cleanly, with exit code 0.
      await server.kill('SIGTERM');
      assert.equal(server.child.exitCode, 0, server.output().slice(-2000));
      assert.doesNotMatch(server.output(), /shutdown hook failed|took too long/);
      server = undefined;
    });
  });
}
