import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allocationDelta } from './mini-allocation';

const miniId = '22222222-2222-4222-8222-222222222222';

describe('allocationDelta', () => {
  it('takes a slot on MiniAllocated and gives it back on AllocationReleased', () => {
    assert.deepEqual(
      allocationDelta({ type: 'MiniAllocated', data: { miniId, port: 1, tunnelHostname: 'h' } }),
      {
        miniId,
        delta: 1,
      },
    );
    assert.deepEqual(allocationDelta({ type: 'AllocationReleased', data: { miniId, port: 1 } }), {
      miniId,
      delta: -1,
    });
    assert.equal(allocationDelta({ type: 'ClawDeleted', data: {} }), null);
  });
});
