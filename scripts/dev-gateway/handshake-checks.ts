import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { verifyDeviceAuth } from '../../server/gateway/device-identity';
import type { PairedDevice } from './pairing';
import {
  BROWSER_CLIENT_IDS,
  CLIENT_IDS,
  CLIENT_MODES,
  PROTOCOL,
  SCOPES,
  SIGNATURE_SKEW_MS,
  type ErrorShape,
} from './protocol';

/**
 * The checks a `connect` request passes before the gateway decides its scopes, in the real
 * gateway's order (OPENCLAW.md §1.4–1.6; `connect-admission.ts`, `connect-auth.ts`,
 * `connect-device-proof.ts` upstream). Each is pure: it returns nothing, or the exact error frame
 * and close code the real gateway answers with. The first refusal wins.
 */

export const ConnectParams = z.object({
  minProtocol: z.number().int(),
  maxProtocol: z.number().int(),
  client: z.object({
    id: z.string(),
    version: z.string().optional(),
    platform: z.string().optional(),
    mode: z.string(),
    deviceFamily: z.string().optional(),
  }),
  role: z.string().optional(),
  scopes: z.array(z.string()).optional(),
  caps: z.array(z.string()).optional(),
  auth: z
    .object({
      token: z.string().optional(),
      password: z.string().optional(),
      deviceToken: z.string().optional(),
    })
    .optional(),
  device: z
    .object({
      id: z.string(),
      publicKey: z.string(),
      signature: z.string(),
      signedAt: z.number(),
      nonce: z.string(),
    })
    .optional(),
});
export type ConnectParams = z.infer<typeof ConnectParams>;

export interface Refusal {
  error: ErrorShape;
  closeCode: number;
  /** The close reason; the error message when absent. */
  reason?: string;
}

/** A parsed connect, with what the gateway knows about the connection it came on. */
export interface Handshake {
  params: ConnectParams;
  role: string;
  /** The requested scopes the gateway knows of. */
  requested: string[];
  /** The shared secret, from `auth.token` or `auth.password`. */
  secret: string | undefined;
  conn: { nonce: string; local: boolean; origin: string | undefined };
  gateway: { token: string; allowedOrigins: readonly string[] };
  /** The approved device the connect names, if any. */
  known: PairedDevice | undefined;
  now: number;
}

export interface HandshakeCheck {
  name: string;
  check(h: Handshake): Refusal | undefined;
}

const invalid = (message: string, details?: Record<string, unknown>, closeCode = 1008): Refusal => ({
  error: { code: 'INVALID_REQUEST', message, ...(details ? { details } : {}) },
  closeCode,
});

const sameSecret = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

const LOOPBACK_ORIGIN = /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/;

