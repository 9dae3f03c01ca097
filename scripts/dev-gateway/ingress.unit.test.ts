import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attributeUpgrade } from './ingress';

describe('dev gateway ingress', () => {
  it('counts a direct loopback connection as local, and keeps its Origin', () => {
    assert.deepEqual(attributeUpgrade('127.0.0.1', {}, []), { ok: true, local: true, origin: undefined });
    assert.deepEqual(attributeUpgrade('::ffff:127.0.0.1', { origin: 'http://x' }, []), {
      ok: true,
      local: true,
      origin: 'http://x',
    });
    assert.deepEqual(attributeUpgrade('203.0.113.5', {}, []), { ok: true, local: false, origin: undefined });
  });

  it('refuses forwarding headers from an untrusted proxy with HTTP 403 proxy_attribution_required', () => {
    const a = attributeUpgrade('127.0.0.1', { 'x-forwarded-for': '203.0.113.5' }, []);
    assert.equal(a.ok, false);
    assert.ok(!a.ok && a.response.startsWith('HTTP/1.1 403 Forbidden\r\n'));
    assert.ok(!a.ok && a.response.includes('"type":"proxy_attribution_required"'));
  });

  it('lets a trusted proxy forward, and then the client is remote', () => {
    assert.deepEqual(attributeUpgrade('::ffff:127.0.0.1', { forwarded: 'for=203.0.113.5' }, ['127.0.0.1']), {
      ok: true,
      local: false,
      origin: undefined,
    });
  });
});
