import assert from 'node:assert/strict';
import http from 'node:http';
import { Socket } from 'node:net';
import { describe, it } from 'node:test';
import {
  CLIENT_ADDRESS_HEADER,
  clientAddressOf,
  normalizeAddress,
  throttleKeyOfAddress,
} from '../limits/client-address';
import { contentSecurityPolicy, hardenRequest } from './security-headers';

const settings = { production: true, https: true, CLAWS_TRUSTED_PROXY_HOPS: 1 };

function request(headers: Record<string, string>, remoteAddress = '203.0.113.5') {
  const socket = new Socket();
  Object.defineProperty(socket, 'remoteAddress', { value: remoteAddress });
  const req = new http.IncomingMessage(socket);
  req.headers = { ...headers };
  const res = new http.ServerResponse(req);
  return { req, res };
}

describe('security headers', () => {
  it('a nonce CSP that refuses framing, plugins, foreign scripts and eval in production', () => {
    const csp = contentSecurityPolicy('abc123', settings);
    assert.match(csp, /script-src 'self' 'nonce-abc123' 'strict-dynamic'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /object-src 'none'/);
    assert.match(csp, /upgrade-insecure-requests/);
    assert.doesNotMatch(csp, /unsafe-eval|script-src[^;]*unsafe-inline/);
    assert.match(contentSecurityPolicy('x', { production: false, https: false }), /'unsafe-eval'/);
  });

  it('go on every response, with a fresh nonce that Next finds on the request', () => {
    const a = request({});
    const b = request({});
    hardenRequest(a.req, a.res, settings);
    hardenRequest(b.req, b.res, settings);
    const csp = String(a.res.getHeader('content-security-policy'));
    assert.equal(a.req.headers['content-security-policy'], csp);
    assert.notEqual(csp, b.res.getHeader('content-security-policy'));
    assert.equal(a.res.getHeader('x-content-type-options'), 'nosniff');
    assert.equal(a.res.getHeader('referrer-policy'), 'same-origin');
    assert.equal(a.res.getHeader('x-frame-options'), 'DENY');
    assert.match(String(a.res.getHeader('permissions-policy')), /camera=\(\)/);
    assert.match(String(a.res.getHeader('strict-transport-security')), /max-age=/);
  });

  it('stamp the socket address over whatever the client claims; a forwarded header only when trusted', () => {
    const spoof = request({ [CLIENT_ADDRESS_HEADER]: '1.2.3.4', 'x-forwarded-for': '5.6.7.8' });
    hardenRequest(spoof.req, spoof.res, settings);
    assert.equal(spoof.req.headers[CLIENT_ADDRESS_HEADER], '203.0.113.5');
    const proxied = request({ 'x-forwarded-for': 'forged, 198.51.100.9' }, '10.0.0.2');
    hardenRequest(proxied.req, proxied.res, { ...settings, CLAWS_CLIENT_ADDRESS_HEADER: 'x-forwarded-for' });
    assert.equal(proxied.req.headers[CLIENT_ADDRESS_HEADER], '198.51.100.9', 'the entry our proxy appended');
  });
});

describe('client addresses', () => {
  it('normalize mapped IPv4, brackets and ports; garbage is unknown', () => {
    assert.equal(normalizeAddress('::ffff:192.0.2.1'), '192.0.2.1');
    assert.equal(normalizeAddress('[2001:DB8::1]:443'), '2001:db8::1');
    assert.equal(normalizeAddress('192.0.2.1:8080'), '192.0.2.1');
    assert.equal(normalizeAddress('<script>'), null);
    assert.equal(clientAddressOf({}, undefined, { CLAWS_TRUSTED_PROXY_HOPS: 1 }), 'unknown');
  });

  it('count IPv6 by /64', () => {
    assert.equal(throttleKeyOfAddress('2001:db8:a:b::1'), '2001:db8:a:b::/64');
    assert.equal(throttleKeyOfAddress('2001:db8:a:b:ffff:1:2:3'), '2001:db8:a:b::/64');
    assert.notEqual(throttleKeyOfAddress('2001:db8:a:c::1'), throttleKeyOfAddress('2001:db8:a:b::1'));
    assert.equal(throttleKeyOfAddress('192.0.2.1'), '192.0.2.1');
  });
});
