import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isEligible, lowestFreePort, rankMinis, tunnelHostnameFor } from './placement';

const mini = (hostname: string, allocated: number, capacity: number, extra: object = {}) => ({
  hostname,
  allocated,
  capacity,
  status: 'online' as const,
  cordoned: false,
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

  it('takes the lowest free port in the range', () => {
    assert.equal(lowestFreePort(100, 105, []), 100);
    assert.equal(lowestFreePort(100, 105, [100, 101, 103]), 102);
    assert.equal(lowestFreePort(100, 102, [100, 101, 102]), null);
    assert.equal(lowestFreePort(100, 100, [99, 101]), 100);
  });

  it('names each claw its own tunnel hostname', () => {
    assert.equal(tunnelHostnameFor('abc', 'claws.example.com'), 'claw-abc.claws.example.com');
  });
});
