import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConcurrencyError, sharedAcrossModuleGraphs } from './errors';

describe('sharedAcrossModuleGraphs', () => {
  it('makes instanceof hold for another copy of the class (a second module graph)', () => {
    const copy = () => {
      class Copy extends Error {}
      sharedAcrossModuleGraphs(Copy, 'TestCopy');
      return Copy;
    };
    const A = copy();
    const B = copy();
    assert.notEqual(A, B);
    assert.ok(new A() instanceof B);
    assert.ok(new B() instanceof A);
    assert.ok(!(new Error() instanceof A));
    assert.ok(!(new ConcurrencyError('s', 1, 2) instanceof A), 'each name is its own brand');
  });
});
