import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { createTestDatabase, testDrivers, type TestDatabase } from '../tests/fixtures/db';
import { freePort, runTs, waitFor, type TsProcess } from '../tests/fixtures/processes';

/**
 * The typed client against a real server process (the custom Next server with its worker and the
 * local dev Mini): sign up, create an org and a claw, and see it become active over the live
 * subscription. On PGlite, and on PostgreSQL when TEST_DATABASE_URL is set.
 */
for (const driver of testDrivers()) {
  describe(`typed client against a real server on ${driver}`, () => {
    let server: TsProcess | undefined;
    let pg: TestDatabase | undefined;
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'claws-demo-'));
    after(async () => {
      await server?.kill('SIGTERM');
      await pg?.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it('signs up, creates an org and a claw, and waits on the subscription until it is active', async () => {
      if (driver === 'pg') pg = await createTestDatabase('pg');
      const port = await freePort();
      server = runTs('server/main.ts', [], {
        PORT: String(port),
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        DATABASE_URL: pg?.url ?? '',
        MINI_AGENT_PORT: String(await freePort()),
        LOG_LEVEL: 'warn',
      });
      const base = `http://127.0.0.1:${port}`;
      await waitFor(
        'the server',
        async () => {
          if (server!.child.exitCode !== null) throw new Error(`server exited: ${server!.output()}`);
          return (await fetch(`${base}/readyz`)).ok;
        },
        120_000,
        250,
      );
      const demo = runTs('scripts/client-demo.ts', [base], { DEMO_TIMEOUT_MS: '90000' });
      const code = await demo.exited;
      assert.equal(
        code,
        0,
        `client demo failed:\n${demo.output()}\n--- server ---\n${server.output().slice(-3000)}`,
      );
      assert.match(demo.output(), /signed up .* \(platform admin\)/);
      assert.match(
        demo.output(),
        /claw demo-claw is active on dev-mini\.local:\d+ \(https:\/\/claw-[0-9a-f-]+\.claws\.localhost\)/,
      );

      // Graceful shutdown: SIGTERM ends the server (and its dev Mini) cleanly.
      await server.kill('SIGTERM');
      assert.equal(server.child.exitCode, 0, server.output().slice(-2000));
      server = undefined;
    });
  });
}
