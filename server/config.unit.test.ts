import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, nextDistDir } from './config';

describe('NEXT_DIST_DIR', () => {
  it("defaults to Next's own .next, so npm start finds npm run build's output", () => {
    assert.equal(nextDistDir({}), '.next');
    assert.equal(nextDistDir({ NEXT_DIST_DIR: '' }), '.next');
    assert.equal(loadConfig({}).NEXT_DIST_DIR, '.next');
  });

  it('takes a directory inside the project', () => {
    assert.equal(nextDistDir({ NEXT_DIST_DIR: '.test-data/next/e2e' }), '.test-data/next/e2e');
    assert.equal(loadConfig({ NEXT_DIST_DIR: 'build/next' }).NEXT_DIST_DIR, 'build/next');
  });

  it('refuses one outside it, or public/ (Next serves that directory as it is)', () => {
    for (const bad of ['/tmp/next', '../next', 'a/../../b', 'public'])
      assert.throws(() => nextDistDir({ NEXT_DIST_DIR: bad }), ConfigError, bad);
    assert.throws(() => loadConfig({ NEXT_DIST_DIR: '/tmp/next' }), /NEXT_DIST_DIR/);
  });

  it('needs no secrets, unlike the whole configuration in production (next build reads it)', () => {
    assert.equal(nextDistDir({ NODE_ENV: 'production', NEXT_DIST_DIR: '.next' }), '.next');
    assert.throws(() => loadConfig({ NODE_ENV: 'production' }), /CLAWS_SECRET_KEYS/);
  });
});
