import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
} from 'node:crypto';

/**
 * OpenClaw device identity (OPENCLAW.md §1.4): an Ed25519 key pair; the device id is the hex SHA-256
 * of the raw 32-byte public key; the connect nonce is signed over the v3 payload string.
 */
export interface DeviceIdentity {
  deviceId: string;
  /** base64url of the raw 32-byte public key. */
  publicKeyRaw: string;
  privateKeyPem: string;
}

export interface DeviceAuthFields {
  clientId: string;
  clientMode: string;
  role: string;
  scopes: readonly string[];
  signedAt: number;
  /** auth.token ?? auth.deviceToken ?? auth.bootstrapToken ?? '' */
  token?: string;
  nonce: string;
  platform?: string;
  deviceFamily?: string;
}

export interface DeviceBlock {
  id: string;
  publicKey: string;
  signature: string;
  signedAt: number;
  nonce: string;
}

const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function deviceIdFromPublicKey(publicKeyRaw: string): string {
  return createHash('sha256').update(Buffer.from(publicKeyRaw, 'base64url')).digest('hex');
}

export function generateDeviceIdentity(): DeviceIdentity {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ type: 'spki', format: 'der' }).subarray(SPKI_ED25519_PREFIX.length);
  return {
    deviceId: createHash('sha256').update(raw).digest('hex'),
    publicKeyRaw: raw.toString('base64url'),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** Lower-cases ASCII A–Z only, as the gateway normalises platform and device family. */
const lowerAscii = (v: string | undefined) => (v ?? '').trim().replace(/[A-Z]/g, (c) => c.toLowerCase());

export function buildDeviceAuthPayload(
  deviceId: string,
  f: DeviceAuthFields,
  version: 'v2' | 'v3' = 'v3',
): string {
  const parts = [
    version,
    deviceId,
    f.clientId,
    f.clientMode,
    f.role,
    f.scopes.join(','),
    String(f.signedAt),
    f.token ?? '',
    f.nonce,
  ];
  if (version === 'v3') parts.push(lowerAscii(f.platform), lowerAscii(f.deviceFamily));
  return parts.join('|');
}

export function signDeviceAuth(
  identity: Pick<DeviceIdentity, 'deviceId' | 'publicKeyRaw' | 'privateKeyPem'>,
  f: DeviceAuthFields,
): DeviceBlock {
  const payload = buildDeviceAuthPayload(identity.deviceId, f);
  const signature = sign(
    null,
    Buffer.from(payload, 'utf8'),
    createPrivateKey(identity.privateKeyPem),
  ).toString('base64url');
  return {
    id: identity.deviceId,
    publicKey: identity.publicKeyRaw,
    signature,
    signedAt: f.signedAt,
    nonce: f.nonce,
  };
}

/** Verifies a device block against the fields it should have signed (v3, or the legacy v2). */
export function verifyDeviceAuth(
  device: DeviceBlock,
  f: Omit<DeviceAuthFields, 'signedAt' | 'nonce'>,
): boolean {
  if (deviceIdFromPublicKey(device.publicKey) !== device.id) return false;
  let key;
  try {
    key = createPublicKey({
      key: Buffer.concat([SPKI_ED25519_PREFIX, Buffer.from(device.publicKey, 'base64url')]),
      format: 'der',
      type: 'spki',
    });
  } catch {
    return false;
  }
  const sig = Buffer.from(device.signature, 'base64url');
  const fields = { ...f, signedAt: device.signedAt, nonce: device.nonce };
  return (['v3', 'v2'] as const).some((v) =>
    verify(null, Buffer.from(buildDeviceAuthPayload(device.id, fields, v), 'utf8'), key, sig),
  );
}
