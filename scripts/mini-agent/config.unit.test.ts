import assert from 'node:assert/strict';
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
