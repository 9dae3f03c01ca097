import { createHash } from 'node:crypto';
import type { Config } from '../config';
import { throttleKeyOfAddress } from '../limits/client-address';
import type { ThrottleCheck } from '../limits/throttle';

/**
 * The throttles of the procedures that check a secret, keyed by the client's address and by the
 * account (an e-mail is hashed: the table need not hold addresses of people). Address first, so
 * a flood from one place records nothing against the accounts it aims at; then account and
 * address together (one attacker on one account); then the account alone with a higher limit
 * (a distributed guess), which is the only key another party can exhaust for someone else.
 */
const h = (v: string) => createHash('sha256').update(v).digest('hex').slice(0, 32);

export function loginThrottles(cfg: Config, address: string, email: string): ThrottleCheck[] {
  const a = throttleKeyOfAddress(address);
  const e = h(email);
  return [
    {
      key: `login:addr:${a}`,
      policy: cfg.THROTTLE_LOGIN_PER_ADDRESS,
      refusal: 'Too many login attempts from your address',
    },
    {
      key: `login:acct-addr:${e}:${a}`,
      policy: cfg.THROTTLE_LOGIN_PER_ACCOUNT_ADDRESS,
      refusal: 'Too many login attempts for this account',
    },
    {
      key: `login:acct:${e}`,
      policy: cfg.THROTTLE_LOGIN_PER_ACCOUNT,
      refusal: 'Too many login attempts for this account',
    },
  ];
}

export function signupThrottles(cfg: Config, address: string): ThrottleCheck[] {
  return [
    {
      key: `signup:addr:${throttleKeyOfAddress(address)}`,
      policy: cfg.THROTTLE_SIGNUP_PER_ADDRESS,
      refusal: 'Too many sign-ups from your address',
    },
  ];
}

/** A signed-in user re-entering their password (password change): per account and address. */
export function passwordThrottles(cfg: Config, address: string, userId: string): ThrottleCheck[] {
  return [
    {
      key: `password:acct-addr:${userId}:${throttleKeyOfAddress(address)}`,
      policy: cfg.THROTTLE_LOGIN_PER_ACCOUNT_ADDRESS,
      refusal: 'Too many password attempts',
    },
  ];
}

export function bootstrapThrottles(cfg: Config, address: string): ThrottleCheck[] {
  return [
    {
      key: `bootstrap:addr:${throttleKeyOfAddress(address)}`,
      policy: cfg.THROTTLE_BOOTSTRAP_PER_ADDRESS,
      refusal: 'Too many bootstrap attempts from your address',
    },
    // Whatever the addresses, the code can be tried only this often in all.
    {
      key: 'bootstrap:all',
      policy: {
        limit: cfg.THROTTLE_BOOTSTRAP_PER_ADDRESS.limit * 4,
        windowMs: cfg.THROTTLE_BOOTSTRAP_PER_ADDRESS.windowMs,
      },
      refusal: 'Too many bootstrap attempts',
    },
  ];
}
