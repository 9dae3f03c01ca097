import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  ConfigError,
  DEV_AGENT_TOKEN,
  HelpRequested,
  parseAgentConfig,
  parseFingerprintCommand,
  repoRoot,
  splitCommand,
} from './config';

describe('mini agent config', () => {
  it('needs a real token unless --dev; only an explicit dev agent, on loopback, takes the dev token', () => {
    // No silent dev mode any more: without --dev a token is required, on loopback too.
    for (const argv of [[], ['--host', '0.0.0.0'], ['--host', 'localhost']])
      assert.throws(() => parseAgentConfig(argv, {}), /MINI_AGENT_TOKEN is required/, argv.join(' '));
    assert.throws(
      () => parseAgentConfig([], { MINI_AGENT_TOKEN: DEV_AGENT_TOKEN }),
      /public dev token/,
      'the dev token outside --dev',
    );
    assert.throws(() => parseAgentConfig(['--dev', '--host', '192.168.1.20'], {}), /loopback only/);
    assert.throws(
      () => parseAgentConfig(['--dev', '--host', '0.0.0.0'], { MINI_AGENT_TOKEN: 'x'.repeat(20) }),
      /loopback only/,
    );
    assert.throws(() => parseAgentConfig([], { MINI_AGENT_TOKEN: 'short' }), /at least 16/);
    for (const argv of [['--dev'], ['--dev', '--host', 'localhost'], ['--dev', '--host', '::1']]) {
      const dev = parseAgentConfig(argv, {});
      assert.equal(dev.token, DEV_AGENT_TOKEN, argv.join(' '));
      assert.equal(dev.dev, true);
    }
    const local = parseAgentConfig([], { MINI_AGENT_TOKEN: 'x'.repeat(20) });
    assert.equal(local.dev, false, 'a token on loopback is a production agent (TLS)');
    const real = parseAgentConfig(['--host', '0.0.0.0'], { MINI_AGENT_TOKEN: 'x'.repeat(20) });
    assert.equal(real.dev, false);
    assert.equal(real.token, 'x'.repeat(20));
  });

  it('uses the same dev token as the control plane seeds', async () => {
    const { DEV_AGENT_TOKEN: seeded } = await import('../../server/fleet/dev-mini');
    assert.equal(seeded, DEV_AGENT_TOKEN);
  });

  it('answers to its own names by default, to exactly --host-names when given', () => {
    const env = { MINI_AGENT_TOKEN: 'x'.repeat(20) };
    const local = parseAgentConfig([], env).hostNames;
    assert.deepEqual([...local].sort(), ['127.0.0.1', '::1', 'localhost']);
    const lan = parseAgentConfig(['--host', '0.0.0.0'], env).hostNames;
    assert.ok(lan.has(os.hostname().toLowerCase()), 'its hostname');
    assert.ok(lan.has('localhost'));
    assert.ok(!lan.has('0.0.0.0'), 'a wildcard is no name');
    const named = parseAgentConfig(
      ['--host', '0.0.0.0', '--host-names', 'Mini-07.Fleet.Example., 10.0.0.7'],
      env,
    );
    assert.deepEqual([...named.hostNames].sort(), ['10.0.0.7', 'mini-07.fleet.example']);
    assert.deepEqual(
      [...parseAgentConfig([], { ...env, MINI_AGENT_HOST_NAMES: 'a.test' }).hostNames],
      ['a.test'],
    );
  });

  it('parses `fingerprint` with its state directory, without needing the token', () => {
    assert.equal(parseFingerprintCommand(['--dev'], {}), undefined);
    assert.deepEqual(parseFingerprintCommand(['fingerprint'], { MINI_AGENT_STATE_DIR: '/tmp/s' }), {
      stateDir: '/tmp/s',
    });
    assert.deepEqual(parseFingerprintCommand(['fingerprint', '--state-dir', '/tmp/t'], {}), {
      stateDir: '/tmp/t',
    });
    assert.throws(() => parseFingerprintCommand(['fingerprint', '--port', '1'], {}), ConfigError);
  });

  it('takes flags over environment over defaults', () => {
    const env = { MINI_AGENT_TOKEN: 'x'.repeat(20), MINI_AGENT_PORT: '7100', MINI_AGENT_STATE_DIR: '/tmp/a' };
    const fromEnv = parseAgentConfig([], env);
    assert.equal(fromEnv.port, 7100);
    assert.equal(fromEnv.host, '127.0.0.1');
    assert.equal(fromEnv.stateDir, '/tmp/a');
    assert.equal(fromEnv.stopGatewaysOnExit, false);
    const fromFlags = parseAgentConfig(
      ['--port', '7200', '--state-dir', '/tmp/b', '--stop-gateways-on-exit'],
      env,
    );
    assert.equal(fromFlags.port, 7200);
    assert.equal(fromFlags.stateDir, '/tmp/b');
    assert.equal(fromFlags.stopGatewaysOnExit, true);
    assert.equal(parseAgentConfig([], { MINI_AGENT_TOKEN: 'x'.repeat(20) }).port, 7070);
    assert.throws(() => parseAgentConfig(['--port', 'abc'], env), /port/);
    assert.throws(() => parseAgentConfig(['--bogus'], env), ConfigError);
    assert.throws(() => parseAgentConfig(['--help'], env), HelpRequested);
    assert.deepEqual(fromEnv.trustedProxies, []);
    assert.deepEqual(parseAgentConfig(['--trusted-proxies', '127.0.0.1, ::1'], env).trustedProxies, [
      '127.0.0.1',
      '::1',
    ]);
  });

  it('defaults to the dev gateway through this node and tsx', () => {
    const cmd = parseAgentConfig(['--dev'], {}).gatewayCommand;
    assert.equal(cmd[0], process.execPath);
    assert.equal(cmd.at(-1), path.join(repoRoot, 'scripts/dev-gateway.ts'));
    assert.match(cmd[2]!, /^file:.*tsx/);
  });

  it('splits a gateway command like a shell would (quotes, backslashes)', () => {
    assert.deepEqual(splitCommand('/opt/node24/node  /opt/openclaw/openclaw.mjs'), [
      '/opt/node24/node',
      '/opt/openclaw/openclaw.mjs',
    ]);
    assert.deepEqual(splitCommand(`"/Applications/My Node/node" -e 'process.exit(3)' a\\ b ""`), [
      '/Applications/My Node/node',
      '-e',
      'process.exit(3)',
      'a b',
      '',
    ]);
    assert.throws(() => splitCommand('node "unterminated'), ConfigError);
  });
});

