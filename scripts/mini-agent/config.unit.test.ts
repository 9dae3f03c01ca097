import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  ConfigError,
  DEV_AGENT_TOKEN,
  HelpRequested,
  parseAgentConfig,
  repoRoot,
  splitCommand,
} from './config';

describe('mini agent config', () => {
  it('needs a token beyond loopback; on loopback without one it is a dev agent with the dev token', () => {
    assert.throws(() => parseAgentConfig(['--host', '0.0.0.0'], {}), ConfigError);
    assert.throws(
      () => parseAgentConfig(['--dev', '--host', '192.168.1.20'], {}),
      /MINI_AGENT_TOKEN is required/,
    );
    assert.throws(() => parseAgentConfig([], { MINI_AGENT_TOKEN: 'short' }), /at least 16/);
    for (const argv of [[], ['--dev'], ['--host', 'localhost'], ['--host', '127.0.0.2'], ['--host', '::1']]) {
      const dev = parseAgentConfig(argv, {});
      assert.equal(dev.token, DEV_AGENT_TOKEN, argv.join(' '));
      assert.equal(dev.dev, true);
    }
    const real = parseAgentConfig(['--host', '0.0.0.0'], { MINI_AGENT_TOKEN: 'x'.repeat(20) });
    assert.equal(real.dev, false);
    assert.equal(real.token, 'x'.repeat(20));
  });

  it('uses the same dev token as the control plane seeds', () => {
    const devMini = fs.readFileSync(path.join(repoRoot, 'server/fleet/dev-mini.ts'), 'utf8');
    assert.ok(devMini.includes(`DEV_AGENT_TOKEN = '${DEV_AGENT_TOKEN}'`));
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
