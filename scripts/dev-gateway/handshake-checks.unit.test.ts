import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateDeviceIdentity, signDeviceAuth } from '../../server/gateway/device-identity';
import { checkConnect, HANDSHAKE_CHECKS, type ConnectVerdict } from './handshake-checks';
import type { PairedDevice } from './pairing';

const TOKEN = 'gateway-token-0123456789abcdef';
const NONCE = 'nonce-1';
const NOW = 1_800_000_000_000;

const connect = (over: Record<string, unknown> = {}) => ({
  minProtocol: 4,
  maxProtocol: 4,
  client: { id: 'gateway-client', version: 't', platform: 'linux', mode: 'backend' },
  role: 'operator',
  scopes: ['operator.read'],
  caps: [],
  auth: { token: TOKEN },
  ...over,
});

const check = (
  raw: unknown,
  over: {
    starting?: boolean;
    local?: boolean;
    origin?: string;
    allowedOrigins?: string[];
    paired?: PairedDevice;
  } = {},
): ConnectVerdict =>
  checkConnect(raw, {
    starting: over.starting ?? false,
    conn: { nonce: NONCE, local: over.local ?? true, origin: over.origin },
    gateway: { token: TOKEN, allowedOrigins: over.allowedOrigins ?? [] },
    paired: (id) => (over.paired?.deviceId === id ? over.paired : undefined),
    now: NOW,
  });

/** The check that refused, its error code, details.code and close code. */
const refusedBy = (v: ConnectVerdict) => {
  assert.equal(v.ok, false, 'expected a refusal');
  if (v.ok) throw new Error('unreachable');
  return [v.check, v.refusal.error.code, v.refusal.error.details?.code, v.refusal.closeCode];
};

const identity = generateDeviceIdentity();
const signed = (over: { nonce?: string; signedAt?: number; scopes?: string[] } = {}) =>
  signDeviceAuth(identity, {
    clientId: 'gateway-client',
    clientMode: 'backend',
    role: 'operator',
    scopes: over.scopes ?? ['operator.read'],
    signedAt: over.signedAt ?? NOW,
    token: TOKEN,
    nonce: over.nonce ?? NONCE,
    platform: 'linux',
  });

describe('dev gateway handshake checks', () => {
  it('runs the checks in the real gateway’s order', () => {
    assert.deepEqual(
      HANDSHAKE_CHECKS.map((c) => c.name),
      [
        'protocol',
        'role',
        'client',
        'origin',
        'token',
        'credentials',
        'device-nonce',
        'device-signature-fresh',
        'device-signature',
      ],
    );
  });

  it('accepts a well-formed token connect, and a correctly signed device', () => {
    const v = check(connect());
    assert.ok(v.ok);
    assert.equal(v.handshake.role, 'operator');
    assert.deepEqual(v.handshake.requested, ['operator.read']);
    assert.ok(check(connect({ device: signed() })).ok);
  });

  it('says "gateway starting" (UNAVAILABLE, 1013) before it reads the params', () => {
    const v = check('not even params', { starting: true });
    assert.deepEqual(refusedBy(v), ['gateway-starting', 'UNAVAILABLE', undefined, 1013]);
    assert.ok(!v.ok && v.refusal.error.retryable === true && v.refusal.error.retryAfterMs === 500);
    assert.ok(!v.ok && v.refusal.reason === 'gateway starting');
  });

  it('refuses each broken connect with the real gateway’s error and close code', () => {
    assert.deepEqual(refusedBy(check({ client: {} })), [
      'connect-params',
      'INVALID_REQUEST',
      undefined,
      1008,
    ]);
    assert.deepEqual(refusedBy(check(connect({ minProtocol: 2, maxProtocol: 3 }))), [
      'protocol',
      'INVALID_REQUEST',
      'PROTOCOL_MISMATCH',
      1002,
    ]);
    assert.deepEqual(refusedBy(check(connect({ role: 'root' }))), [
      'role',
      'INVALID_REQUEST',
      undefined,
      1008,
    ]);
    assert.deepEqual(refusedBy(check(connect({ client: { id: 'nobody', mode: 'backend' } }))), [
      'client',
      'INVALID_REQUEST',
      undefined,
      1008,
    ]);
    assert.deepEqual(refusedBy(check(connect({ auth: { token: 'wrong-token' } }))), [
      'token',
      'INVALID_REQUEST',
      'AUTH_TOKEN_MISMATCH',
      1008,
    ]);
    assert.deepEqual(refusedBy(check(connect({ auth: {} }))), [
      'credentials',
      'NOT_PAIRED',
      'DEVICE_IDENTITY_REQUIRED',
      1008,
    ]);
    assert.deepEqual(refusedBy(check(connect({ device: signed({ nonce: 'stale' }) }))), [
      'device-nonce',
      'INVALID_REQUEST',
      'DEVICE_AUTH_NONCE_MISMATCH',
      1008,
    ]);
    assert.deepEqual(refusedBy(check(connect({ device: signed({ signedAt: NOW - 121_000 }) }))), [
      'device-signature-fresh',
      'INVALID_REQUEST',
      'DEVICE_AUTH_SIGNATURE_EXPIRED',
      1008,
    ]);
    assert.deepEqual(refusedBy(check(connect({ device: signed({ scopes: ['operator.admin'] }) }))), [
      'device-signature',
      'INVALID_REQUEST',
      'DEVICE_AUTH_SIGNATURE_INVALID',
      1008,
    ]);
  });

  it('lets the first refusal win', () => {
    const v = check(connect({ minProtocol: 2, maxProtocol: 3, auth: { token: 'wrong-token' } }));
    assert.equal(refusedBy(v)[0], 'protocol');
  });

  it('checks an Origin for any client, and browser clients always', () => {
    const origin = 'http://127.0.0.1:3000';
    assert.ok(check(connect(), { origin }).ok, 'a loopback origin from a local client');
    assert.deepEqual(refusedBy(check(connect(), { origin, local: false })), [
      'origin',
      'INVALID_REQUEST',
      'CONTROL_UI_ORIGIN_NOT_ALLOWED',
      1008,
    ]);
    assert.ok(
      check(connect(), { origin: 'https://claws.example.com', allowedOrigins: ['https://claws.example.com'] })
        .ok,
    );
    const browser = connect({ client: { id: 'webchat', mode: 'webchat' } });
    const v = check(browser);
    assert.equal(refusedBy(v)[0], 'origin');
    assert.ok(!v.ok && v.refusal.error.details?.reason === 'origin missing or invalid');
  });

  it('accepts a paired device’s own device token instead of the shared secret', () => {
    const paired: PairedDevice = {
      deviceId: identity.deviceId,
      publicKey: identity.publicKeyRaw,
      scopes: ['operator.read'],
      clientId: 'gateway-client',
      platform: 'linux',
      deviceToken: 'device-token-1',
      approvedAtMs: NOW,
    };
    const device = signDeviceAuth(identity, {
      clientId: 'gateway-client',
      clientMode: 'backend',
      role: 'operator',
      scopes: ['operator.read'],
      signedAt: NOW,
      token: 'device-token-1',
      nonce: NONCE,
      platform: 'linux',
    });
    const v = check(connect({ auth: { deviceToken: 'device-token-1' }, device }), { paired });
    assert.ok(v.ok);
    assert.equal(v.handshake.known, paired);
    assert.equal(
      refusedBy(check(connect({ auth: { deviceToken: 'someone-else' }, device }), { paired }))[0],
      'credentials',
    );
  });
});
