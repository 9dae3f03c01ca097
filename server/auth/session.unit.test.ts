import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  clearedSessionCookie,
  hashSessionToken,
  newSessionToken,
  parseCookies,
  DEFAULT_SESSION_POLICY,
  HOST_SESSION_COOKIE,
  SESSION_COOKIE,
  sessionCookie,
  sessionTokenFromCookieHeader,
} from './session';

describe('session tokens', () => {
  it('are 32 random bytes, base64url', () => {
    const tokens = new Set(Array.from({ length: 1000 }, newSessionToken));
    assert.equal(tokens.size, 1000);
    for (const t of tokens) {
      assert.match(t, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(Buffer.from(t, 'base64url').length, 32);
    }
  });

  it('are stored as their SHA-256 only', () => {
    const t = newSessionToken();
    const h = hashSessionToken(t);
    assert.match(h, /^[0-9a-f]{64}$/);
    assert.equal(hashSessionToken(t), h);
    assert.notEqual(hashSessionToken(newSessionToken()), h);
    assert.ok(!h.includes(t));
  });
});

describe('session cookie', () => {
  const expires = new Date(Date.now() + DEFAULT_SESSION_POLICY.lifetimeMs);

  it('is httpOnly, SameSite=Lax, Path=/, with an expiry; Secure only in production', () => {
    const dev = sessionCookie('tok', expires, false);
    const attrs = dev.split('; ');
    assert.equal(attrs[0], `${SESSION_COOKIE}=tok`);
    for (const a of ['Path=/', 'HttpOnly', 'SameSite=Lax', `Expires=${expires.toUTCString()}`])
      assert.ok(attrs.includes(a), a);
    const maxAge = Number(attrs.find((a) => a.startsWith('Max-Age='))!.slice(8));
    assert.ok(Math.abs(maxAge - DEFAULT_SESSION_POLICY.lifetimeMs / 1000) <= 2, String(maxAge));
    assert.ok(!attrs.includes('Secure'));
    const prod = sessionCookie('tok', expires, true).split('; ');
    assert.ok(prod.includes('Secure'));
    // __Host-: the browser keeps it only with Secure, Path=/ and no Domain.
    assert.equal(prod[0], `${HOST_SESSION_COOKIE}=tok`);
    assert.ok(!prod.some((a) => a.startsWith('Domain')));
  });

  it('is cleared with an empty value and Max-Age=0, same attributes', () => {
    const c = clearedSessionCookie(true).split('; ');
    assert.equal(c[0], `${HOST_SESSION_COOKIE}=`);
    for (const a of ['Path=/', 'HttpOnly', 'SameSite=Lax', 'Max-Age=0', 'Secure'])
      assert.ok(c.includes(a), a);
  });

  it('is found in a Cookie header among others; first of a repeated name wins', () => {
    assert.equal(sessionTokenFromCookieHeader(`a=1; ${SESSION_COOKIE}=abc; b=2`), 'abc');
    assert.equal(sessionTokenFromCookieHeader(`${SESSION_COOKIE}=first; ${SESSION_COOKIE}=second`), 'first');
    assert.equal(sessionTokenFromCookieHeader(`${SESSION_COOKIE}="quoted"`), 'quoted');
    assert.equal(sessionTokenFromCookieHeader('other=1'), undefined);
    assert.equal(sessionTokenFromCookieHeader(null), undefined);
    assert.equal(sessionTokenFromCookieHeader(''), undefined);
    // In production only the __Host- cookie counts: a plain one may have been planted by a subdomain.
    assert.equal(sessionTokenFromCookieHeader(`${SESSION_COOKIE}=planted`, true), undefined);
    assert.equal(sessionTokenFromCookieHeader(`${HOST_SESSION_COOKIE}=real`, true), 'real');
  });

  it('parses hostile headers without throwing', () => {
    assert.deepEqual({ ...parseCookies('=x; ;;; a; b=%E0%A4%A; c=ok') }, { c: 'ok' });
    assert.equal(parseCookies('__proto__=1; constructor=2').__proto__, '1');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.doesNotThrow(() => parseCookies('x='.repeat(100_000)));
  });
});
