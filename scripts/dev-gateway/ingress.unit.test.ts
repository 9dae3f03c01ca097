import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attributeUpgrade } from './ingress';

describe('dev gateway ingress', () => {
  it('counts a direct loopback connection as local, and keeps its Origin', () => {
    assert.deepEqual(attributeUpgrade('127.0.0.1', {}, []), {
      ok: true,
      local: true,
      origin: undefined,
      kind: 'direct-local',
      clientIp: '127.0.0.1',
    });
    const withOrigin = attributeUpgrade('::ffff:127.0.0.1', { origin: 'http://x' }, []);
    assert.ok(withOrigin.ok && withOrigin.local && withOrigin.origin === 'http://x');
    assert.deepEqual(attributeUpgrade('203.0.113.5', {}, []), {
      ok: true,
      local: false,
      origin: undefined,
      kind: 'direct-remote',
      clientIp: '203.0.113.5',
    });
  });

  it('refuses forwarding headers from an untrusted proxy with HTTP 403 proxy_attribution_required', () => {
    for (const headers of [
      { 'x-forwarded-for': '203.0.113.5' },
      { 'x-real-ip': '1.2.3.4' },
      { forwarded: 'for=x' },
    ]) {
      const a = attributeUpgrade('127.0.0.1', headers, []);
      assert.ok(!a.ok && a.response.startsWith('HTTP/1.1 403 Forbidden\r\n'));
      assert.ok(!a.ok && a.response.includes('"type":"proxy_attribution_required"'));
    }
    // Cloudflare's own headers are no forwarding headers to the gateway.
    assert.ok(attributeUpgrade('127.0.0.1', { 'cf-connecting-ip': '203.0.113.5' }, []).ok);
  });

  it('behind a trusted proxy, the client is the rightmost hop that is neither loopback nor trusted', () => {
    const a = attributeUpgrade(
      '::ffff:127.0.0.1',
      { 'x-forwarded-for': '198.51.100.7, 10.77.0.2, 127.0.0.1' },
      ['127.0.0.1'],
    );
    assert.ok(a.ok && !a.local && a.kind === 'trusted-proxy' && a.clientIp === '10.77.0.2');
    const skipsTrusted = attributeUpgrade('127.0.0.1', { 'x-forwarded-for': '10.77.0.2, 10.0.0.9' }, [
      '127.0.0.1',
      '10.0.0.9',
    ]);
    assert.ok(skipsTrusted.ok && skipsTrusted.clientIp === '10.77.0.2');
  });

  it('refuses a trusted proxy that names no client, or only a loopback one', () => {
    for (const headers of [{ forwarded: 'for=203.0.113.5' }, { 'x-forwarded-for': '127.0.0.1, ::1' }]) {
      assert.equal(attributeUpgrade('127.0.0.1', headers, ['127.0.0.1']).ok, false);
    }
    // Without forwarding headers a loopback peer is local even when it is a trusted proxy (the agent's own checks).
    const own = attributeUpgrade('127.0.0.1', {}, ['127.0.0.1']);
    assert.ok(own.ok && own.local && own.kind === 'direct-local');
  });
});
