import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../tests/fixtures/processes';

const run = promisify(execFile);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'claws-cli-'));
const env = {
  ...process.env,
  DATA_DIR: dataDir,
  DATABASE_URL: '',
  CLAWS_SECRET_KEYS: '',
} as NodeJS.ProcessEnv;
const cli = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', 'scripts/claws-cli.ts', ...args], { cwd: repoRoot, env });
const fails = async (...args: string[]) => {
  try {
    await cli(...args);
  } catch (err) {
    return err as { code: number; stderr: string; stdout: string };
  }
  throw new Error(`claws ${args.join(' ')} succeeded`);
};

describe('operator CLI (npm run claws)', () => {
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('registers a Mini, creates a claw in a new org, lists and shows it, as text and --json', async () => {
    const mini = await cli(
      'mini',
      'register',
      '--hostname',
      'cli-mini.local',
      '--agent-url',
      'http://127.0.0.1:9',
      '--agent-token',
      'cli-agent-token-0123456789',
      '--tunnel-suffix',
      'claws.test',
      '--ports',
      '25000-25009',
      '--capacity',
      '5',
      '--json',
    );
    const m = JSON.parse(mini.stdout) as { id: string; hostname: string; capacity: number };
    assert.equal(m.hostname, 'cli-mini.local');
    assert.ok(!mini.stdout.includes('cli-agent-token'), 'the agent token is not printed');
    const created = await cli('claw', 'create', '--org', 'acme', '--name', 'From the CLI');
    assert.match(created.stdout, /Created organization acme/);
    assert.match(created.stdout, /Requested claw acme\/from-the-cli/);
    const list = JSON.parse((await cli('claw', 'list', '--org', 'acme', '--json')).stdout) as {
      slug: string;
      status: string;
    }[];
    assert.deepEqual(
      list.map((c) => [c.slug, c.status]),
      [['from-the-cli', 'requested']],
    );
    const show = await cli('claw', 'show', 'acme/from-the-cli');
    assert.match(show.stdout, /ClawRequested\s+system:cli/);
    assert.match((await cli('mini', 'cordon', 'cli-mini.local')).stdout, /Cordoned/);
  });

  it("registers an https Mini with its agent's certificate fingerprint, and re-pins it with mini update", async () => {
    const https = [
      'mini',
      'register',
      '--hostname',
      'tls-mini.local',
      '--agent-url',
      'https://tls-mini.local:7070',
      '--agent-token',
      'cli-agent-token-0123456789',
      '--tunnel-suffix',
      'claws.test',
      '--ports',
      '25010-25019',
      '--capacity',
      '5',
    ];
    const refused = await fails(...https);
    assert.match(refused.stderr, /agentCertFingerprint is required for an https agent/);
    const first = `sha256:${'a1'.repeat(32)}`;
    const m = JSON.parse((await cli(...https, '--agent-cert-fingerprint', first, '--json')).stdout) as {
      agentCertFingerprint: string;
    };
    assert.equal(m.agentCertFingerprint, first);
    // Re-keyed agent: the operator pastes the new fingerprint as openssl prints it.
    const updated = await cli(
      'mini',
      'update',
      'tls-mini.local',
      '--agent-cert-fingerprint',
      Array(32).fill('B2').join(':'),
      '--json',
    );
    const u = JSON.parse(updated.stdout) as { agentCertFingerprint: string; version: number };
    assert.equal(u.agentCertFingerprint, `sha256:${'b2'.repeat(32)}`);
    assert.equal(u.version, 2);
    assert.match((await fails('mini', 'update', 'tls-mini.local')).stderr, /nothing to change/);
  });

  it('keys status and reencrypt; admin bootstrap-code prints a code, admin grant needs a user', async () => {
    assert.match((await cli('keys', 'status')).stdout, /local1\s+\d+ secrets\s+\(active\)/);
    assert.match(
      (await cli('keys', 'reencrypt')).stdout,
      /Re-encrypted 0 secrets under local1; 0 still under older keys/,
    );
    assert.match((await cli('admin', 'bootstrap-code')).stdout, /[A-Z2-9]{5}(-[A-Z2-9]{5}){4}/);
    const err = await fails('admin', 'grant', 'nobody@example.com');
    assert.match(err.stderr, /^error: No user nobody@example.com/);
  });

  it('prints one clear line and exits non-zero on bad input', async () => {
    for (const args of [
      ['claw', 'show', 'acme/nope'],
      ['mini', 'register', '--hostname', 'x'],
      ['frobnicate'],
      ['claw', 'create', '--org', 'acme', '--name', ''],
    ]) {
      const err = await fails(...args);
      assert.equal(err.code, 1);
      const first = err.stderr.trim().split('\n')[0]!;
      assert.match(first, /^error: \S/, err.stderr);
    }
  });
});