export const HANDSHAKE_CHECKS: readonly HandshakeCheck[] = [
  {
    name: 'protocol',
    check: ({ params: p }) =>
      p.minProtocol > PROTOCOL || p.maxProtocol < PROTOCOL
        ? invalid('protocol mismatch', { code: 'PROTOCOL_MISMATCH', expectedProtocol: PROTOCOL }, 1002)
        : undefined,
  },
  {
    name: 'role',
    check: ({ role }) => (role !== 'operator' && role !== 'node' ? invalid('invalid role') : undefined),
  },
  {
    name: 'client',
    check: ({ params: p }) =>
      !CLIENT_IDS.has(p.client.id) || !CLIENT_MODES.has(p.client.mode)
        ? invalid('invalid connect params: client')
        : undefined,
  },
  {
    // Checked for any client that sends an Origin, and always for browser client ids.
    name: 'origin',
    check: ({ params: p, conn, gateway }) => {
      if (conn.origin === undefined && !BROWSER_CLIENT_IDS.has(p.client.id)) return undefined;
      const allowed =
        conn.origin !== undefined &&
        (gateway.allowedOrigins.includes('*') ||
          gateway.allowedOrigins.includes(conn.origin) ||
          (conn.local && LOOPBACK_ORIGIN.test(conn.origin)));
      if (allowed) return undefined;
      return invalid(
        'origin not allowed (open the Control UI from the gateway host or allow it in gateway.controlUi.allowedOrigins)',
        {
          code: 'CONTROL_UI_ORIGIN_NOT_ALLOWED',
          reason: conn.origin ? 'origin not allowed' : 'origin missing or invalid',
        },
      );
    },
  },
  {
    name: 'token',
    check: ({ secret, gateway }) =>
      secret !== undefined && !sameSecret(secret, gateway.token)
        ? invalid('unauthorized: gateway token mismatch (provide gateway auth token)', {
            code: 'AUTH_TOKEN_MISMATCH',
            authReason: 'token_mismatch',
            canRetryWithDeviceToken: false,
            recommendedNextStep: 'update_auth_credentials',
          })
        : undefined,
  },
  {
    // Without the shared secret, only a paired device's own device token will do.
    name: 'credentials',
    check: ({ params: p, secret, known }) => {
      const pairedByToken = p.auth?.deviceToken && p.device ? known : undefined;
      if (secret !== undefined || (pairedByToken && p.auth?.deviceToken === pairedByToken.deviceToken))
        return undefined;
      return {
        error: {
          code: 'NOT_PAIRED',
          message: 'device identity required',
          details: { code: 'DEVICE_IDENTITY_REQUIRED' },
        },
        closeCode: 1008,
      };
    },
  },
  {
    name: 'device-nonce',
    check: ({ params: { device }, conn }) =>
      device && device.nonce !== conn.nonce
        ? invalid('device nonce mismatch', { code: 'DEVICE_AUTH_NONCE_MISMATCH' })
        : undefined,
  },
  {
    name: 'device-signature-fresh',
    check: ({ params: { device }, now }) =>
      device && Math.abs(now - device.signedAt) > SIGNATURE_SKEW_MS
        ? invalid('device signature expired', { code: 'DEVICE_AUTH_SIGNATURE_EXPIRED' })
        : undefined,
  },
  {
    name: 'device-signature',
    check: ({ params: p, role }) =>
      p.device &&
      !verifyDeviceAuth(p.device, {
        clientId: p.client.id,
        clientMode: p.client.mode,
        role,
        scopes: p.scopes ?? [],
        token: p.auth?.token ?? p.auth?.deviceToken ?? '',
        platform: p.client.platform,
        deviceFamily: p.client.deviceFamily,
      })
        ? invalid('device signature invalid', { code: 'DEVICE_AUTH_SIGNATURE_INVALID' })
        : undefined,
  },
];

/** While the gateway starts, every connect gets this, before its params are even read. */
export const GATEWAY_STARTING: Refusal = {
  error: {
    code: 'UNAVAILABLE',
    message: 'gateway starting; retry shortly',
    retryable: true,
    retryAfterMs: 500,
    details: { reason: 'startup-sidecars' },
  },
  closeCode: 1013,
  reason: 'gateway starting',
};

export type ConnectVerdict =
  { ok: true; handshake: Handshake } | { ok: false; check: string; refusal: Refusal };

/**
 * Runs a connect through the admission rules: the startup refusal, the params' shape, then
 * HANDSHAKE_CHECKS in order.
 */
export function checkConnect(
  raw: unknown,
  facts: {
    starting: boolean;
    conn: Handshake['conn'];
    gateway: Handshake['gateway'];
    paired: (deviceId: string) => PairedDevice | undefined;
    now: number;
  },
): ConnectVerdict {
  if (facts.starting) return { ok: false, check: 'gateway-starting', refusal: GATEWAY_STARTING };
  const parsed = ConnectParams.safeParse(raw);
  if (!parsed.success)
    return {
      ok: false,
      check: 'connect-params',
      refusal: invalid(`invalid connect params: ${parsed.error.issues[0]?.message}`),
    };
  const p = parsed.data;
  const handshake: Handshake = {
    params: p,
    role: p.role ?? 'operator',
    requested: (p.scopes ?? []).filter((s) => SCOPES.has(s)),
    secret: p.auth?.token ?? p.auth?.password,
    conn: facts.conn,
    gateway: facts.gateway,
    known: p.device ? facts.paired(p.device.id) : undefined,
    now: facts.now,
  };
  for (const { name, check } of HANDSHAKE_CHECKS) {
    const refusal = check(handshake);
    if (refusal) return { ok: false, check: name, refusal };
  }
  return { ok: true, handshake };
}
