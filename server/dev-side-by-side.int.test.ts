// test: serial (two or three Next dev servers compiling at once: it runs alone)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { testDistDir } from '../tests/fixtures/next-dist';
import { freePort, repoRoot, runTs, type TsProcess, tempDir } from '../tests/fixtures/processes';
import { startServer, waitForReadyOrExit, type ServerProcess } from '../tests/fixtures/servers';

/**
 * `npm test` while `npm run dev` runs in the same checkout. Next's dev server holds a lock in its
 * dist directory (`.next/dev/lock`) and a second one there exits with "Another next dev server is
 * already running"; the servers the suites start (this fixture, client-demo's, the e2e webServer)
 * take their own directory (NEXT_DIST_DIR) and start anyway. Here a developer's `npm run dev` runs
 * (this test starts one, or finds one already running), a server started as the suites start it
 * comes up and serves a page beside it, and a second server on the default directory is refused,
 * which is what the suites ran into before.
 */
const LOCK = path.join(repoRoot, '.next/dev/lock');
const ALREADY_RUNNING = /Another .*next dev.* server is already running/;

describe("the servers tests start, beside a developer's npm run dev", () => {
  const work = tempDir('claws-side-');
  const started: TsProcess[] = [];
  let testServer: ServerProcess | undefined;
  after(async () => {
    await testServer?.stop();
    for (const p of started) await p.kill('SIGTERM');
    fs.rmSync(work, { recursive: true, force: true });
  });

  /** `npm run dev` (tsx server/main.ts) on the default dist directory, without a local Mini. */
  async function developerDevServer(name: string) {
    const port = await freePort();
    const proc = runTs('server/main.ts', [], {
      PORT: String(port),
      HOST: '127.0.0.1',
      NEXT_DIST_DIR: '',
      DATA_DIR: path.join(work, name),
      DATABASE_URL: '',
      CLAWS_DEV_MINI: '0',
      CLAWS_WORKER: '0',
      LOG_LEVEL: 'warn',
      NEXT_TELEMETRY_DISABLED: '1',
    });
    started.push(proc);
    const url = `http://127.0.0.1:${port}`;
    const outcome = await waitForReadyOrExit(proc, url, 180_000);
    return { proc, url, outcome };
  }

  it('a server started as the suites start it comes up and serves pages while a dev server holds .next/dev/lock', async () => {
    const tsconfig = fs.readFileSync(path.join(repoRoot, 'tsconfig.json'), 'utf8');

    const developer = await developerDevServer('developer');
    if (developer.outcome === 'exited')
      // A developer's own `npm run dev` already holds the lock: the situation this test is about.
      assert.match(developer.proc.output(), ALREADY_RUNNING, developer.proc.output().slice(-3000));
    assert.ok(fs.existsSync(LOCK), 'a dev server holds .next/dev/lock');

    testServer = await startServer({
      mode: 'dev',
      suite: 'side-by-side',
      port: await freePort(),
      env: {
        DATA_DIR: path.join(work, 'test-server'),
        DATABASE_URL: '',
        CLAWS_DEV_MINI: '0',
        CLAWS_WORKER: '0',
        LOG_LEVEL: 'warn',
      },
      readyTimeoutMs: 180_000,
    });
    assert.ok(fs.existsSync(path.join(repoRoot, testDistDir('side-by-side'), 'dev/lock')));
    // A page compiles and renders in its own directory.
    const page = await fetch(`${testServer.url}/login`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/);
    if (developer.outcome === 'ready') {
      const theirs = await fetch(`${developer.url}/login`);
      assert.equal(theirs.status, 200, 'the developer’s server still serves');
    }

    // The control: a second server on the default directory is refused, as the suites were.
    const clash = await developerDevServer('clash');
    assert.equal(clash.outcome, 'exited');
    assert.notEqual(clash.proc.child.exitCode, 0);
    assert.match(clash.proc.output(), ALREADY_RUNNING, clash.proc.output().slice(-3000));

    // Next adds its dist directory's types to tsconfig.json unless they are listed; they are, so
    // the test server left the file (which a developer's dev server watches) as it was.
    assert.equal(fs.readFileSync(path.join(repoRoot, 'tsconfig.json'), 'utf8'), tsconfig);
  });
});
