import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decider } from '../tests/fixtures/decider';
import {
  backoffMs,
  decideBackup,
  decideDeletion,
  decideExit,
  decideReadiness,
  decideRequest,
  decideRestart,
  decideRestore,
  decideRetention,
  decideRetry,
  decideStart,
  decideStop,
  decideSighting,
  decideStepFailure,
  evolveClaw,
  foldClaw,
  isForwardStep,
  nextStep,
  type ClawEvent,
  type ClawState,
} from './claw';
import type { Envelope } from './types';

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

  it('derives pending work from the next step', () => {
    v = 0;
    const failed = foldClaw(
      [requested, { type: 'ProvisioningFailed', data: { step: 'allocate', error: 'no capacity' } }].map((e) =>
        at(e as ClawEvent),
      ),
    )!;
    assert.equal(failed.workPending, false);
    assert.equal(nextStep({ ...failed, miniPort: 3 }), 'release');
  });
});

// A started gateway is one that may run (AgentStarted comes after MiniAllocated).
const claw = (over: Partial<ClawState>): ClawState =>
  ({
    status: 'requested',
    agentRunning: false,
    gatewayMayRun: over.agentRunning ?? false,
    bucket: null,
    miniPort: null,
    ...over,
  }) as ClawState;

describe('nextStep', () => {
  it('provisions forward from the projected state', () => {
    assert.equal(nextStep(claw({ status: 'requested' })), 'allocate');
    assert.equal(nextStep(claw({ status: 'provisioning', miniPort: 1 })), 'start_agent');
    assert.equal(
      nextStep(claw({ status: 'provisioning', miniPort: 1, agentRunning: true })),
      'create_bucket',
    );
    assert.equal(
      nextStep(claw({ status: 'provisioning', miniPort: 1, agentRunning: true, bucket: 'b' })),
      'wait_ready',
    );
    assert.equal(nextStep(claw({ status: 'active', miniPort: 1, agentRunning: true, bucket: 'b' })), null);
  });

  it('compensates a failure: stop the gateway, then free the port, and keeps the bucket', () => {
    assert.equal(
      nextStep(claw({ status: 'failed', miniPort: 1, agentRunning: true, bucket: 'b' })),
      'stop_agent',
    );
    assert.equal(nextStep(claw({ status: 'failed', miniPort: 1, bucket: 'b' })), 'release');
    assert.equal(nextStep(claw({ status: 'failed', bucket: 'b' })), null);
  });

  it('deletes in order: gateway, bucket, port, then the claw', () => {
    assert.equal(
      nextStep(claw({ status: 'deleting', miniPort: 1, agentRunning: true, bucket: 'b' })),
      'stop_agent',
    );
    assert.equal(nextStep(claw({ status: 'deleting', miniPort: 1, bucket: 'b' })), 'delete_bucket');
    assert.equal(nextStep(claw({ status: 'deleting', miniPort: 1 })), 'release');
    assert.equal(nextStep(claw({ status: 'deleting' })), 'finish_delete');
    assert.equal(nextStep(claw({ status: 'deleted' })), null);
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

// ─── Decisions, given/when/then ────────────────────────────────────────────────────────────────

const given = decider<ClawEvent, ClawState>(evolveClaw);
const allocated: ClawEvent = {
  type: 'MiniAllocated',
  data: { miniId, port: 20001, tunnelHostname: 'claw-x.t' },
};
const started: ClawEvent = { type: 'AgentStarted', data: { miniId, port: 20001 } };
const bucketed: ClawEvent = { type: 'BucketCreated', data: { bucket: 'claws-abc' } };
const activated: ClawEvent = { type: 'ClawActive', data: { warmupMs: 10 } };
const failedForGood: ClawEvent = {
  type: 'ProvisioningFailed',
  data: { step: 'wait_ready', error: 'never ready' },
};
const deletion: ClawEvent = { type: 'ClawDeletionRequested', data: { requestedBy: 'u' } };
const policy = { maxAttempts: 3, backoffBaseMs: 1000, backoffMaxMs: 60_000 };
const now = new Date(1_800_000_000_000);
const half = () => 0.5;

describe('decideRequest', () => {
  it('requests a claw whose slug is free', () => {
    given()
      .when(() => decideRequest(requested.data as ClawRequestData, { slugTaken: false }))
      .then([requested]);
  });
  it('refuses a slug a live claw of the organization holds', () => {
    given()
      .when(() => decideRequest(requested.data as ClawRequestData, { slugTaken: true }))
      .thenRefuses(/slug "a" already exists/);
  });
});

type ClawRequestData = Parameters<typeof decideRequest>[0];

describe('decideDeletion', () => {
  it('deletes an active claw', () => {
    given(requested, allocated, started, bucketed, activated)
      .when((c) => decideDeletion(c, 'u'))
      .then([deletion]);
  });
  it('changes nothing when the claw is already being deleted', () => {
    given(requested, deletion)
      .when((c) => decideDeletion(c, 'u'))
      .then([]);
  });
  it('refuses a claw that does not exist or was deleted', () => {
    given()
      .when((c) => decideDeletion(c, 'u'))
      .thenRefuses(/Claw not found/);
    given(requested, deletion, { type: 'ClawDeleted', data: {} })
      .when((c) => decideDeletion(c, 'u'))
      .thenRefuses(/Claw not found/);
  });
});

describe('decideRetry', () => {
  const retry: ClawEvent = { type: 'ClawRetryRequested', data: { requestedBy: 'u' } };
  it('retries a failed claw once its compensation is done', () => {
    given(
      requested,
      allocated,
      started,
      failedForGood,
      { type: 'AgentStopped', data: { miniId } },
      {
        type: 'AllocationReleased',
        data: { miniId, port: 20001 },
      },
    )
      .when((c) => decideRetry(c, 'u'))
      .then([retry]);
  });
  it('waits while the failed attempt is still being cleaned up', () => {
    given(requested, allocated, started, failedForGood)
      .when((c) => decideRetry(c, 'u'))
      .thenRefuses(/still being cleaned up/);
  });
  it('refuses a claw that did not fail', () => {
    given(requested, allocated)
      .when((c) => decideRetry(c, 'u'))
      .thenRefuses(/Only a failed claw can be retried \(this one is provisioning\)/);
  });
});

describe('decideStepFailure', () => {
  const fail = (message: string, kind: 'retryable' | 'permanent' = 'retryable') => ({ kind, message });
  it('schedules another attempt with backoff after a retryable failure', () => {
    given(requested, allocated)
      .when((c) => decideStepFailure(c!, 'start_agent', fail('agent returned 503'), policy, now, half))
      .then([
        {
          type: 'ProvisioningStepFailed',
          data: {
            step: 'start_agent',
            attempt: 1,
            error: 'agent returned 503',
            retryAt: new Date(now.getTime() + 750).toISOString(),
          },
        },
      ]);
  });
  it('counts attempts of the same step and gives a forward step up at the limit', () => {
    const failedOnce: ClawEvent = {
      type: 'ProvisioningStepFailed',
      data: { step: 'start_agent', attempt: 2, error: 'x', retryAt: now.toISOString() },
    };
    given(requested, allocated, failedOnce)
      .when((c) => decideStepFailure(c!, 'start_agent', fail('agent returned 503'), policy, now, half))
      .then([{ type: 'ProvisioningFailed', data: { step: 'start_agent', error: 'agent returned 503' } }]);
  });
  it('gives up at once on a permanent failure of a forward step', () => {
    given(requested, allocated)
      .when((c) =>
        decideStepFailure(c!, 'start_agent', fail('409 port in use', 'permanent'), policy, now, half),
      )
      .then([{ type: 'ProvisioningFailed', data: { step: 'start_agent', error: '409 port in use' } }]);
  });
  it('never gives a cleanup step up, even on a permanent failure', () => {
    given(requested, allocated, started, deletion)
      .when((c) =>
        decideStepFailure(c!, 'stop_agent', fail('agent unreachable', 'permanent'), policy, now, half),
      )
      .then([
        {
          type: 'ProvisioningStepFailed',
          data: {
            step: 'stop_agent',
            attempt: 1,
            error: 'agent unreachable',
            retryAt: new Date(now.getTime() + 750).toISOString(),
          },
        },
      ]);
  });
  it('records nothing for steps that only write the log', () => {
    for (const step of ['allocate', 'release', 'finish_delete'] as const)
      given(requested)
        .when((c) => decideStepFailure(c!, step, fail('database away'), policy, now, half))
        .then([]);
  });
});

describe('decideReadiness', () => {
  const provisioning = given(requested, allocated, started, bucketed).state!;
  const soon = new Date(provisioning.updatedAt.getTime() + 1000);
  const late = new Date(provisioning.updatedAt.getTime() + 61_000);
  const granted = { ok: true as const, deviceId: 'ab'.repeat(32) };
  const activeNow = {
    type: 'ClawActive',
    data: { warmupMs: soon.getTime() - provisioning.createdAt.getTime() },
  };
  it('activates a running gateway that grants chat, recording the pairing the Mini performed', () => {
    const r = decideReadiness(
      provisioning,
      { agent: 'running', paired: true, access: granted },
      soon,
      60_000,
    );
    assert.deepEqual(r, {
      next: 'active',
      events: [{ type: 'GatewayPaired', data: { deviceId: 'ab'.repeat(32) } }, activeNow],
    });
  });
  it('waits while the Mini confirms a pairing the gateway already honours, so the log records it', () => {
    const seen = { agent: 'running', paired: false, approving: true, access: granted } as const;
    assert.deepEqual(decideReadiness(provisioning, seen, soon, 60_000), { next: 'wait' });
    const late = new Date(provisioning.updatedAt.getTime() + 61_000);
    assert.equal(decideReadiness(provisioning, seen, late, 60_000).next, 'failed');
  });
  it('records no pairing where none happened (a loopback gateway lets the control plane in)', () => {
    const r = decideReadiness(
      provisioning,
      { agent: 'running', paired: false, access: granted },
      soon,
      60_000,
    );
    assert.deepEqual(r, { next: 'active', events: [activeNow] });
  });
  it('waits for a gateway that is starting or not granting yet, until the deadline', () => {
    assert.deepEqual(decideReadiness(provisioning, { agent: 'starting' }, soon, 60_000), { next: 'wait' });
    const pending = {
      agent: 'running' as const,
      paired: false,
      access: { ok: false as const, retry: 'soon' as const, reason: 'pairing' },
    };
    assert.deepEqual(decideReadiness(provisioning, pending, soon, 60_000), { next: 'wait' });
    const r = decideReadiness(provisioning, pending, late, 60_000);
    assert.equal(r.next, 'failed');
    assert.match(
      r.next === 'failed' ? r.failure.message : '',
      /did not become ready within 61 s \(pairing\)/,
    );
  });
  it('fails for good when the gateway refuses the claw token', () => {
    const refused = {
      agent: 'running' as const,
      paired: false,
      access: { ok: false as const, retry: 'never' as const, reason: 'token refused' },
    };
    assert.deepEqual(decideReadiness(provisioning, refused, soon, 60_000), {
      next: 'failed',
      restart: false,
      failure: { kind: 'permanent', message: 'token refused' },
    });
  });
  it('asks for a restart when the agent no longer runs the gateway', () => {
    const r = decideReadiness(provisioning, { agent: 'unknown' }, soon, 60_000);
    assert.equal(r.next === 'failed' && r.restart, true);
  });
});

describe('a gateway that may run', () => {
  it('is stopped after a failure even when its start was never recorded (a lost reply)', () => {
    const failedAtStart = given(requested, allocated, {
      type: 'ProvisioningFailed',
      data: { step: 'start_agent', error: 'Agent POST /claws timed out after 5000 ms' },
    }).state!;
    assert.equal(failedAtStart.agentRunning, false);
    assert.equal(failedAtStart.gatewayMayRun, true);
    assert.equal(nextStep(failedAtStart), 'stop_agent');
    const stopped = given(
      requested,
      allocated,
      { type: 'ProvisioningFailed', data: { step: 'start_agent', error: 'x' } },
      { type: 'AgentStopped', data: { miniId } },
    ).state!;
    assert.equal(nextStep(stopped), 'release');
  });

  it('is given up on a lost Mini, so deletion can finish', () => {
    const abandoned = given(requested, allocated, started, bucketed, activated, deletion, {
      type: 'GatewayAbandoned',
      data: { miniId, reason: 'Its Mini is lost' },
    }).state!;
    assert.equal(abandoned.gatewayMayRun, false);
    assert.equal(nextStep(abandoned), 'delete_bucket');
  });

  it('gives a refused port back and goes to be placed again', () => {
    const refused = given(requested, allocated, {
      type: 'PortRefused',
      data: { miniId, port: 20001, reason: 'Port 20001 is in use by another process on this Mini' },
    }).state!;
    assert.equal(refused.status, 'requested');
    assert.equal(refused.miniPort, null);
    assert.equal(refused.miniId, null);
    assert.equal(refused.gatewayMayRun, false);
    assert.equal(nextStep(refused), 'allocate');
  });
});

describe('decideSighting', () => {
  const active = [requested, allocated, started, bucketed, activated];
  const degradedBy = (reason: string): ClawEvent => ({ type: 'ClawDegraded', data: { reason } });
  it('leaves a running gateway of an active claw alone', () => {
    given(...active)
      .when((c) => decideSighting(c!, { agent: 'running' }).events)
      .then([]);
  });
  it('degrades an active claw whose gateway is missing, failed or stopped, and restarts it', () => {
    for (const [seen, reason] of [
      [{ agent: 'absent' }, 'The gateway was not running on its Mini'],
      [
        { agent: 'failed', error: 'crashed 5 times in a row' },
        'The gateway failed: crashed 5 times in a row',
      ],
      [{ agent: 'stopped' }, 'The gateway was stopped on its Mini'],
    ] as const) {
      const c = given(...active).state!;
      assert.deepEqual(decideSighting(c, seen), { events: [degradedBy(reason)], restart: true });
    }
  });
  it('says so when the Mini cannot be asked, without a restart', () => {
    const c = given(...active).state!;
    assert.deepEqual(decideSighting(c, { mini: 'offline' }), {
      events: [degradedBy('Its Mini is offline')],
      restart: false,
    });
  });
  it('does not repeat itself while degraded, keeps restarting, and recovers once the gateway runs', () => {
    const degraded = given(...active, degradedBy('The gateway was not running on its Mini')).state!;
    assert.equal(degraded.status, 'degraded');
    assert.equal(nextStep(degraded), null, 'the worker leaves it to the reconciler');
    assert.deepEqual(decideSighting(degraded, { agent: 'absent' }), { events: [], restart: true });
    assert.deepEqual(decideSighting(degraded, { agent: 'running' }), {
      events: [{ type: 'ClawRecovered', data: {} }],
      restart: false,
    });
    const recovered = given(...active, degradedBy('x'), { type: 'ClawRecovered', data: {} }).state!;
    assert.equal(recovered.status, 'active');
    assert.equal(recovered.lastError, null);
  });
  it('ignores claws the worker still owns', () => {
    given(requested, allocated)
      .when((c) => decideSighting(c!, { agent: 'absent' }).events)
      .then([]);
    given(requested, allocated, started, deletion)
      .when((c) => decideSighting(c!, { agent: 'failed' }).events)
      .then([]);
  });
});

describe('decideStepFailure of a stop', () => {
  const fail = { kind: 'retryable' as const, message: 'Agent DELETE failed: ECONNREFUSED' };
  const unconfirmed: ClawEvent[] = [
    requested,
    allocated,
    { type: 'ProvisioningFailed', data: { step: 'start_agent', error: 'ECONNREFUSED' } },
  ];
  const stopFailed = (attempt: number): ClawEvent => ({
    type: 'ProvisioningStepFailed',
    data: { step: 'stop_agent', attempt, error: fail.message, retryAt: now.toISOString() },
  });
  it('abandons a stop of an unconfirmed start once out of attempts', () => {
    given(...unconfirmed, stopFailed(1), stopFailed(2))
      .when((c) => decideStepFailure(c!, 'stop_agent', fail, policy, now, half))
      .then([
        {
          type: 'GatewayAbandoned',
          data: {
            miniId,
            reason: `Its start was never confirmed and the Mini could not be asked to stop it: ${fail.message}`,
          },
        },
      ]);
  });
  it('keeps retrying the stop of a gateway the agent confirmed running', () => {
    const c = given(requested, allocated, started, deletion, stopFailed(1), stopFailed(2)).state!;
    const events = decideStepFailure(c, 'stop_agent', fail, policy, now, half);
    assert.deepEqual(
      events.map((e) => e.type),
      ['ProvisioningStepFailed'],
    );
  });
});

describe('stop, start and restart', () => {
  const stopAsked: ClawEvent = { type: 'ClawStopRequested', data: { requestedBy: 'u' } };
  const stopped: ClawEvent = { type: 'ClawStopped', data: {} };
  const startAsked: ClawEvent = { type: 'ClawStartRequested', data: { requestedBy: 'u' } };
  const running = [requested, allocated, started, bucketed, activated] as const;

  it('stops a running claw, then has nothing more to do once the Mini stopped it', () => {
    given(...running)
      .when((c) => decideStop(c, 'u'))
      .then([stopAsked]);
    const stopping = given(...running, stopAsked).state!;
    assert.equal(stopping.status, 'stopping');
    assert.equal(nextStep(stopping), 'pause_agent');
    const after = given(...running, stopAsked, stopped).state!;
    assert.deepEqual(
      [
        after.status,
        after.agentRunning,
        after.gatewayMayRun,
        after.miniPort,
        after.bucket,
        after.workPending,
      ],
      ['stopped', false, true, 20001, 'claws-abc', false],
      'the claw keeps its port, its bucket and its place on the Mini (a deletion still stops it there)',
    );
    assert.equal(nextStep({ ...after, status: 'deleting' }), 'stop_agent');
  });

  it('asking to stop again changes nothing; a claw that is not running refuses, saying why', () => {
    given(...running, stopAsked)
      .when((c) => decideStop(c, 'u'))
      .then([]);
    given(...running, stopAsked, stopped)
      .when((c) => decideStop(c, 'u'))
      .then([]);
    given(requested, allocated)
      .when((c) => decideStop(c, 'u'))
      .thenRefuses(/Only a running claw can be stopped \(this one is provisioning\)/);
  });

  it('starts a stopped claw through start_agent and wait_ready again, counting its warm-up from the start', () => {
    given(...running, stopAsked, stopped)
      .when((c) => decideStart(c, 'u'))
      .then([startAsked]);
    const starting = given(...running, stopAsked, stopped, startAsked).state!;
    assert.equal(starting.status, 'provisioning');
    assert.equal(nextStep(starting), 'start_agent');
    const again = given(...running, stopAsked, stopped, startAsked, started).state!;
    assert.equal(nextStep(again), 'wait_ready', 'the bucket is kept');
    const r = decideReadiness(
      again,
      { agent: 'running', paired: false, access: { ok: true, deviceId: 'd' } },
      new Date(again.startedAt!.getTime() + 1500),
      60_000,
    );
    assert.ok(r.next === 'active');
    assert.deepEqual(r.events.at(-1), { type: 'ClawActive', data: { warmupMs: 1500 } });
  });

  it('start is a no-op for a running claw and refused while it is still stopping', () => {
    given(...running)
      .when((c) => decideStart(c, 'u'))
      .then([]);
    given(...running, stopAsked)
      .when((c) => decideStart(c, 'u'))
      .thenRefuses(/still stopping/);
  });

  it('restarts only a running claw on a Mini', () => {
    assert.doesNotThrow(() => decideRestart(given(...running).state));
    assert.throws(
      () => decideRestart(given(...running, stopAsked, stopped).state),
      /Only a running claw can be restarted \(this one is stopped\)/,
    );
    assert.throws(() => decideRestart(null), /Claw not found/);
  });

  it('leaves a stopped claw to itself when the reconciler looks', () => {
    const s = given(...running, stopAsked, stopped).state!;
    assert.deepEqual(decideSighting(s, { agent: 'stopped' }), { events: [], restart: false });
  });
});

describe('backups, restore and retention', () => {
  const running = [requested, allocated, started, bucketed, activated] as const;
  const backupId = '33333333-3333-4333-8333-333333333333';
  const taken: ClawEvent = {
    type: 'ClawBackupTaken',
    data: {
      backupId,
      objectKey: `backups/x-${backupId}.tar.gz`,
      bytes: 2048,
      sha256: 'ab'.repeat(32),
      kind: 'manual',
      takenAt: '2026-12-02T10:00:00.000Z',
      requestedBy: 'u',
    },
  };
  const restoreAsked: ClawEvent = { type: 'ClawRestoreRequested', data: { backupId, requestedBy: 'u' } };
  const stopped: ClawEvent[] = [
    { type: 'ClawStopRequested', data: { requestedBy: 'u' } },
    { type: 'ClawStopped', data: {} },
  ];

  it('backs up a running or stopped claw that has a bucket, and nothing without one', () => {
    assert.equal(decideBackup(given(...running).state).id, clawId);
    assert.equal(decideBackup(given(...running, ...stopped).state).status, 'stopped');
    assert.throws(() => decideBackup(given(requested, allocated).state), /no state to back up yet/);
    assert.throws(() => decideBackup(null), /Claw not found/);
    assert.deepEqual(given(...running, taken).state!.lastBackupAt, new Date('2026-12-02T10:00:00.000Z'));
  });

  it('restores a running claw through restore_backup, then confirms it ready again', () => {
    given(...running, taken)
      .when((c) => decideRestore(c, { backupId, clawId }, 'u'))
      .then([restoreAsked]);
    const restoring = given(...running, taken, restoreAsked).state!;
    assert.deepEqual(
      [restoring.status, restoring.restoreBackupId, restoring.restoreResumes, nextStep(restoring)],
      ['restoring', backupId, true, 'restore_backup'],
    );
    const restored = given(...running, taken, restoreAsked, {
      type: 'ClawRestored',
      data: { backupId, sha256: 'ab'.repeat(32), takenAt: '2026-12-02T10:00:00.000Z' },
    }).state!;
    assert.deepEqual(
      [restored.status, restored.agentRunning, restored.restoreBackupId, nextStep(restored)],
      ['provisioning', true, null, 'wait_ready'],
      'the agent started the restored gateway: the worker confirms it the way it confirms a start',
    );
  });

  it('a stopped claw is restored and stays stopped', () => {
    const after = given(...running, ...stopped, taken, restoreAsked, {
      type: 'ClawRestored',
      data: { backupId, sha256: 'ab'.repeat(32), takenAt: '2026-12-02T10:00:00.000Z' },
    }).state!;
    assert.deepEqual([after.status, after.workPending], ['stopped', false]);
  });

  it('refuses a backup of another claw, or none, and a claw in the middle of something', () => {
    given(...running)
      .when((c) => decideRestore(c, null, 'u'))
      .thenRefuses(/Backup not found/);
    given(...running)
      .when((c) => decideRestore(c, { backupId, clawId: miniId }, 'u'))
      .thenRefuses(/Backup not found/);
    given(...running, taken, restoreAsked)
      .when((c) => decideRestore(c, { backupId, clawId }, 'u'))
      .thenRefuses(/A restoring claw cannot be backed up/);
  });

  it('gives a restore up for good or after its attempts, keeping the state the claw had', () => {
    const restoring = given(...running, taken, restoreAsked).state!;
    const refused = decideStepFailure(
      restoring,
      'restore_backup',
      { kind: 'permanent', message: 'sha256 differs' },
      policy,
      now,
      half,
    );
    assert.deepEqual(refused, [
      { type: 'ClawRestoreFailed', data: { backupId, error: 'The restore was given up: sha256 differs' } },
    ]);
    const failed = given(...running, taken, restoreAsked, refused[0]!).state!;
    assert.deepEqual(
      [failed.status, failed.agentRunning, failed.lastError?.includes('sha256 differs')],
      ['provisioning', true, true],
    );
    const retried = decideStepFailure(
      restoring,
      'restore_backup',
      { kind: 'retryable', message: 'agent offline' },
      policy,
      now,
      half,
    );
    assert.equal(retried[0]!.type, 'ProvisioningStepFailed');
  });

  it('retention keeps the newest N and the newest of recent days and weeks, and prunes the rest', () => {
    const day = 86_400_000;
    const t0 = Date.parse('2026-12-02T12:00:00.000Z');
    // Hourly for the last 3 days, plus one 20 days ago and one 90 days ago.
    const backups = [
      ...Array.from({ length: 72 }, (_, i) => ({
        backupId: `h${i}`,
        objectKey: `k${i}`,
        takenAt: new Date(t0 - i * 3_600_000),
      })),
      { backupId: 'old20', objectKey: 'o20', takenAt: new Date(t0 - 20 * day) },
      { backupId: 'old90', objectKey: 'o90', takenAt: new Date(t0 - 90 * day) },
    ];
    const pruned = decideRetention(backups, { keepLast: 5, keepDaily: 7, keepWeekly: 4 }, new Date(t0));
    const kept = backups.filter((b) => !pruned.includes(b)).map((b) => b.backupId);
    assert.deepEqual(kept.slice(0, 5), ['h0', 'h1', 'h2', 'h3', 'h4'], 'the newest five');
    assert.ok(kept.includes('old20'), 'the newest of a week within the last four');
    assert.ok(!kept.includes('old90'), 'older than every rule');
    // 72 hours back from noon touch four days: the newest of each (today's is also the newest of
    // all), and the newest of the previous week is one of those.
    assert.deepEqual(kept.slice(5), ['h13', 'h37', 'h61', 'old20']);
    assert.deepEqual(decideRetention([], { keepLast: 1, keepDaily: 0, keepWeekly: 0 }, new Date(t0)), []);
  });
});

describe('decideExit', () => {
  const running = [requested, allocated, started, bucketed, activated] as const;
  const exit = { code: 1, signal: null, at: '2026-12-02T10:00:00.000Z', crashesInARow: 1, gaveUp: false };
  it('records an exit the agent reports once, and a later one again', () => {
    given(...running)
      .when((c) => decideExit(c!, exit))
      .then([{ type: 'GatewayExited', data: exit }]);
    given(...running, { type: 'GatewayExited', data: exit })
      .when((c) => decideExit(c!, exit))
      .then([]);
    const later = { ...exit, at: '2026-12-02T10:00:05.000Z', crashesInARow: 2 };
    given(...running, { type: 'GatewayExited', data: exit })
      .when((c) => decideExit(c!, later))
      .then([{ type: 'GatewayExited', data: later }]);
    given(...running)
      .when((c) => decideExit(c!, undefined))
      .then([]);
  });
});
