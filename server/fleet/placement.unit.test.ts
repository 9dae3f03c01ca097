import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { portSlots } from '../../events/mini';
import {
  effectiveCapacity,
  isEligible,
  lowestFreePort,
  OPENCLAW_PORT_SPAN,
  rankMinis,
  tunnelHostnameFor,
} from './placement';

const mini = (hostname: string, allocated: number, capacity: number, extra: object = {}) => ({
  hostname,
  allocated,
  capacity,
  status: 'online' as const,
  cordoned: false,
  memoryMb: null as number | null,
  clawMemoryMb: null as number | null,
  ...extra,
});

describe('placement', () => {
  it('only places on online, uncordoned Minis below capacity', () => {
    assert.equal(isEligible(mini('a', 0, 1)), true);
    assert.equal(isEligible(mini('a', 1, 1)), false);
    assert.equal(isEligible(mini('a', 0, 1, { cordoned: true })), false);
    assert.equal(isEligible(mini('a', 0, 1, { status: 'offline' })), false);
    assert.equal(isEligible(mini('a', 0, 1, { status: 'removed' })), false);
  });

  it('spreads: most free slots first, hostname breaks ties', () => {
    const ranked = rankMinis([
      mini('c', 5, 10),
      mini('b', 1, 10),
      mini('a', 1, 10),
      mini('full', 3, 3),
      mini('x', 0, 9, { cordoned: true }),
    ]);
    assert.deepEqual(
      ranked.map((m) => m.hostname),
      ['a', 'b', 'c'],
    );
  });

  it('weighs memory: a Mini takes no more claws than its memory holds, once its agent reported it', () => {
    const sized = (allocated: number, memoryMb: number | null, clawMemoryMb: number | null) =>
      mini('m', allocated, 10, { memoryMb, clawMemoryMb });
    // 8 GB, 2 GB kept for the system, 1.5 GB per claw: 4 claws, not the 10 slots.
    assert.equal(effectiveCapacity(sized(0, 8192, 1536)), 4);
    assert.equal(isEligible(sized(3, 8192, 1536)), true);
    assert.equal(isEligible(sized(4, 8192, 1536)), false);
    // Not reported yet, or no per-claw memory set: counted by slots alone.
    assert.equal(effectiveCapacity(sized(0, null, 1536)), 10);
    assert.equal(effectiveCapacity(sized(0, 65536, null)), 10);
    // Slots still bound a large Mini; a tiny one holds none.
    assert.equal(effectiveCapacity(sized(0, 65536, 1024)), 10);
    assert.equal(effectiveCapacity(sized(0, 1024, 1024)), 0);
    // Spread by what is really free.
    const ranked = rankMinis([
      mini('big-slots-small-memory', 0, 10, { memoryMb: 4096, clawMemoryMb: 1024 }),
      mini('roomy', 0, 4),
    ]);
    assert.deepEqual(
      ranked.map((m) => m.hostname),
      ['roomy', 'big-slots-small-memory'],
    );
  });

  it('takes the lowest free port in the range', () => {
    const range = { start: 100, end: 105 };
    assert.equal(lowestFreePort(range, []), 100);
    assert.equal(lowestFreePort(range, [100, 101, 103]), 102);
    assert.equal(lowestFreePort({ start: 100, end: 102 }, [100, 101, 102]), null);
    assert.equal(lowestFreePort({ start: 100, end: 100 }, [99, 101]), 100);
    assert.equal(lowestFreePort(range, [100], [101, 102]), 103);
  });

  it('with a stride, gives every claw a whole block that overlaps no other', () => {
    const range = { start: 20000, end: 20359, stride: 120 };
    assert.equal(lowestFreePort(range, []), 20000);
    assert.equal(lowestFreePort(range, [20000]), 20120);
    assert.equal(lowestFreePort(range, [20000, 20120]), 20240);
    // A block must fit in the range: 20240 + 119 = 20359 does, nothing after it.
    assert.equal(lowestFreePort(range, [20000, 20120, 20240]), null);
    // A claw placed off the grid (under an older stride) blocks every base within a stride of it.
    assert.equal(lowestFreePort(range, [20005]), 20240);
    // A port another process holds anywhere in a block rules that block out.
    assert.equal(lowestFreePort(range, [], [20011]), 20120);
    assert.equal(lowestFreePort(range, [], [20119, 20120]), 20240);
  });

  it('never hands out two overlapping blocks, whatever the stride and the order', () => {
    for (const stride of [1, 2, 7, 111, 120]) {
      const range = { start: 24000, end: 24000 + stride * 9 + (stride > 1 ? stride - 2 : 0), stride };
      const bases: number[] = [];
      for (let p = lowestFreePort(range, bases); p !== null; p = lowestFreePort(range, bases)) bases.push(p);
      assert.equal(bases.length, portSlots(range.start, range.end, stride));
      for (const a of bases) {
        assert.ok(a + stride - 1 <= range.end, `block at ${a} leaves the range`);
        for (const b of bases) if (a !== b) assert.ok(Math.abs(a - b) >= stride, `${a} and ${b} overlap`);
      }
    }
  });

  it('counts the blocks a range holds', () => {
    assert.equal(portSlots(20000, 20359, 120), 3);
    assert.equal(portSlots(20000, 20358, 120), 2);
    assert.equal(portSlots(100, 105, 1), 6);
    assert.equal(portSlots(100, 99, 1), 0);
    // The real gateway's derived ports reach base + 110: a stride below that would overlap.
    assert.equal(OPENCLAW_PORT_SPAN, 111);
  });

  it('names each claw its own tunnel hostname', () => {
    assert.equal(tunnelHostnameFor('abc', 'claws.example.com'), 'claw-abc.claws.example.com');
  });
});
