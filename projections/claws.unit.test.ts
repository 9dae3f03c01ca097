import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClawEvent } from '../events/catalog';
import { allocationDelta, evolveClaw, foldClaw, hasPendingWork, type Envelope } from './claws';
import { evolveMini } from './minis';

const clawId = '11111111-1111-4111-8111-111111111111';
const miniId = '22222222-2222-4222-8222-222222222222';
let v = 0;
const at = (e: ClawEvent): Envelope<ClawEvent> => ({
  ...e,
  streamVersion: ++v,
  createdAt: new Date(1_700_000_000_000 + v * 1000),
});
const requested: ClawEvent = {
  type: 'ClawRequested',
  data: {
    clawId,
    orgId: miniId,
    slug: 'a',
    name: 'A',
    target: 'mac-mini',
    requestedBy: 'u',
    tokenFingerprint: 'fp_12345678',
  },
};

describe('evolveClaw', () => {
  it('walks the happy path to active and back to deleted', () => {
    v = 0;
    const events = [
      requested,
      { type: 'MiniAllocated', data: { miniId, port: 20001, tunnelHostname: 'claw-x.t' } },
      { type: 'AgentStarted', data: { miniId, port: 20001 } },
      { type: 'BucketCreated', data: { bucket: 'claws-abc' } },
      { type: 'ClawActive', data: { warmupMs: 1234 } },
    ].map((e) => at(e as ClawEvent));
    const active = foldClaw(events)!;
    assert.equal(active.status, 'active');
    assert.equal(active.miniPort, 20001);
    assert.equal(active.warmupMs, 1234);
    assert.equal(active.workPending, false);
    assert.equal(active.version, 5);
    assert.deepEqual(active.activeAt, events[4]!.createdAt);
    const deleted = foldClaw(
      [
        { type: 'ClawDeletionRequested', data: { requestedBy: 'u' } },
        { type: 'AgentStopped', data: { miniId } },
        { type: 'BucketDeleted', data: { bucket: 'claws-abc' } },
        { type: 'AllocationReleased', data: { miniId, port: 20001 } },
        { type: 'ClawDeleted', data: {} },
      ].map((e) => at(e as ClawEvent)),
      active,
    )!;
    assert.equal(deleted.status, 'deleted');
    assert.equal(deleted.miniPort, null);
    assert.equal(deleted.bucket, null);
    assert.equal(deleted.agentRunning, false);
    assert.equal(deleted.workPending, false);
  });

  it('counts step failures, resets them on progress, and keeps work pending after a failure until compensated', () => {
    v = 0;
    let s = evolveClaw(null, at(requested));
    s = evolveClaw(
      s,
      at({
        type: 'ProvisioningStepFailed',
        data: { step: 'allocate', attempt: 1, error: 'x', retryAt: new Date(0).toISOString() },
      }),
    );
    assert.equal(s.attempts, 1);
    assert.equal(s.status, 'requested');
    s = evolveClaw(s, at({ type: 'MiniAllocated', data: { miniId, port: 1, tunnelHostname: 'h' } }));
    assert.equal(s.attempts, 0);
    assert.equal(s.retryAt, null);
    s = evolveClaw(s, at({ type: 'AgentStarted', data: { miniId, port: 1 } }));
    s = evolveClaw(s, at({ type: 'ProvisioningFailed', data: { step: 'wait_ready', error: 'never ready' } }));
    assert.equal(s.status, 'failed');
    assert.equal(s.workPending, true, 'compensation still has to stop the agent and free the port');
    s = evolveClaw(s, at({ type: 'AgentStopped', data: { miniId } }));
    s = evolveClaw(s, at({ type: 'AllocationReleased', data: { miniId, port: 1 } }));
    assert.equal(s.workPending, false);
    assert.equal(s.lastError, 'never ready');
  });

  it('refuses events before ClawRequested and a second ClawRequested', () => {
    v = 0;
    assert.throws(() => evolveClaw(null, at({ type: 'ClawDeleted', data: {} })), /before ClawRequested/);
    const s = evolveClaw(null, at(requested));
    assert.throws(() => evolveClaw(s, at(requested)), /already requested/);
  });

  it('is pure: the previous state is not modified', () => {
    v = 0;
    const s = evolveClaw(null, at(requested));
    const copy = structuredClone(s);
    evolveClaw(s, at({ type: 'ClawDeletionRequested', data: { requestedBy: 'u' } }));
    assert.deepEqual(s, copy);
  });

  it('derives pending work and allocation deltas', () => {
    assert.equal(hasPendingWork({ status: 'failed', agentRunning: false, miniPort: null }), false);
    assert.equal(hasPendingWork({ status: 'failed', agentRunning: false, miniPort: 3 }), true);
    assert.deepEqual(
      allocationDelta({ type: 'MiniAllocated', data: { miniId, port: 1, tunnelHostname: 'h' } }),
      { miniId, delta: 1 },
    );
    assert.deepEqual(allocationDelta({ type: 'AllocationReleased', data: { miniId, port: 1 } }), {
      miniId,
      delta: -1,
    });
    assert.equal(allocationDelta({ type: 'ClawDeleted', data: {} }), null);
  });
});

describe('evolveMini', () => {
  it('registers, cordons, goes offline and back, and updates only given fields', () => {
    const e = (type: string, data: object, n: number) =>
      ({ type, data, streamVersion: n, createdAt: new Date(n * 1000) }) as Parameters<typeof evolveMini>[1];
    let m = evolveMini(
      null,
      e(
        'MiniRegistered',
        {
          miniId,
          hostname: 'h',
          agentUrl: 'http://a',
          tunnelSuffix: 't',
          portRangeStart: 1,
          portRangeEnd: 9,
          capacity: 3,
          agentTokenFingerprint: 'fp_1234567',
        },
        1,
      ),
    );
    assert.equal(m.status, 'online');
    m = evolveMini(m, e('MiniCordoned', {}, 2));
    assert.equal(m.cordoned, true);
    m = evolveMini(m, e('MiniWentOffline', { error: 'timeout' }, 3));
    assert.equal(m.status, 'offline');
    m = evolveMini(m, e('MiniCameOnline', {}, 4));
    assert.equal(m.status, 'online');
    assert.deepEqual(m.lastSeenAt, new Date(4000));
    m = evolveMini(m, e('MiniUpdated', { capacity: 5, agentTokenFingerprint: 'fp_new12345' }, 5));
    assert.equal(m.capacity, 5);
    assert.equal(m.hostname, 'h');
    assert.equal(m.version, 5);
  });
});
