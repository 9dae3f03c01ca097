/**
 * The OpenClaw gateway protocol subset the dev gateway speaks (protocol 4, openclaw 2026.9.6), as
 * recorded in shared/OPENCLAW.md: closed sets, limits, error codes and frame helpers.
 */
export const PROTOCOL = 4;
export const SERVER_VERSION = '2026.9.6-claws-dev';
export const MAX_PREAUTH_PAYLOAD_BYTES = 65_536;
export const MAX_PAYLOAD_BYTES = 26_214_400;
export const MAX_BUFFERED_BYTES = 52_428_800;
export const SIGNATURE_SKEW_MS = 120_000;

export const CLIENT_IDS = new Set([
  'webchat-ui',
  'openclaw-control-ui',
  'openclaw-browser-copilot',
  'openclaw-tui',
  'webchat',
  'cli',
  'gateway-client',
  'openclaw-macos',
  'openclaw-linux',
  'openclaw-ios',
  'openclaw-watchos',
  'openclaw-android',
  'node-host',
  'openclaw-worker',
  'test',
  'fingerprint',
  'openclaw-probe',
]);
export const CLIENT_MODES = new Set(['webchat', 'cli', 'ui', 'backend', 'node', 'worker', 'probe', 'test']);
export const SCOPES = new Set([
  'operator.read',
  'operator.write',
  'operator.admin',
  'operator.approvals',
  'operator.questions',
  'operator.pairing',
  'operator.talk',
  'operator.talk.secrets',
]);
export const BROWSER_CLIENT_IDS = new Set(['webchat-ui', 'webchat', 'openclaw-control-ui']);

/** The methods hello-ok advertises; methods.ts answers each. */
export const METHODS = [
  'chat.send',
  'chat.history',
  'chat.abort',
  'sessions.messages.subscribe',
  'sessions.messages.unsubscribe',
  'device.pair.list',
  'device.pair.approve',
  'health',
] as const;
export const EVENTS = [
  'connect.challenge',
  'chat',
  'agent',
  'tick',
  'shutdown',
  'health',
  'presence',
  'device.pair.requested',
  'device.pair.resolved',
];

export interface ErrorShape {
  code: 'INVALID_REQUEST' | 'NOT_PAIRED' | 'FORBIDDEN' | 'UNAVAILABLE' | 'APPROVAL_NOT_FOUND';
  message: string;
  details?: Record<string, unknown>;
  retryable?: boolean;
  retryAfterMs?: number;
}

export const res = (id: string, payload: unknown) => JSON.stringify({ type: 'res', id, ok: true, payload });
export const resError = (id: string, error: ErrorShape) =>
  JSON.stringify({ type: 'res', id, ok: false, error });

/** "main" → "agent:main:main": the gateway names sessions canonically. */
export function canonicalSessionKey(key: string): string {
  if (key.startsWith('agent:')) return key;
  return `agent:main:${key}`;
}
