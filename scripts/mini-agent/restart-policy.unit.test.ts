import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { afterUnexpectedExit } from './restart-policy';

const tuning = { stableMs: 60_000, maxQuickCrashes: 3, restartBackoffMs: 1000, restartBackoffMaxMs: 3000 };

describe('restart policy', () => {
  it('restarts quick crashes with a doubling backoff, up to the maximum', () => {
    assert.deepEqual(afterUnexpectedExit({ quickCrashes: 0, wasReady: false, upMs: 10 }, tuning), {
      action: 'restart',
      quickCrashes: 1,
      delayMs: 1000,
    });
    assert.deepEqual(afterUnexpectedExit({ quickCrashes: 1, wasReady: true, upMs: 10 }, tuning), {
      action: 'restart',
      quickCrashes: 2,
      delayMs: 2000,
    });
    assert.deepEqual(
      afterUnexpectedExit({ quickCrashes: 3, wasReady: false, upMs: 10 }, { ...tuning, maxQuickCrashes: 10 }),
      { action: 'restart', quickCrashes: 4, delayMs: 3000 },
    );
  });

  it('gives up after maxQuickCrashes in a row', () => {
    assert.deepEqual(afterUnexpectedExit({ quickCrashes: 2, wasReady: false, upMs: 10 }, tuning), {
      action: 'fail',
      quickCrashes: 3,
    });
  });

  it('starts a new streak after a gateway that was ready stayed up stableMs', () => {
    assert.deepEqual(afterUnexpectedExit({ quickCrashes: 2, wasReady: true, upMs: 60_000 }, tuning), {
      action: 'restart',
      quickCrashes: 1,
      delayMs: 1000,
    });
    // Up as long, but never ready: still a quick crash.
    assert.equal(
      afterUnexpectedExit({ quickCrashes: 2, wasReady: false, upMs: 60_000 }, tuning).action,
      'fail',
    );
  });
});
