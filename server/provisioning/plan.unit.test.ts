import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClawState } from '../../projections/claws';
import { backoffMs, isForwardStep, nextAction } from './plan';

const claw = (over: Partial<ClawState>): ClawState =>
  ({ status: 'requested', agentRunning: false, bucket: null, miniPort: null, ...over }) as ClawState;

describe('nextAction', () => {
  it('provisions forward from the projected state', () => {
    assert.equal(nextAction(claw({ status: 'requested' })), 'allocate');
    assert.equal(nextAction(claw({ status: 'provisioning', miniPort: 1 })), 'start_agent');
    assert.equal(
      nextAction(claw({ status: 'provisioning', miniPort: 1, agentRunning: true })),
      'create_bucket',
    );
    assert.equal(
      nextAction(claw({ status: 'provisioning', miniPort: 1, agentRunning: true, bucket: 'b' })),
      'wait_ready',
    );
    assert.equal(nextAction(claw({ status: 'active', miniPort: 1, agentRunning: true, bucket: 'b' })), null);
  });

  it('compensates a failure: stop the gateway, then free the port, and keeps the bucket', () => {
    assert.equal(
      nextAction(claw({ status: 'failed', miniPort: 1, agentRunning: true, bucket: 'b' })),
      'stop_agent',
    );
    assert.equal(nextAction(claw({ status: 'failed', miniPort: 1, bucket: 'b' })), 'release');
    assert.equal(nextAction(claw({ status: 'failed', bucket: 'b' })), null);
  });

  it('deletes in order: gateway, bucket, port, then the claw', () => {
    assert.equal(
      nextAction(claw({ status: 'deleting', miniPort: 1, agentRunning: true, bucket: 'b' })),
      'stop_agent',
    );
    assert.equal(nextAction(claw({ status: 'deleting', miniPort: 1, bucket: 'b' })), 'delete_bucket');
    assert.equal(nextAction(claw({ status: 'deleting', miniPort: 1 })), 'release');
    assert.equal(nextAction(claw({ status: 'deleting' })), 'finish_delete');
    assert.equal(nextAction(claw({ status: 'deleted' })), null);
  });

  it('fails a claw only on forward steps', () => {
    assert.equal(isForwardStep('wait_ready'), true);
    assert.equal(isForwardStep('stop_agent'), false);
    assert.equal(isForwardStep('delete_bucket'), false);
  });
});

describe('backoffMs', () => {
  it('grows exponentially with jitter between half and all of the ceiling, and is capped', () => {
    assert.equal(
      backoffMs(1, 1000, 60_000, () => 0),
      500,
    );
    assert.equal(
      backoffMs(1, 1000, 60_000, () => 1),
      1000,
    );
    assert.equal(
      backoffMs(3, 1000, 60_000, () => 1),
      4000,
    );
    assert.equal(
      backoffMs(20, 1000, 60_000, () => 1),
      60_000,
    );
    const samples = Array.from({ length: 50 }, () => backoffMs(4, 100, 10_000));
    assert.ok(samples.every((s) => s >= 400 && s <= 800));
    assert.ok(new Set(samples).size > 1, 'jittered');
  });
});
