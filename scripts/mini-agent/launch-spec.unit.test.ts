import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TOOL_POLICY } from './gateway-config';
import { gatewayLaunchSpec, isGatewayArgv, NEVER_PASSED, type GatewayLaunchInput } from './launch-spec';

const TOKEN = 'gateway-token-0123456789abcdef';

const input = (over: Partial<GatewayLaunchInput> = {}): GatewayLaunchInput => ({
  claw: { port: 19001, gatewayToken: TOKEN },
  gatewayCommand: ['/opt/node24/bin/node', '/opt/openclaw/openclaw.mjs'],
  trustedProxies: [],
  clawDir: '/var/claws/claw-1',
  agentEnv: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' },
  ...over,
});

/** What `npm run dev` hands a local agent: the server's whole environment, secrets included. */
const AGENT_ENV = {
  PATH: '/usr/bin:/bin',
  LANG: 'en_US.UTF-8',
  TZ: 'Europe/Paris',
  HOME: '/root',
  USER: 'root',
  TMPDIR: '/tmp',
  MINI_AGENT_TOKEN: 'agent-secret-0123456789',
  MINI_AGENT_STATE_DIR: '/var/claws',
  DATABASE_URL: 'postgres://claws:hunter2@db/claws',
  CLAWS_SECRET_KEYS: 'k1:c2VjcmV0',
  CLAWS_DEV_GATEWAY_STARTUP_MS: '300',
  OPENCLAW_GATEWAY_TOKEN: 'the-agent-s-own-token',
  OPENCLAW_GATEWAY_PASSWORD: 'hunter2',
  NODE_OPTIONS: '--require /tmp/evil.js',
  AWS_SECRET_ACCESS_KEY: 'aws-secret',
  UNSET: undefined,
};

