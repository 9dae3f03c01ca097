import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gatewayLaunchSpec, isGatewayArgv, mergeGatewayConfig, type GatewayLaunchInput } from './launch-spec';

const TOKEN = 'gateway-token-0123456789abcdef';

const input = (over: Partial<GatewayLaunchInput> = {}): GatewayLaunchInput => ({
  claw: { port: 19001, gatewayToken: TOKEN },
  gatewayCommand: ['/usr/bin/node', '/opt/openclaw/openclaw.mjs'],
  trustedProxies: [],
  clawDir: '/var/claws/claw-1',
  cwd: '/srv/agent',
  inheritedEnv: { PATH: '/usr/bin', LANG: 'C.UTF-8' },
  ...over,
});

describe('gateway launch spec', () => {
  it('runs the configured program with the real gateway command line: port, loopback, token auth', () => {
    const spec = gatewayLaunchSpec(input());
    assert.equal(spec.program, '/usr/bin/node');
    assert.deepEqual(spec.args, [
      '/opt/openclaw/openclaw.mjs',
      'gateway',
      'run',
      '--port',
      '19001',
      '--bind',
      'loopback',
      '--auth',
      'token',
      '--allow-unconfigured',
    ]);
    assert.equal(spec.cwd, '/srv/agent');
  });

  it('puts the gateway token in the environment, never on the command line', () => {
    const spec = gatewayLaunchSpec(input());
    assert.equal(spec.env.OPENCLAW_GATEWAY_TOKEN, TOKEN);
    assert.ok(![spec.program, ...spec.args].some((a) => a.includes(TOKEN)));
    assert.ok(!spec.args.includes('--token'));
  });

  it('gives the gateway the claw’s own HOME, state directory and log', () => {
    const spec = gatewayLaunchSpec(input());
    assert.deepEqual(spec.dirs, { home: '/var/claws/claw-1/home', state: '/var/claws/claw-1/state' });
    assert.equal(spec.logFile, '/var/claws/claw-1/gateway.log');
    assert.equal(spec.env.HOME, spec.dirs.home);
    assert.equal(spec.env.OPENCLAW_STATE_DIR, spec.dirs.state);
    assert.equal(spec.env.OPENCLAW_DISABLE_BONJOUR, '1');
  });

  it('inherits the agent’s environment without the agent’s own secrets', () => {
    const spec = gatewayLaunchSpec(
      input({
        inheritedEnv: {
          PATH: '/usr/bin',
          MINI_AGENT_TOKEN: 'agent-secret-0123456789',
          MINI_AGENT_STATE_DIR: '/var/claws',
          OPENCLAW_GATEWAY_TOKEN: 'the-agent-s-own-token',
          OPENCLAW_GATEWAY_PASSWORD: 'hunter2',
          UNSET: undefined,
        },
      }),
    );
    assert.equal(spec.env.PATH, '/usr/bin');
    assert.deepEqual(
      Object.keys(spec.env).filter((k) => k.startsWith('MINI_AGENT_')),
      [],
    );
    assert.equal(spec.env.OPENCLAW_GATEWAY_TOKEN, TOKEN, "the claw's token, not the agent's");
    assert.equal(spec.env.OPENCLAW_GATEWAY_PASSWORD, undefined);
    assert.ok(!('UNSET' in spec.env));
  });

  it('without trusted proxies writes no config and sets no proxy variable', () => {
    const spec = gatewayLaunchSpec(input());
    assert.equal(spec.config, undefined);
    assert.equal(spec.env.CLAWS_DEV_GATEWAY_TRUSTED_PROXIES, undefined);
  });

  it('hands trusted proxies to the real gateway (openclaw.json) and the dev gateway (environment)', () => {
    const spec = gatewayLaunchSpec(input({ trustedProxies: ['127.0.0.1', '::1'] }));
    assert.deepEqual(spec.config, {
      file: '/var/claws/claw-1/state/openclaw.json',
      gateway: { trustedProxies: ['127.0.0.1', '::1'] },
    });
    assert.equal(spec.env.CLAWS_DEV_GATEWAY_TRUSTED_PROXIES, '127.0.0.1,::1');
  });

  it('refuses an empty gateway command', () => {
    assert.throws(() => gatewayLaunchSpec(input({ gatewayCommand: [] })), /empty/);
  });

  it('merges the config into what openclaw.json already holds', () => {
    const patch = { file: '/x/openclaw.json', gateway: { trustedProxies: ['127.0.0.1'] } };
    assert.deepEqual(
      mergeGatewayConfig(
        { gateway: { mode: 'local', trustedProxies: ['10.0.0.1'] }, agents: { a: 1 } },
        patch,
      ),
      { gateway: { mode: 'local', trustedProxies: ['127.0.0.1'] }, agents: { a: 1 } },
    );
    for (const nothing of [undefined, null, [], 'text', { gateway: 'odd' }])
      assert.deepEqual(mergeGatewayConfig(nothing, patch).gateway, { trustedProxies: ['127.0.0.1'] });
  });

  it('recognizes its own gateways by command line and port', () => {
    const cmd = ['/usr/bin/node', '/opt/openclaw/openclaw.mjs'];
    const argv = [...cmd, 'gateway', 'run', '--port', '19001', '--bind', 'loopback'];
    assert.equal(isGatewayArgv(argv, cmd, 19001), true);
    assert.equal(isGatewayArgv(argv, cmd, 19002), false);
    assert.equal(
      isGatewayArgv(['/usr/bin/node', '/other.mjs', 'gateway', 'run', '--port', '19001'], cmd, 19001),
      false,
    );
    assert.equal(isGatewayArgv(['/usr/bin/python3', 'x.py'], cmd, 19001), false);
    const spec = gatewayLaunchSpec(input({ gatewayCommand: cmd }));
    assert.equal(isGatewayArgv([spec.program, ...spec.args], cmd, 19001), true, 'what the spec launches');
  });
});
