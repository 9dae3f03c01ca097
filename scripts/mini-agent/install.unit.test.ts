import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, repoRoot } from './config';
import { applyInstall, launchDaemonPlist, planInstall } from './install';

const linux = { platform: 'linux' as const, uid: process.getuid?.() ?? 0 };
const GATEWAY = '/opt/node24/bin/node /opt/openclaw/node_modules/openclaw/openclaw.mjs';

/** The <key>…</key> directly followed by its value, as launchd reads a plist. */
const valueOf = (plist: string, key: string) =>
  new RegExp(
    `<key>${key}</key>\\s*(<(string|integer)>[^<]*</\\2>|<true/>|<false/>|<array>[\\s\\S]*?</array>)`,
  ).exec(plist)?.[1];
const strings = (xml: string) => [...xml.matchAll(/<string>([^<]*)<\/string>/g)].map((m) => m[1]!);

describe('mini agent install (LaunchDaemon)', () => {
  it('writes a plist that starts the agent at boot and again whenever it exits, with its logs', () => {
    const { plist } = planInstall(['--gateway-cmd', GATEWAY, '--dry-run'], linux);
    assert.equal(valueOf(plist, 'Label'), '<string>com.claws.mini-agent</string>');
    assert.equal(valueOf(plist, 'RunAtLoad'), '<true/>');
    assert.equal(valueOf(plist, 'KeepAlive'), '<true/>');
    assert.equal(valueOf(plist, 'AbandonProcessGroup'), '<true/>', 'gateways outlive an agent restart');
    assert.equal(valueOf(plist, 'StandardOutPath'), '<string>/Library/Logs/Claws/mini-agent.log</string>');
    assert.equal(
      valueOf(plist, 'StandardErrorPath'),
      '<string>/Library/Logs/Claws/mini-agent.err.log</string>',
    );
    assert.equal(valueOf(plist, 'WorkingDirectory'), `<string>${repoRoot}</string>`);
    const argv = strings(valueOf(plist, 'ProgramArguments')!);
    assert.equal(argv[0], process.execPath);
    assert.deepEqual(argv.slice(1, 2), ['--import']);
    assert.match(argv[2]!, /^file:.*tsx/);
    assert.equal(argv[3], path.join(repoRoot, 'scripts/mini-agent.ts'));
    const flag = (name: string) => argv[argv.indexOf(name) + 1];
    assert.equal(flag('--isolation'), 'macos');
    assert.equal(flag('--token-file'), '/Library/Claws/agent-token');
    assert.equal(flag('--state-dir'), '/Library/Claws/agent');
    assert.equal(flag('--claws-dir'), '/Library/Claws/claws');
    assert.equal(flag('--gateway-cmd'), GATEWAY);
    assert.equal(flag('--host'), '0.0.0.0');
    assert.equal(flag('--trusted-proxies'), '127.0.0.1');
    assert.ok(plist.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist'));
  });

  it('passes further agent flags through, and escapes what XML would misread', () => {
    const { plist } = planInstall(
      [
        '--gateway-cmd',
        GATEWAY,
        '--node',
        '/opt/node24/bin/node',
        '--dry-run',
        '--',
        '--tls-cert',
        '/a&b<c>.pem',
      ],
      linux,
    );
    const argv = strings(valueOf(plist, 'ProgramArguments')!);
    assert.equal(argv[0], '/opt/node24/bin/node');
    assert.deepEqual(argv.slice(-2), ['--tls-cert', '/a&amp;b&lt;c&gt;.pem']);
    assert.match(plist, /<key>PATH<\/key>\s*<string>\/opt\/node24\/bin:\/opt\/homebrew\/bin:/);
  });

  it('refuses what it cannot install: no gateway, a bad label, a plist off macOS without --out', () => {
    assert.throws(() => planInstall(['--dry-run'], linux), /needs --gateway-cmd/);
    assert.throws(
      () => planInstall(['--gateway-cmd', GATEWAY, '--label', 'a b', '--dry-run'], linux),
      /not a launchd label/,
    );
    assert.throws(() => planInstall(['--gateway-cmd', GATEWAY], linux), /LaunchDaemons are macOS/);
    assert.throws(() => planInstall(['--gateway-cmd', 'node "x', '--dry-run'], linux), ConfigError);
    assert.throws(() => planInstall(['--bogus'], linux), ConfigError);
  });

  it('writes the token to a 0600 file the plist only names, and keeps an existing one', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'claws-install-'));
    try {
      const out = path.join(dir, 'LaunchDaemons', 'com.claws.mini-agent.plist');
      const tokenFile = path.join(dir, 'Claws', 'agent-token');
      const argv = [
        '--gateway-cmd',
        GATEWAY,
        '--out',
        out,
        '--token-file',
        tokenFile,
        '--log-dir',
        path.join(dir, 'Logs'),
      ];
      const lines = applyInstall(planInstall(argv, linux), linux);
      const token = fs.readFileSync(tokenFile, 'utf8').trim();
      assert.ok(token.length >= 40);
      assert.equal(fs.statSync(tokenFile).mode & 0o777, 0o600);
      if (linux.uid === 0) assert.equal(fs.statSync(tokenFile).uid, 0);
      const plist = fs.readFileSync(out, 'utf8');
      assert.equal(fs.statSync(out).mode & 0o777, 0o644, 'launchd refuses a plist others can write');
      assert.ok(!plist.includes(token), 'no secret in the plist');
      assert.ok(plist.includes(tokenFile));
      assert.ok(fs.existsSync(path.join(dir, 'Logs')));
      assert.ok(lines.some((l) => l.includes(`launchctl bootstrap system ${out}`)));
      assert.ok(!lines.join('\n').includes(token), 'nor in what it prints');

      applyInstall(planInstall(argv, linux), linux);
      assert.equal(fs.readFileSync(tokenFile, 'utf8').trim(), token, 'kept');
      fs.chmodSync(tokenFile, 0o644);
      assert.throws(() => applyInstall(planInstall(argv, linux), linux), /readable by its owner only/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('renders any daemon definition', () => {
    const plist = launchDaemonPlist({
      label: 'x',
      programArguments: ['/bin/a'],
      workingDirectory: '/',
      environment: { A: '1' },
      stdoutPath: '/o',
      stderrPath: '/e',
    });
    assert.match(plist, /<key>A<\/key>\s*<string>1<\/string>/);
    assert.match(plist, /<key>NumberOfFiles<\/key>\s*<integer>16384<\/integer>/);
  });
});
