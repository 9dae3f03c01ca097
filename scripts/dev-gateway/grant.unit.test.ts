import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { grantFor, pairingRequired } from './grant';
import type { Handshake } from './handshake-checks';
import type { PairedDevice } from './pairing';

const device = { id: 'dev-1', publicKey: 'pk', signature: 'sig', signedAt: 0, nonce: 'n' };
const approved: PairedDevice = {
  deviceId: 'dev-1',
  publicKey: 'pk',
  scopes: ['operator.read', 'operator.write'],
  clientId: 'gateway-client',
  platform: 'linux',
  deviceToken: 'device-token-1',
  approvedAtMs: 0,
};

const handshake = (
  over: {
    client?: { id: string; mode: string };
    device?: boolean;
    local?: boolean;
    origin?: string;
    known?: PairedDevice;
    requested?: string[];
  } = {},
): Handshake => ({
  params: {
    minProtocol: 4,
    maxProtocol: 4,
    client: { platform: 'linux', ...(over.client ?? { id: 'gateway-client', mode: 'backend' }) },
    ...(over.device ? { device } : {}),
  },
  role: 'operator',
  requested: over.requested ?? ['operator.read'],
  secret: 'token',
  conn: { nonce: 'n', local: over.local ?? true, origin: over.origin },
  gateway: { token: 'token', allowedOrigins: [] },
  known: over.known,
  now: 0,
});

const cli = { id: 'cli', mode: 'cli' };
const tui = { id: 'openclaw-tui', mode: 'ui' };

describe('dev gateway grant', () => {
  it('keeps the scopes of a device-less local backend or cli, and of nobody else', () => {
    assert.deepEqual(grantFor(handshake()), { kind: 'scopes', scopes: ['operator.read'] });
    assert.deepEqual(grantFor(handshake({ client: cli })), { kind: 'scopes', scopes: ['operator.read'] });
    assert.deepEqual(grantFor(handshake({ client: tui })), { kind: 'scopes', scopes: [] });
    assert.deepEqual(grantFor(handshake({ local: false })), { kind: 'scopes', scopes: [] });
    assert.deepEqual(grantFor(handshake({ origin: 'http://127.0.0.1:3000' })), {
      kind: 'scopes',
      scopes: [],
    });
  });

  it('gives an approved device its scopes and device token, wherever it connects from', () => {
    assert.deepEqual(grantFor(handshake({ device: true, known: approved, local: false })), {
      kind: 'scopes',
      scopes: ['operator.read'],
      deviceToken: 'device-token-1',
    });
  });

  it('lets a local signed backend in without pairing, and auto-pairs other local clients', () => {
    assert.deepEqual(grantFor(handshake({ device: true })), { kind: 'scopes', scopes: ['operator.read'] });
    const g = grantFor(handshake({ device: true, client: tui }));
    assert.equal(g.kind, 'auto-pair');
    assert.ok(g.kind === 'auto-pair' && g.ask.deviceId === 'dev-1' && g.ask.clientId === 'openclaw-tui');
  });

  it('asks a remote device to pair, and an approved one asking for more to upgrade', () => {
    const fresh = grantFor(handshake({ device: true, local: false }));
    assert.ok(fresh.kind === 'pairing-required' && fresh.reason === 'not-paired');
    const more = grantFor(
      handshake({ device: true, local: false, known: approved, requested: ['operator.admin'] }),
    );
    assert.ok(more.kind === 'pairing-required' && more.reason === 'scope-upgrade');
    assert.deepEqual(pairingRequired(fresh.ask, 'req-1', fresh.reason), {
      error: {
        code: 'NOT_PAIRED',
        message: 'pairing required: device is not approved yet',
        details: {
          code: 'PAIRING_REQUIRED',
          reason: 'not-paired',
          requestId: 'req-1',
          deviceId: 'dev-1',
          requestedRole: 'operator',
          requestedScopes: ['operator.read'],
        },
      },
      closeCode: 1008,
    });
  });
});
