import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { CommandRunner } from './command-runner';
import { parseAgentConfig, repoRoot } from './config';
import {
  doctorChecks,
  formatChecks,
  gatherDoctorFacts,
  nodeRunsOpenClaw,
  parseOpenClawVersion,
  TESTED_OPENCLAW_VERSION,
  type DoctorFacts,
} from './doctor';

const GIB = 1024 ** 3;

/** A Mini with everything it needs. */
const good = (over: Partial<DoctorFacts> = {}): DoctorFacts => ({
  platform: 'darwin',
  uid: 0,
  isolation: 'macos',
  isolationTools: [
    { name: 'dscl', found: true },
    { name: 'ps', found: true },
  ],
  agentNode: 'v24.21.0',
  devGateway: false,
  gatewayNode: { path: '/opt/node24/bin/node', version: 'v24.21.0' },
  openclaw: { version: TESTED_OPENCLAW_VERSION },
  cloudflared: { path: '/opt/homebrew/bin/cloudflared', version: 'cloudflared version 2026.1.0' },
  freeBytes: 200 * GIB,
  totalMemBytes: 32 * GIB,
  stateDir: '/Library/Claws/agent',
  stateDirStat: { mode: 0o40700, uid: 0 },
  stateFileStat: { mode: 0o100600, uid: 0 },
  token: { source: 'file', file: '/Library/Claws/agent-token' },
  clawsDir: '/Library/Claws/claws',
  clawsDirProblems: [],
  gatewayProblems: [],
  ...over,
});

const statusOf = (facts: DoctorFacts, name: string) => doctorChecks(facts).find((c) => c.name === name);

