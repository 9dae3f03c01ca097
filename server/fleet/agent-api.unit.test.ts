import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { agentPaths, ClawSummary, ErrorResponse, matchClawPath, StartClawRequest } from './agent-api';

describe('Mini agent API contract', () => {
  it('builds claw paths with the id encoded, and reads them back', () => {
    assert.equal(agentPaths.claw('claw/1'), '/claws/claw%2F1');
    assert.equal(agentPaths.clawStatus('claw-1'), '/claws/claw-1/status');
    assert.deepEqual(matchClawPath(agentPaths.claw('claw/1')), { encodedId: 'claw%2F1', route: 'claw' });
    assert.deepEqual(matchClawPath(agentPaths.clawStatus('claw-1')), {
      encodedId: 'claw-1',
      route: 'clawStatus',
    });
    for (const other of [agentPaths.claws, agentPaths.health, '/claws/a/b', '/claws/a/status/x', '/other/a'])
      assert.equal(matchClawPath(other), undefined, other);
  });

  it('validates a start request: claw id, port range, token, device', () => {
    const ok = { clawId: 'claw-1', port: 19001, gatewayToken: 'g'.repeat(16) };
    assert.ok(StartClawRequest.safeParse(ok).success);
    assert.ok(
      StartClawRequest.safeParse({
        ...ok,
        controlPlaneDevice: { deviceId: 'ab12', publicKey: 'MU7O1QDY9CCK-_' },
      }).success,
    );
    for (const bad of [
      { ...ok, clawId: '../etc' },
      { ...ok, port: 80 },
      { ...ok, gatewayToken: 'short' },
      { ...ok, gatewayToken: `${'g'.repeat(16)} space` },
      { ...ok, controlPlaneDevice: { deviceId: 'a b', publicKey: 'k' } },
    ])
      assert.equal(StartClawRequest.safeParse(bad).success, false, JSON.stringify(bad));
  });

  it('a claw summary is its status report plus where it runs', () => {
    const summary = { clawId: 'claw-1', port: 19001, status: 'running', paired: false, restarts: 0 };
    assert.deepEqual(ClawSummary.parse(summary), summary);
    assert.equal(ClawSummary.safeParse({ ...summary, status: 'unknown' }).success, false);
    assert.ok(
      ErrorResponse.safeParse({ ok: false, error: 'x', issues: [{ path: 'port', message: 'm' }] }).success,
    );
  });
});
