import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const EXPIRES_PARAM = 'X-Claws-Expires';
export const SIGNATURE_PARAM = 'X-Claws-Signature';

export interface SignedScope {
  method: 'PUT' | 'GET';
  bucket: string;
  key: string;
  /** Unix seconds. */
  expires: number;
}

/**
 * The local store's stand-in for SigV4 query signing: an HMAC over everything a URL grants (method,
 * bucket, key, expiry). The key is random per store instance and never leaves the process, so a URL
 * is only good against the server that issued it, and none survives a restart.
 */
export class LocalUrlSigner {
  readonly #key = randomBytes(32);

  #mac(scope: SignedScope): Buffer {
    // Newline-separated: no field can hold a newline (bucket names and keys are validated, the rest
    // are fixed words and digits), so no two scopes share a message.
    return createHmac('sha256', this.#key)
      .update(`${scope.method}\n${scope.bucket}\n${scope.key}\n${scope.expires}`)
      .digest();
  }

  sign(scope: SignedScope): string {
    return this.#mac(scope).toString('hex');
  }

  verify(scope: SignedScope, signature: string): boolean {
    if (!/^[0-9a-f]{64}$/.test(signature)) return false;
    return timingSafeEqual(this.#mac(scope), Buffer.from(signature, 'hex'));
  }
}
