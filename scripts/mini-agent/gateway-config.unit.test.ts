import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gatewayConfig, overlay, TOOL_POLICY } from './gateway-config';

const input = {
  port: 19001,
  token: 'gateway-token-0123456789abcdef',
  trustedProxies: ['127.0.0.1'],
  workspace: '/claws/c1/workspace',
  logFile: '/claws/c1/logs/openclaw.log',
};

describe('gateway config', () => {
  it('sets the token, loopback, the claw’s log and workspace, and a conservative tool policy', () => {
    const c = gatewayConfig(input);
    assert.deepEqual(c.gateway, {
      mode: 'local',
      port: 19001,
      bind: 'loopback',
      auth: { mode: 'token', token: input.token },
      trustedProxies: ['127.0.0.1'],
    });
    assert.deepEqual(c.logging, { file: '/claws/c1/logs/openclaw.log' });
    assert.deepEqual(c.agents, { defaults: { workspace: '/claws/c1/workspace', sandbox: { mode: 'off' } } });
    assert.deepEqual(c.tools, TOOL_POLICY);
  });

  it('denies every tool that runs commands or touches files, and keeps file tools in the workspace', () => {
    for (const group of ['group:runtime', 'group:fs', 'group:automation', 'group:nodes', 'group:ui'])
      assert.ok((TOOL_POLICY.deny as readonly string[]).includes(group), group);
    assert.equal(TOOL_POLICY.fs.workspaceOnly, true);
    assert.equal(TOOL_POLICY.exec.security, 'deny');
    assert.equal(TOOL_POLICY.elevated.enabled, false);
  });

  it('builds on the operator’s base, which cannot loosen the agent’s settings', () => {
    const base = {
      models: { providers: { mock: { baseUrl: 'http://127.0.0.1:1/v1' } } },
      agents: {
        defaults: { model: { primary: 'mock/m' }, workspace: '/elsewhere', sandbox: { mode: 'all' } },
      },
      gateway: { auth: { token: 'the-base-s-token' }, bind: 'lan', controlUi: { enabled: false } },
      logging: { level: 'debug', file: '/tmp/shared.log' },
      tools: { profile: 'full', deny: [], fs: { workspaceOnly: false }, alsoAllow: ['web_search'] },
    };
    const c = gatewayConfig({ ...input, base });
    assert.deepEqual(c.models, base.models, 'kept');
    const agents = c.agents as { defaults: Record<string, unknown> };
    assert.deepEqual(agents.defaults.model, { primary: 'mock/m' }, 'kept');
    assert.equal(agents.defaults.workspace, '/claws/c1/workspace');
    assert.deepEqual(agents.defaults.sandbox, { mode: 'off' });
    const gateway = c.gateway as Record<string, unknown>;
    assert.deepEqual(gateway.auth, { mode: 'token', token: input.token });
    assert.equal(gateway.bind, 'loopback');
    assert.deepEqual(gateway.controlUi, { enabled: false }, 'kept');
    assert.deepEqual(c.logging, { level: 'debug', file: '/claws/c1/logs/openclaw.log' });
    const tools = c.tools as Record<string, unknown>;
    assert.equal(tools.profile, 'messaging');
    assert.deepEqual(tools.deny, TOOL_POLICY.deny);
    assert.deepEqual(tools.fs, { workspaceOnly: true });
    assert.deepEqual(tools.alsoAllow, ['web_search'], 'an addition the deny list still bounds');
    assert.equal(
      (base.gateway.auth as { token: string }).token,
      'the-base-s-token',
      'the base is not modified',
    );
  });

  it('overlays objects key by key and replaces everything else', () => {
    assert.deepEqual(overlay({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, e: 2 }), {
      a: { b: 1, c: [3] },
      d: 1,
      e: 2,
    });
    assert.deepEqual(overlay({ a: 1 }, { a: { b: 2 } }), { a: { b: 2 } });
    assert.deepEqual(overlay([1], { a: 1 }), { a: 1 });
  });
});