describe('gateway launch spec', () => {
  it('runs the configured program with the real gateway command line: port, loopback, token auth', () => {
    const spec = gatewayLaunchSpec(input());
    assert.equal(spec.program, '/opt/node24/bin/node');
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
  });

  it('hands the token over in the config file only: not in argv, not in the environment', () => {
    const spec = gatewayLaunchSpec(input({ agentEnv: AGENT_ENV }));
    assert.ok(![spec.program, ...spec.args].some((a) => a.includes(TOKEN)));
    assert.ok(!spec.args.includes('--token'));
    assert.ok(!Object.values(spec.env).some((v) => v.includes(TOKEN)));
    assert.equal(spec.env.OPENCLAW_GATEWAY_TOKEN, undefined, 'neither the claw’s token nor the agent’s');
    assert.equal(spec.config.file, '/var/claws/claw-1/openclaw.json');
    assert.equal(spec.env.OPENCLAW_CONFIG_PATH, spec.config.file);
    const gateway = spec.config.content.gateway as { auth: unknown; port: number; bind: string };
    assert.deepEqual(gateway.auth, { mode: 'token', token: TOKEN });
    assert.equal(gateway.port, 19001);
    assert.equal(gateway.bind, 'loopback');
  });

  it('gives the gateway an allowlisted environment, nothing else of the agent’s', () => {
    const spec = gatewayLaunchSpec(input({ agentEnv: AGENT_ENV }));
    assert.deepEqual(Object.keys(spec.env).sort(), [
      'HOME',
      'LANG',
      'OPENCLAW_CONFIG_PATH',
      'OPENCLAW_CONFIG_READONLY',
      'OPENCLAW_DISABLE_BONJOUR',
      'OPENCLAW_NO_AUTO_UPDATE',
      'OPENCLAW_STATE_DIR',
      'PATH',
      'TMPDIR',
      'TZ',
    ]);
    assert.equal(spec.env.LANG, 'en_US.UTF-8');
    assert.equal(spec.env.TZ, 'Europe/Paris');
    assert.equal(spec.env.HOME, '/var/claws/claw-1/home', 'its own HOME, not the agent’s');
    assert.equal(spec.env.TMPDIR, '/var/claws/claw-1/tmp', 'its own temp directory, not the shared /tmp');
    assert.equal(spec.env.OPENCLAW_CONFIG_READONLY, '1');
    const all = JSON.stringify(spec.env);
    for (const secret of ['agent-secret', 'hunter2', 'c2VjcmV0', 'aws-secret', 'evil.js'])
      assert.ok(!all.includes(secret), secret);
  });

  it('puts the gateway’s own Node first on PATH, so its helpers run on it', () => {
    assert.equal(gatewayLaunchSpec(input()).env.PATH, '/opt/node24/bin:/usr/bin:/bin');
    const bare = gatewayLaunchSpec(input({ gatewayCommand: ['openclaw'], agentEnv: {} }));
    assert.equal(bare.env.PATH, '/usr/local/bin:/usr/bin:/bin');
    const dup = gatewayLaunchSpec(input({ agentEnv: { PATH: '/opt/node24/bin:/usr/bin' } }));
    assert.equal(dup.env.PATH, '/opt/node24/bin:/usr/bin');
  });

  it('hands down the names the operator lists, never the agent’s or the control plane’s secrets', () => {
    const spec = gatewayLaunchSpec(
      input({
        agentEnv: AGENT_ENV,
        passEnv: ['CLAWS_DEV_GATEWAY_STARTUP_MS', 'MINI_AGENT_TOKEN', 'DATABASE_URL', 'NOT_SET'],
      }),
    );
    assert.equal(spec.env.CLAWS_DEV_GATEWAY_STARTUP_MS, '300');
    assert.equal(spec.env.MINI_AGENT_TOKEN, undefined);
    assert.equal(spec.env.DATABASE_URL, undefined);
    assert.ok(!('NOT_SET' in spec.env));
    for (const name of [
      'MINI_AGENT_X',
      'DATABASE_URL',
      'CLAWS_SECRET_KEYS',
      'R2_SECRET_ACCESS_KEY',
      'OPENCLAW_GATEWAY_TOKEN',
    ])
      assert.ok(NEVER_PASSED.test(name), name);
    assert.ok(!NEVER_PASSED.test('CLAWS_DEV_GATEWAY_STARTUP_MS'));
    // A listed name cannot override what the spec sets.
    const over = gatewayLaunchSpec(input({ agentEnv: { HOME: '/root', PATH: '/x' }, passEnv: ['HOME'] }));
    assert.equal(over.env.HOME, '/var/claws/claw-1/home');
  });

  it('runs as the claw’s user, in its home, when it has one', () => {
    const user = { name: 'claw-0123456789ab', uid: 995, gid: 993 };
    const spec = gatewayLaunchSpec(input({ user }));
    assert.equal(spec.uid, 995);
    assert.equal(spec.gid, 993);
    assert.equal(spec.env.USER, 'claw-0123456789ab');
    assert.equal(spec.env.LOGNAME, 'claw-0123456789ab');
    assert.equal(spec.cwd, '/var/claws/claw-1/home');
    const none = gatewayLaunchSpec(input());
    assert.equal(none.uid, undefined);
    assert.equal(none.gid, undefined);
    assert.equal(none.env.USER, undefined, 'not the agent’s name either');
  });

  it('keeps everything of the claw in its directory: home, state, workspace, logs, temp', () => {
    const spec = gatewayLaunchSpec(input());
    assert.deepEqual(spec.dirs, {
      root: '/var/claws/claw-1',
      home: '/var/claws/claw-1/home',
      state: '/var/claws/claw-1/state',
      workspace: '/var/claws/claw-1/workspace',
      logs: '/var/claws/claw-1/logs',
      tmp: '/var/claws/claw-1/tmp',
    });
    assert.equal(spec.logFile, '/var/claws/claw-1/gateway.log');
    assert.equal(spec.env.OPENCLAW_STATE_DIR, '/var/claws/claw-1/state');
    assert.deepEqual(spec.config.content.logging, { file: '/var/claws/claw-1/logs/openclaw.log' });
    const agents = spec.config.content.agents as { defaults: { workspace: string } };
    assert.equal(agents.defaults.workspace, '/var/claws/claw-1/workspace');
    assert.deepEqual(spec.config.content.tools, TOOL_POLICY);
  });

  it('writes trusted proxies into the gateway’s config, for the real and the dev gateway alike', () => {
    const none = gatewayLaunchSpec(input());
    assert.equal((none.config.content.gateway as Record<string, unknown>).trustedProxies, undefined);
    const spec = gatewayLaunchSpec(input({ trustedProxies: ['127.0.0.1', '::1'] }));
    assert.deepEqual((spec.config.content.gateway as Record<string, unknown>).trustedProxies, [
      '127.0.0.1',
      '::1',
    ]);
    assert.equal(spec.env.CLAWS_DEV_GATEWAY_TRUSTED_PROXIES, undefined);
  });

  it('refuses an empty gateway command', () => {
    assert.throws(() => gatewayLaunchSpec(input({ gatewayCommand: [] })), /empty/);
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
