import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { Semaphore } from '../limits/semaphore';

const holder = globalThis as typeof globalThis & { __clawsHashPool?: Semaphore };
/**
 * Every scrypt of the process goes through one bounded queue (shared by both module graphs): a
 * flood of logins waits its turn on a few threads instead of taking all of libuv's, and a full
 * queue is refused at once (TooManyRequestsError).
 */
export function configurePasswordHashing(limits: {
  PASSWORD_HASH_CONCURRENCY: number;
  PASSWORD_HASH_QUEUE: number;
}) {
  const c = holder.__clawsHashPool;
  if (c && c.concurrency === limits.PASSWORD_HASH_CONCURRENCY && c.maxQueue === limits.PASSWORD_HASH_QUEUE)
    return;
  holder.__clawsHashPool = new Semaphore(limits.PASSWORD_HASH_CONCURRENCY, limits.PASSWORD_HASH_QUEUE);
}
export const passwordHashPool = () => (holder.__clawsHashPool ??= new Semaphore(2, 64));

const scrypt = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions) =>
  passwordHashPool().run(
    () =>
      new Promise<Buffer>((resolve, reject) =>
        scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))),
      ),
  );

/** OWASP's scrypt minimum (N=2^17 would be stronger, at ~4x the CPU per login on this 2-core box). */
export const SCRYPT_PARAMS = { N: 16384, r: 8, p: 1 } as const;
const KEYLEN = 32;
const SALT_BYTES = 16;
/** Parameters read back from a stored hash are bounded, so a corrupt row cannot make a login eat a CPU. */
const MAX = { N: 2 ** 20, r: 32, p: 16, keylen: 128 };
const maxmem = (N: number, r: number) => 128 * N * r + 16 * 1024 * 1024;

/** `scrypt$N$r$p$<salt b64url>$<key b64url>`: the parameters travel with the hash, so they can change later. */
export async function hashPassword(password: string): Promise<string> {
  const { N, r, p } = SCRYPT_PARAMS;
  const salt = randomBytes(SALT_BYTES);
  const key = await scrypt(password, salt, KEYLEN, { N, r, p, maxmem: maxmem(N, r) });
  return ['scrypt', N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

function parseHash(stored: string) {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [N, r, p] = parts.slice(1, 4).map((x) => (/^\d{1,8}$/.test(x!) ? Number(x) : NaN)) as [
    number,
    number,
    number,
  ];
  const salt = Buffer.from(parts[4]!, 'base64url');
  const key = Buffer.from(parts[5]!, 'base64url');
  const powerOfTwo = N > 1 && (N & (N - 1)) === 0;
  if (!powerOfTwo || N > MAX.N || !(r >= 1 && r <= MAX.r) || !(p >= 1 && p <= MAX.p)) return null;
  if (salt.length < 8 || key.length < 16 || key.length > MAX.keylen) return null;
  return { N, r, p, salt, key };
}

/** Constant-time comparison against a stored hash; a malformed hash never matches (and never throws). */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const h = parseHash(stored);
  if (!h) return false;
  const actual = await scrypt(password, h.salt, h.key.length, {
    N: h.N,
    r: h.r,
    p: h.p,
    maxmem: maxmem(h.N, h.r),
  });
  return timingSafeEqual(actual, h.key);
}

/** True when a stored hash uses weaker parameters than today's, so a login can upgrade it. */
export function needsRehash(stored: string): boolean {
  const h = parseHash(stored);
  return !h || h.N < SCRYPT_PARAMS.N || h.r < SCRYPT_PARAMS.r || h.key.length < KEYLEN;
}

/** A hash to verify against when the user does not exist, so both paths take the same time. */
let dummy: Promise<string> | undefined;
export const dummyHash = () => (dummy ??= hashPassword('not a real password'));
