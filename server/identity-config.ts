import { z } from 'zod';

/**
 * The environment variables of identity, limits and hardening (issue 16), merged into the one
 * configuration schema in server/config.ts. Kept here so that schema stays one short block.
 */
const emptyAsUndefined = (v: unknown) => (v === '' ? undefined : v);
const optionalString = z.preprocess(emptyAsUndefined, z.string().optional());
const int = (fallback: number, min = 1, max = 1_000_000) =>
  z.preprocess(emptyAsUndefined, z.coerce.number().int().min(min).max(max).default(fallback));

const UNITS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A throttle policy: at most `limit` hits in any window of `windowMs`. */
export interface RatePolicy {
  limit: number;
  windowMs: number;
}

/** `"30/15m"` → 30 hits per 15 minutes. */
const rate = (fallback: string) =>
  z.preprocess(
    (v) => emptyAsUndefined(v) ?? fallback,
    z
      .string()
      .regex(/^\d{1,6}\/\d{1,6}[smhd]$/, 'must look like 30/15m (hits / window in s, m, h or d)')
      .transform((s): RatePolicy => {
        const [limit, window] = s.split('/') as [string, string];
        const unit = window.slice(-1) as keyof typeof UNITS;
        return { limit: Math.max(1, Number(limit)), windowMs: Number(window.slice(0, -1)) * UNITS[unit] };
      })
      .refine((p) => p.windowMs >= 1000 && p.windowMs <= 7 * UNITS.d, 'window must be 1 s to 7 d'),
  );

const emailList = z.preprocess(
  emptyAsUndefined,
  z
    .string()
    .optional()
    .transform((v) =>
      (v ?? '')
        .split(',')
        .map((e) => e.trim().toLowerCase())
        .filter(Boolean),
    )
    .pipe(z.array(z.email('CLAWS_ADMIN_EMAILS must be a comma separated list of addresses'))),
);

export const identityEnv = {
  /** Where the dashboard is reached (links in invitation e-mails); default: the first allowed origin, else http://HOST:PORT. */
  CLAWS_PUBLIC_URL: z.preprocess(emptyAsUndefined, z.url({ protocol: /^https?$/ }).optional()),
  /** Signing up with one of these addresses makes a platform admin; otherwise a one-time code printed at first start does. */
  CLAWS_ADMIN_EMAILS: emailList,
  /**
   * The request header a trusted reverse proxy puts the client's address in (e.g. x-forwarded-for).
   * Unset: the socket's remote address, and every forwarded header is ignored.
   */
  CLAWS_CLIENT_ADDRESS_HEADER: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^[a-z0-9-]{1,64}$/i)
      .transform((h) => h.toLowerCase())
      .optional(),
  ),
  /** With x-forwarded-for: how many trusted proxies append to it (the address is that many from the right). */
  CLAWS_TRUSTED_PROXY_HOPS: int(1, 1, 10),
  SESSION_IDLE_MINUTES: int(12 * 60, 1, 60 * 24 * 30),
  SESSION_LIFETIME_HOURS: int(7 * 24, 1, 24 * 90),
  INVITATION_TTL_HOURS: int(7 * 24, 1, 24 * 30),
  /** `smtp://user:pass@host:port` or `smtps://…`; without it invitation links are only shown to the inviter. */
  SMTP_URL: optionalString,
  SMTP_FROM: z.string().default('Claws <claws@localhost>'),
  /** Password hashes at once (scrypt runs on libuv's 4 threads); more wait in a queue of PASSWORD_HASH_QUEUE. */
  PASSWORD_HASH_CONCURRENCY: int(2, 1, 64),
  PASSWORD_HASH_QUEUE: int(64, 1, 10_000),
  THROTTLE_LOGIN_PER_ADDRESS: rate('30/15m'),
  THROTTLE_LOGIN_PER_ACCOUNT_ADDRESS: rate('10/15m'),
  THROTTLE_LOGIN_PER_ACCOUNT: rate('50/15m'),
  THROTTLE_SIGNUP_PER_ADDRESS: rate('10/1h'),
  THROTTLE_BOOTSTRAP_PER_ADDRESS: rate('5/15m'),
  THROTTLE_CLAW_CREATE_PER_USER: rate('20/10m'),
  THROTTLE_CLAW_CREATE_PER_ORG: rate('10/1m'),
  THROTTLE_INVITE_PER_ORG: rate('30/1h'),
  QUOTA_ORGS_PER_USER: int(3),
  QUOTA_CLAWS_PER_ORG: int(5),
  QUOTA_MEMBERS_PER_ORG: int(50),
  QUOTA_API_TOKENS_PER_ORG: int(20),
  QUOTA_CHAT_SOCKETS_PER_USER: int(8),
  QUOTA_SUBSCRIPTIONS_PER_USER: int(20),
  /** A chat socket that sends no first frame within this is closed (the gateway is dialled only after it). */
  CHAT_FIRST_FRAME_TIMEOUT_MS: int(10_000, 100, 120_000),
};

/** The dashboard's public origin, for links that leave the server (invitation e-mails). */
export function publicUrlOf(cfg: {
  CLAWS_PUBLIC_URL?: string;
  allowedOrigins: string[];
  HOST: string;
  PORT: number;
}): string {
  const url = cfg.CLAWS_PUBLIC_URL ?? cfg.allowedOrigins[0] ?? `http://${cfg.HOST}:${cfg.PORT}`;
  return url.replace(/\/+$/, '');
}