describe('mini agent doctor', () => {
  it('passes a Mini that has everything, one line per check', () => {
    const checks = doctorChecks(good());
    assert.deepEqual(
      checks.filter((c) => c.status !== 'ok'),
      [],
    );
    const { lines, exitCode } = formatChecks(checks);
    assert.equal(exitCode, 0);
    assert.equal(lines.length, checks.length);
    assert.match(
      lines.find((l) => l.includes('cloudflared'))!,
      /^ok +cloudflared +cloudflared version 2026\.1\.0/,
    );
    for (const name of [
      'root',
      'isolation',
      'node (gateway)',
      'openclaw',
      'disk',
      'state dir',
      'token',
      'claws dir',
    ])
      assert.ok(
        checks.some((c) => c.name === name),
        name,
      );
  });

  it('says what is missing and what to do, and fails', () => {
    const facts = good({ cloudflared: undefined });
    const check = statusOf(facts, 'cloudflared')!;
    assert.equal(check.status, 'missing');
    assert.match(check.fix!, /brew install cloudflared/);
    const { lines, exitCode } = formatChecks(doctorChecks(facts));
    assert.equal(exitCode, 1);
    assert.match(
      lines.find((l) => l.includes('cloudflared'))!,
      /^missing cloudflared +not on PATH — brew install/,
    );
  });

  it('wants Node 24 for the gateway and the tested OpenClaw', () => {
    assert.equal(
      statusOf(good({ gatewayNode: { path: 'node', version: 'v20.20.2' } }), 'node (gateway)')!.status,
      'missing',
    );
    assert.equal(
      statusOf(good({ gatewayNode: { path: '/x/node', error: 'ENOENT' } }), 'node (gateway)')!.detail,
      '/x/node: ENOENT',
    );
    const other = statusOf(good({ openclaw: { version: '2026.10.1' } }), 'openclaw')!;
    assert.equal(other.status, 'warn');
    assert.match(other.fix!, new RegExp(`tested with OpenClaw ${TESTED_OPENCLAW_VERSION}`));
    assert.equal(
      statusOf(good({ openclaw: { error: 'Node 20: node:sqlite is unavailable' } }), 'openclaw')!.status,
      'missing',
    );
    const both = statusOf(
      good({ openclawOnPath: { path: '/opt/homebrew/bin/openclaw', version: '2026.8.1' } }),
      'openclaw',
    )!;
    assert.match(
      both.detail,
      /on PATH: \/opt\/homebrew\/bin\/openclaw 2026\.8\.1/,
      'every version installed',
    );
    const dev = doctorChecks(good({ devGateway: true }));
    assert.equal(dev.find((c) => c.name === 'gateway')!.status, 'missing');
    assert.ok(!dev.some((c) => c.name === 'openclaw'));
  });

  it('wants root and one user per claw', () => {
    const facts = good({ uid: 501, isolation: 'none', isolationTools: [] });
    assert.equal(statusOf(facts, 'root')!.status, 'missing');
    const iso = statusOf(facts, 'isolation')!;
    assert.equal(iso.status, 'missing');
    assert.match(iso.fix!, /run the agent as root/);
    const devRoot = statusOf(good({ isolation: 'none', isolationTools: [] }), 'isolation')!;
    assert.match(
      devRoot.fix!,
      /give --isolation macos \(a dev agent, one without a token, defaults to none\)/,
    );
    const noTools = good({
      isolation: 'linux',
      platform: 'linux',
      isolationTools: [{ name: 'useradd', found: false }],
    });
    assert.match(statusOf(noTools, 'isolation')!.detail, /useradd not found/);
  });

  it('wants the agent’s state root’s alone, and the token in a file', () => {
    assert.equal(statusOf(good({ stateDirStat: { mode: 0o40755, uid: 0 } }), 'state dir')!.status, 'missing');
    assert.equal(
      statusOf(good({ stateDirStat: { mode: 0o40700, uid: 501 } }), 'state dir')!.status,
      'missing',
    );
    assert.equal(
      statusOf(good({ stateDirStat: undefined }), 'state dir')!.status,
      'ok',
      'made at first start',
    );
    assert.equal(
      statusOf(good({ stateFileStat: { mode: 0o100644, uid: 0 } }), 'state file')!.status,
      'missing',
    );
    assert.equal(statusOf(good({ token: { source: 'env' } }), 'token')!.status, 'warn');
    assert.equal(statusOf(good({ token: { source: 'dev' } }), 'token')!.status, 'missing');
    const bad = statusOf(
      good({ token: { source: 'file', file: '/t', problem: 'The token file /t is 644' } }),
      'token',
    )!;
    assert.equal(bad.status, 'missing');
    assert.equal(bad.detail, 'The token file /t is 644');
  });

  it('wants disk space and paths claw users can reach', () => {
    assert.equal(statusOf(good({ freeBytes: 1 * GIB }), 'disk')!.status, 'missing');
    assert.equal(statusOf(good({ freeBytes: 5 * GIB }), 'disk')!.status, 'warn');
    const far = statusOf(
      good({ clawsDirProblems: ['claw users cannot reach /x: /x is 0700'] }),
      'claws dir',
    )!;
    assert.equal(far.status, 'missing');
    assert.equal(statusOf(good({ gatewayProblems: ['/root is 0700'] }), 'gateway files')!.status, 'missing');
  });

  it('reads versions as OpenClaw prints them and knows which Node runs it', () => {
    assert.equal(parseOpenClawVersion('OpenClaw 2026.9.6 (eb377ac)\n'), '2026.9.6');
    assert.equal(parseOpenClawVersion('usage: …'), undefined);
    for (const v of ['v24.16.0', 'v24.21.0', 'v26.1.0', 'v27.0.0']) assert.ok(nodeRunsOpenClaw(v), v);
    for (const v of ['v20.20.2', 'v24.15.9', 'v25.2.0', 'v26.0.0', 'nonsense'])
      assert.ok(!nodeRunsOpenClaw(v), v);
  });

  it('checks the OpenClaw release the interop tests install', () => {
    const script = fs.readFileSync(path.join(repoRoot, '.ci/install-openclaw.sh'), 'utf8');
    assert.equal(/^OPENCLAW_VERSION=(\S+)$/m.exec(script)?.[1], TESTED_OPENCLAW_VERSION);
  });

  it('gathers the facts from the agent’s configuration and the commands it runs', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'claws-doctor-'));
    try {
      const calls: string[] = [];
      const run: CommandRunner = async (program, args) => {
        calls.push([program, ...args].join(' '));
        if (program === '/bin/sh') {
          const name = args[2];
          return name === 'cloudflared'
            ? { code: 0, stdout: '/usr/local/bin/cloudflared\n', stderr: '' }
            : { code: 1, stdout: '', stderr: '' };
        }
        if (program === '/opt/node24/bin/node' && args[0] === '--version')
          return { code: 0, stdout: 'v24.21.0\n', stderr: '' };
        if (program === '/opt/node24/bin/node' && args.at(-1) === '--version')
          return { code: 0, stdout: 'OpenClaw 2026.9.6 (eb377ac)\n', stderr: '' };
        if (program === '/usr/local/bin/cloudflared')
          return { code: 0, stdout: 'cloudflared version 2026.1.0\n', stderr: '' };
        return { code: 127, stdout: '', stderr: 'not found' };
      };
      const host = { platform: 'linux' as const, uid: 1000 };
      const config = parseAgentConfig(
        ['--gateway-cmd', '/opt/node24/bin/node /opt/oc/openclaw.mjs', '--state-dir', dir],
        { MINI_AGENT_TOKEN: 'x'.repeat(20) },
        host,
      );
      const facts = await gatherDoctorFacts(config, { run, host });
      assert.ok(calls.includes('/opt/node24/bin/node /opt/oc/openclaw.mjs --version'));
      assert.deepEqual(facts.gatewayNode, { path: '/opt/node24/bin/node', version: 'v24.21.0' });
      assert.deepEqual(facts.openclaw, { version: '2026.9.6' });
      assert.deepEqual(facts.cloudflared, {
        path: '/usr/local/bin/cloudflared',
        version: 'cloudflared version 2026.1.0',
      });
      assert.equal(facts.openclawOnPath, undefined);
      assert.equal(facts.isolation, 'none');
      assert.deepEqual(facts.token, { source: 'env' });
      assert.equal(facts.devGateway, false);
      assert.ok(facts.freeBytes! > 0);
      assert.equal(facts.stateDirStat!.mode & 0o777, 0o700);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
