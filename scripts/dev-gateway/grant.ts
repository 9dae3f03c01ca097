import type { Handshake, Refusal } from './handshake-checks';
import type { PendingRequest } from './pairing';

/**
 * Which scopes a connect that passed every handshake check gets (OPENCLAW.md §1.6), as a pure
 * choice; the server carries out what it implies (auto-pairing, a pairing request).
 *
 *   signed device, approved for these scopes      → its scopes and its device token
 *   signed device, local backend                  → its scopes, no pairing record
 *   signed device, local, any other client        → silently auto-paired
 *   signed device, remote (or with an Origin)     → PAIRING_REQUIRED, a pending request
 *   no device: local gateway-client/backend or cli → its scopes; anything else → no scopes
 */

/** What a signed device's connect asks the pairing store for. */
export type PairingAsk = Omit<PendingRequest, 'requestId' | 'createdAtMs'>;

export type Grant =
  | { kind: 'scopes'; scopes: string[]; deviceToken?: string }
  | { kind: 'auto-pair'; scopes: string[]; ask: PairingAsk }
  | { kind: 'pairing-required'; reason: 'scope-upgrade' | 'not-paired'; ask: PairingAsk };

export function grantFor(h: Handshake): Grant {
  const { params: p, requested, known } = h;
  // The loopback exceptions hold only for a direct local connection without an Origin.
  const localException = h.conn.local && h.conn.origin === undefined;
  if (!p.device) {
    const backend =
      (p.client.id === 'gateway-client' && p.client.mode === 'backend') ||
      (p.client.id === 'cli' && p.client.mode === 'cli');
    return { kind: 'scopes', scopes: localException && backend ? requested : [] };
  }
  const backend = p.client.id === 'gateway-client' && p.client.mode === 'backend';
  if (known && requested.every((s) => known.scopes.includes(s)))
    return { kind: 'scopes', scopes: requested, deviceToken: known.deviceToken };
  if (localException && backend) return { kind: 'scopes', scopes: requested };
  const ask: PairingAsk = {
    deviceId: p.device.id,
    publicKey: p.device.publicKey,
    requestedRole: h.role,
    requestedScopes: requested,
    clientId: p.client.id,
    platform: p.client.platform ?? '',
  };
  if (localException) return { kind: 'auto-pair', scopes: requested, ask };
  return { kind: 'pairing-required', reason: known ? 'scope-upgrade' : 'not-paired', ask };
}

/** The refusal that tells a device to wait until its pending request `requestId` is approved. */
export function pairingRequired(
  ask: PairingAsk,
  requestId: string,
  reason: 'scope-upgrade' | 'not-paired',
): Refusal {
  return {
    error: {
      code: 'NOT_PAIRED',
      message: 'pairing required: device is not approved yet',
      details: {
        code: 'PAIRING_REQUIRED',
        reason,
        requestId,
        deviceId: ask.deviceId,
        requestedRole: ask.requestedRole,
        requestedScopes: ask.requestedScopes,
      },
    },
    closeCode: 1008,
  };
}
