import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decider } from '../tests/fixtures/decider';
import {
  decideCordon,
  decideHealth,
  decideRemoval,
  decideUncordon,
  decideUpdate,
  decidePortBlocked,
  decidePortUnblocked,
  evolveMini,
  findOrphans,
  type MiniEvent,
  type MiniState,
} from './mini';

const miniId = '22222222-2222-4222-8222-222222222222';

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
    assert.equal(m.agentCertFingerprint, null, 'a plain-HTTP Mini pins nothing');
  });

  it('pins the agent certificate at registration and re-pins it on MiniUpdated (re-keying)', () => {
    const first = `sha256:${'1'.repeat(64)}`;
    const second = `sha256:${'2'.repeat(64)}`;
    const e = (type: string, data: object, n: number) =>
      ({ type, data, streamVersion: n, createdAt: new Date(n * 1000) }) as Parameters<typeof evolveMini>[1];
    let m = evolveMini(
      null,
      e(
        'MiniRegistered',
        {
          miniId,
          hostname: 'h',
          agentUrl: 'https://h:7070',
          agentCertFingerprint: first,
          tunnelSuffix: 't',
          portRangeStart: 1,
          portRangeEnd: 9,
          capacity: 3,
          agentTokenFingerprint: 'fp_1234567',
        },
        1,
      ),
    );
    assert.equal(m.agentCertFingerprint, first);
    m = evolveMini(m, e('MiniUpdated', { capacity: 2 }, 2));
    assert.equal(m.agentCertFingerprint, first, 'other changes keep the pin');
    m = evolveMini(m, e('MiniUpdated', { agentCertFingerprint: second }, 3));
    assert.equal(m.agentCertFingerprint, second);
    assert.deepEqual(decideUpdate(m, { agentCertFingerprint: first }, []), [
      { type: 'MiniUpdated', data: { agentCertFingerprint: first } },
    ]);
  });
});

const given = decider<MiniEvent, MiniState>(evolveMini);
const registered: MiniEvent = {
  type: 'MiniRegistered',
  data: {
    miniId,
    hostname: 'mini-1.local',
    agentUrl: 'http://127.0.0.1:7070',
    tunnelSuffix: 't',
    portRangeStart: 20000,
    portRangeEnd: 20009,
    capacity: 4,
    agentTokenFingerprint: 'fp_1234567',
  },
};

