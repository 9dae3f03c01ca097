import { z } from 'zod';
import { DEVICE_KEY_SECRET, type SecretStore } from '../secrets/secret-store';
import { generateDeviceIdentity } from './device-identity';

/**
 * The control plane's one Ed25519 device identity, per deployment. Gateways pair with it once (the
 * agent approves it); the proxy signs every connect nonce with it. The private key lives only in the
 * encrypted secrets table.
 */
export interface ControlPlaneIdentity {
  deviceId: string;
  /** base64url of the raw 32-byte public key, as the gateway protocol carries it. */
  publicKey: string;
  privateKeyPem: string;
}

const Stored = z.object({ deviceId: z.string(), publicKey: z.string(), privateKeyPem: z.string() });
const cache = new WeakMap<SecretStore, Promise<ControlPlaneIdentity>>();

export function loadControlPlaneIdentity(secrets: SecretStore): Promise<ControlPlaneIdentity> {
  let identity = cache.get(secrets);
  if (!identity) {
    identity = loadOrCreate(secrets);
    identity.catch(() => cache.delete(secrets));
    cache.set(secrets, identity);
  }
  return identity;
}

async function loadOrCreate(secrets: SecretStore): Promise<ControlPlaneIdentity> {
  const stored = await secrets.get(DEVICE_KEY_SECRET);
  if (stored) return Stored.parse(JSON.parse(stored));
  const fresh = generateDeviceIdentity();
  const identity: ControlPlaneIdentity = {
    deviceId: fresh.deviceId,
    publicKey: fresh.publicKeyRaw,
    privateKeyPem: fresh.privateKeyPem,
  };
  // Two processes starting at once could both generate one; the first stored wins for both.
  const won = await secrets.putIfAbsent(DEVICE_KEY_SECRET, JSON.stringify(identity));
  if (won) return identity;
  return Stored.parse(JSON.parse((await secrets.get(DEVICE_KEY_SECRET))!));
}
