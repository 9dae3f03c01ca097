import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM under a ring of keys with ids: the first key encrypts, every key decrypts, so keys
 * rotate by putting a new one first. The associated data binds a ciphertext to what it is for.
 */
export interface KeyRing {
  readonly activeId: string;
  readonly keys: ReadonlyMap<string, Buffer>;
}

export class KeyRingError extends Error {
  override name = 'KeyRingError';
}

const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

/** Parses `k2:<base64 32 bytes>,k1:<…>`. */
export function parseKeyRing(spec: string): KeyRing {
  const keys = new Map<string, Buffer>();
  let activeId: string | undefined;
  for (const part of spec
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const i = part.indexOf(':');
    const id = i > 0 ? part.slice(0, i) : '';
    if (!KEY_ID.test(id))
      throw new KeyRingError('Each key must be written <id>:<base64 key> with a short id');
    const key = Buffer.from(part.slice(i + 1), 'base64');
    if (key.length !== 32) throw new KeyRingError(`Key ${id} must be 32 bytes (base64), not ${key.length}`);
    if (keys.has(id)) throw new KeyRingError(`Key id ${id} appears twice`);
    keys.set(id, key);
    activeId ??= id;
  }
  if (!activeId) throw new KeyRingError('The key ring is empty');
  return { activeId, keys };
}

const b64u = (b: Buffer) => b.toString('base64url');

export function encryptSecret(ring: KeyRing, plaintext: string, aad: string): string {
  const key = ring.keys.get(ring.activeId)!;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', ring.activeId, b64u(iv), b64u(cipher.getAuthTag()), b64u(ct)].join('.');
}

export function decryptSecret(ring: KeyRing, blob: string, aad: string): string {
  const [v, keyId, iv, tag, ct] = blob.split('.');
  if (v !== 'v1' || !keyId || iv === undefined || tag === undefined || ct === undefined)
    throw new KeyRingError('Not an encrypted secret');
  const key = ring.keys.get(keyId);
  if (!key)
    throw new KeyRingError(`The secret was encrypted with key ${keyId}, which is not in the key ring`);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    throw new KeyRingError('The secret does not decrypt (wrong key, wrong purpose, or tampered)');
  }
}

export function needsRotation(ring: KeyRing, blob: string): boolean {
  return blob.split('.')[1] !== ring.activeId;
}

/** A short, non-reversible name for a secret, safe for events and logs. */
export function fingerprint(secret: string): string {
  return `fp_${createHash('sha256').update('claws-fingerprint:').update(secret).digest('hex').slice(0, 16)}`;
}

export function generateSecretToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
