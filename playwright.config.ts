import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defineConfig, devices } from '@playwright/test';
import { testDistDir } from './tests/fixtures/next-dist';

// The real custom server (Next, tRPC, the chat proxy, the worker) with the local dev Mini (a real
// agent running dev gateways), on a fresh embedded database for every run.
const port = Number(process.env.E2E_PORT ?? 3199);
const baseURL = `http://127.0.0.1:${port}`;
const dataDir = process.env.E2E_DATA_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'claws-e2e-'));

export default defineConfig({
  testDir: './tests/e2e',
  testMatch: '**/*.e2e.spec.ts',
  outputDir: 'test-results/e2e',
  workers: 1,
  forbidOnly: !!process.env.CI,
  timeout: 120_000,
  expect: { timeout: 30_000 },
  reporter: process.env.PLAYWRIGHT_JSON_OUTPUT_NAME ? [['list'], ['json']] : [['list']],
  use: { baseURL, trace: 'retain-on-failure', screenshot: 'only-on-failure' },
  webServer: {
    command: 'node --import tsx server/main.ts',
    url: `${baseURL}/readyz`,
    env: {
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      DATABASE_URL: '',
      MINI_AGENT_PORT: process.env.E2E_AGENT_PORT ?? '7199',
      LOG_LEVEL: 'warn',
      NEXT_TELEMETRY_DISABLED: '1',
      // Its own Next output, beside a developer's `npm run dev` in this checkout.
      NEXT_DIST_DIR: testDistDir('e2e'),
      // Ada, the first user of the suite, is the platform admin by configuration (never by being first).
      CLAWS_ADMIN_EMAILS: 'ada@e2e.test',
    },
    reuseExistingServer: false,
    // SIGTERM lets the server stop its dev Mini, which stops the gateways it started.
    gracefulShutdown: { signal: 'SIGTERM', timeout: 15_000 },
    timeout: 180_000,
    stdout: 'pipe',
    stderr: 'pipe',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        ...devices['Desktop Chrome'],
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
          args: [
            '--no-sandbox',
            '--disable-gpu',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--no-first-run',
            '--disable-quic',
          ],
        },
      },
    },
  ],
});