describe('Mini decisions', () => {
  it('cordons and uncordons once each', () => {
    given(registered)
      .when((m) => decideCordon(m!, 'disk swap'))
      .then([{ type: 'MiniCordoned', data: { reason: 'disk swap' } }]);
    given(registered, { type: 'MiniCordoned', data: {} })
      .when((m) => decideCordon(m!))
      .then([]);
    given(registered)
      .when((m) => decideUncordon(m!))
      .then([]);
    given(registered, { type: 'MiniCordoned', data: {} })
      .when((m) => decideUncordon(m!))
      .then([{ type: 'MiniUncordoned', data: {} }]);
  });

  it('updates only what changes, within the range and above the claws already there', () => {
    given(registered)
      .when((m) => decideUpdate(m!, { capacity: 6 }, []))
      .then([{ type: 'MiniUpdated', data: { capacity: 6 } }]);
    given(registered)
      .when((m) => decideUpdate(m!, {}, []))
      .then([]);
    given(registered)
      .when((m) => decideUpdate(m!, { capacity: 11 }, []))
      .thenRefuses(/capacity exceeds the port blocks/);
    given(registered)
      .when((m) => decideUpdate(m!, { portRangeEnd: 19999 }, []))
      .thenRefuses(/must not be below/);
    given(registered)
      .when((m) => decideUpdate(m!, { portRangeStart: 20005 }, [20001]))
      .thenRefuses(/Port 20001 is in use and its block would leave the new range/);
    given(registered)
      .when((m) => decideUpdate({ ...m!, allocated: 3 }, { capacity: 2 }, []))
      .thenRefuses(/below the 3 claws already on this Mini/);
  });

  it('keeps every claw its whole port block when the stride or the edge changes', () => {
    // 20000-20009 holds 5 blocks of 2, not 6.
    given(registered)
      .when((m) => decideUpdate(m!, { portStride: 2, capacity: 5 }, []))
      .then([{ type: 'MiniUpdated', data: { portStride: 2, capacity: 5 } }]);
    given(registered)
      .when((m) => decideUpdate(m!, { portStride: 2, capacity: 6 }, []))
      .thenRefuses(/capacity exceeds the port blocks/);
    // Claws on 20000 and 20001 would share ports with a stride of 2.
    given(registered)
      .when((m) => decideUpdate(m!, { portStride: 2, capacity: 2 }, [20000, 20001]))
      .thenRefuses(/Ports 20000 and 20001 are in use less than 2 apart/);
    // The block of the claw on 20009 would end at 20010, past the range.
    given(registered)
      .when((m) => decideUpdate(m!, { portStride: 2, capacity: 2 }, [20009]))
      .thenRefuses(/Port 20009 is in use and its block would leave the new range/);
    given(registered)
      .when((m) => decideUpdate(m!, { edgePort: 20004 }, []))
      .thenRefuses(/edge port must lie outside the port range/);
    given(registered, { type: 'MiniUpdated', data: { edgePort: 8443 } })
      .when((m) => decideUpdate(m!, { edgePort: null }, []))
      .then([{ type: 'MiniUpdated', data: { edgePort: null } }]);
  });

  it('removes only an empty Mini', () => {
    given(registered)
      .when((m) => decideRemoval(m!))
      .then([{ type: 'MiniRemoved', data: {} }]);
    given(registered)
      .when((m) => decideRemoval({ ...m!, allocated: 1 }))
      .thenRefuses(/still runs 1 claw/);
  });

  it('records health transitions only, after enough failures in a row, and loses a Mini offline too long', () => {
    const down = (n: number) => ({ ok: false as const, error: 'timeout', failuresInARow: n });
    const policy = { failuresToOffline: 2, lostAfterMs: 60_000 };
    const wentOfflineAt = 1_700_000_001_000; // the second event of the histories below
    const soon = new Date(wentOfflineAt + 1000);
    const later = new Date(wentOfflineAt + 60_000);
    given(registered)
      .when((m) => decideHealth(m!, { ok: true }, policy, soon))
      .then([]);
    given(registered)
      .when((m) => decideHealth(m!, down(1), policy, soon))
      .then([]);
    given(registered)
      .when((m) => decideHealth(m!, down(2), policy, soon))
      .then([{ type: 'MiniWentOffline', data: { error: 'timeout' } }]);
    const offline: MiniEvent = { type: 'MiniWentOffline', data: { error: 'timeout' } };
    given(registered, offline)
      .when((m) => decideHealth(m!, down(5), policy, soon))
      .then([]);
    given(registered, offline)
      .when((m) => decideHealth(m!, down(5), policy, later))
      .then([{ type: 'MiniLost', data: { offlineForMs: 60_000 } }]);
    given(registered, offline, { type: 'MiniLost', data: { offlineForMs: 60_000 } })
      .when((m) => decideHealth(m!, down(9), policy, later))
      .then([]);
    given(registered, offline)
      .when((m) => decideHealth(m!, { ok: true }, policy, soon))
      .then([{ type: 'MiniCameOnline', data: {} }]);
    given(registered, offline, { type: 'MiniLost', data: { offlineForMs: 60_000 } })
      .when((m) => decideHealth(m!, { ok: true }, policy, later))
      .then([{ type: 'MiniCameOnline', data: {} }]);
  });

  it('blocks a port held by another process once, and unblocks it', () => {
    const blocked: MiniEvent = { type: 'MiniPortBlocked', data: { port: 20003, reason: 'in use' } };
    given(registered)
      .when((m) => decidePortBlocked(m!, 20003, 'in use'))
      .then([blocked]);
    assert.deepEqual(given(registered, blocked).state!.blockedPorts, [20003]);
    given(registered, blocked)
      .when((m) => decidePortBlocked(m!, 20003, 'in use'))
      .then([]);
    given(registered, blocked)
      .when((m) => decidePortUnblocked(m!, 20003))
      .then([{ type: 'MiniPortUnblocked', data: { port: 20003 } }]);
    given(registered)
      .when((m) => decidePortUnblocked(m!, 20003))
      .then([]);
  });
});

describe('findOrphans', () => {
  const a = '11111111-1111-4111-8111-111111111111';
  const b = '33333333-3333-4333-8333-333333333333';
  it('names gateways the log does not hold on this Mini at that port', () => {
    const running = [
      { clawId: a, port: 20000 },
      { clawId: b, port: 20001 },
    ];
    assert.deepEqual(findOrphans(running, [{ id: a, miniPort: 20000 }]), [{ clawId: b, port: 20001 }]);
    assert.deepEqual(
      findOrphans(running, [
        { id: a, miniPort: 20005 },
        { id: b, miniPort: 20001 },
      ]),
      [{ clawId: a, port: 20000 }],
    );
    assert.deepEqual(
      findOrphans(running, [
        { id: a, miniPort: 20000 },
        { id: b, miniPort: 20001 },
      ]),
      [],
    );
  });
});