describe('mini agent config: claw users, token file, what gateways get', () => {
  const root = { platform: 'linux' as const, uid: 0 };
  const mac = { platform: 'darwin' as const, uid: 0 };
  const user = { platform: 'linux' as const, uid: 1000 };
  const env = { MINI_AGENT_TOKEN: 'x'.repeat(20) };

  it('defaults to one OS user per claw when root, and to none for a dev agent or a non-root one', () => {
    assert.equal(parseAgentConfig([], env, root).isolation, 'linux');
    assert.equal(parseAgentConfig([], env, mac).isolation, 'macos');
    assert.equal(parseAgentConfig([], env, user).isolation, 'none');
    assert.equal(parseAgentConfig(['--dev'], {}, root).isolation, 'none');
    // Without a token it is no dev agent unless it says so: it refuses to start.
    assert.throws(() => parseAgentConfig([], {}, root), /MINI_AGENT_TOKEN is required \(or --dev/);
    assert.equal(parseAgentConfig(['--isolation', 'none'], env, root).isolation, 'none');
    assert.equal(parseAgentConfig([], { ...env, MINI_AGENT_ISOLATION: 'linux' }, root).isolation, 'linux');
  });

  it('refuses a driver this machine cannot run, saying why', () => {
    assert.throws(
      () => parseAgentConfig(['--isolation', 'linux'], env, user),
      /needs root: the agent creates one OS user per claw/,
    );
    assert.throws(() => parseAgentConfig(['--isolation', 'macos'], env, root), /macOS only/);
    assert.throws(() => parseAgentConfig(['--isolation', 'linux'], env, mac), /Linux only/);
    assert.throws(
      () => parseAgentConfig(['--isolation', 'jail'], env, root),
      /must be one of none, linux, macos/,
    );
  });

  it('keeps claws’ directories out of the state directory when they have their own users', () => {
    const none = parseAgentConfig(['--state-dir', '/srv/agent'], env, user);
    assert.equal(none.clawsDir, '/srv/agent/claws');
    assert.equal(parseAgentConfig([], env, root).clawsDir, '/var/lib/claws/claws');
    assert.equal(parseAgentConfig([], env, mac).clawsDir, '/Library/Claws/claws');
    assert.equal(parseAgentConfig(['--claws-dir', '/data/claws'], env, root).clawsDir, '/data/claws');
  });

  it('reads the token from a file only its owner can read', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'claws-token-'));
    try {
      const file = path.join(dir, 'token');
      fs.writeFileSync(file, `${'t'.repeat(24)}\n`, { mode: 0o600 });
      const me = { platform: process.platform, uid: process.getuid?.() ?? 0 };
      const c = parseAgentConfig(['--token-file', file, '--host', '0.0.0.0'], {}, me);
      assert.equal(c.token, 't'.repeat(24));
      assert.equal(c.tokenFile, file);
      assert.equal(c.dev, false);
      assert.equal(parseAgentConfig([], { MINI_AGENT_TOKEN_FILE: file }, me).token, 't'.repeat(24));
      assert.throws(() => parseAgentConfig(['--token-file', file], env, me), /not both/);
      fs.chmodSync(file, 0o640);
      assert.throws(
        () => parseAgentConfig(['--token-file', file], {}, me),
        /is 640: it must be readable by its owner only/,
      );
      fs.chmodSync(file, 0o600);
      // A root agent takes root's token file only.
      if (me.uid === 0) fs.chownSync(file, 1, 1);
      assert.throws(
        () => parseAgentConfig(['--token-file', file], {}, { ...me, uid: 0 }),
        /must belong to root/,
      );
      if (me.uid === 0) fs.chownSync(file, 0, 0);
      assert.throws(
        () => parseAgentConfig(['--token-file', path.join(dir, 'none')], {}, me),
        /Cannot read the token file/,
      );
      fs.chmodSync(file, 0o644);
      assert.throws(
        () => parseAgentConfig(['--token-file', file], {}, me),
        (err: Error) => err instanceof ConfigError && !err.message.includes('t'.repeat(24)),
        'refused, and the error never shows the token',
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads the base gateway config and the names handed down, refusing the agent’s own', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'claws-base-'));
    try {
      const file = path.join(dir, 'base.json');
      fs.writeFileSync(file, JSON.stringify({ models: { mode: 'replace' } }));
      const c = parseAgentConfig(
        ['--gateway-config', file, '--gateway-pass-env', 'HTTPS_PROXY, NO_PROXY'],
        env,
        user,
      );
      assert.deepEqual(c.gatewayBaseConfig, { models: { mode: 'replace' } });
      assert.deepEqual(c.gatewayPassEnv, ['HTTPS_PROXY', 'NO_PROXY']);
      assert.deepEqual(parseAgentConfig([], env, user).gatewayPassEnv, []);
      fs.writeFileSync(file, '[1]');
      assert.throws(() => parseAgentConfig(['--gateway-config', file], env, user), /must hold a JSON object/);
      fs.writeFileSync(file, '{');
      assert.throws(
        () => parseAgentConfig(['--gateway-config', file], env, user),
        /Cannot read the gateway config/,
      );
      for (const name of ['MINI_AGENT_TOKEN', 'DATABASE_URL', 'CLAWS_SECRET_KEYS', 'OPENCLAW_GATEWAY_TOKEN'])
        assert.throws(
          () => parseAgentConfig(['--gateway-pass-env', name], env, user),
          /never reaches a gateway/,
          name,
        );
      assert.throws(() => parseAgentConfig(['--gateway-pass-env', 'A=B'], env, user), /not a variable name/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('makes relative paths in the gateway command absolute (gateways run in their claw’s home)', () => {
    const cmd = parseAgentConfig(
      ['--gateway-cmd', 'node --import tsx scripts/dev-gateway.ts'],
      env,
      user,
    ).gatewayCommand;
    assert.deepEqual(cmd, ['node', '--import', 'tsx', path.resolve('scripts/dev-gateway.ts')]);
  });
});
