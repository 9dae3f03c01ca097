import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FailureError } from '../failure';
import {
  assertObjectKey,
  assertObjectPrefix,
  DEFAULT_PRESIGN_SEC,
  isObjectKey,
  MAX_PRESIGN_SEC,
  presignLifetime,
} from './types';

const permanent = (e: unknown) => e instanceof FailureError && e.kind === 'permanent';

describe('object keys', () => {
  it('accepts keys of the small alphabet, up to 512 characters', () => {
    for (const key of [
      'a',
      'backups/2024-05-01T10.00.00Z/state.tar.gz',
      '.hidden',
      'a_b-C.9/x',
      'x'.repeat(512),
    ])
      assert.equal(isObjectKey(key), true, key);
  });

  it('refuses traversal, empty segments, a leading slash and other characters', () => {
    for (const key of [
      '',
      '/a',
      'a/',
      'a//b',
      '..',
      '../a',
      'a/../b',
      'a/..',
      './a',
      'a/./b',
      'a b',
      'a\\b',
      'a%2Fb',
      'a?b',
      'ä',
      'a\nb',
      'x'.repeat(513),
    ]) {
      assert.equal(isObjectKey(key), false, JSON.stringify(key));
      assert.throws(() => assertObjectKey(key), permanent);
    }
  });

  it('allows listing prefixes that end part-way or in a slash, not ones that climb', () => {
    for (const prefix of ['', 'backups/', 'backups/2024-', 'b'])
      assert.doesNotThrow(() => assertObjectPrefix(prefix));
    for (const prefix of ['/', '../', 'a//', 'a/../', 'a b'])
      assert.throws(() => assertObjectPrefix(prefix), permanent);
  });
});

describe('presign lifetime', () => {
  it('is 15 minutes unless told, at most an hour, whole seconds', () => {
    assert.equal(presignLifetime(), DEFAULT_PRESIGN_SEC);
    assert.equal(DEFAULT_PRESIGN_SEC, 900);
    assert.equal(presignLifetime({ expiresInSec: 60 }), 60);
    assert.equal(presignLifetime({ expiresInSec: MAX_PRESIGN_SEC }), 3600);
    for (const expiresInSec of [0, -1, 3601, 1.5, Number.NaN])
      assert.throws(() => presignLifetime({ expiresInSec }), permanent);
  });
});
