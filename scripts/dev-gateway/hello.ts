import { randomUUID } from 'node:crypto';
import { EVENTS, MAX_BUFFERED_BYTES, MAX_PAYLOAD_BYTES, METHODS, PROTOCOL, SERVER_VERSION } from './protocol';

/** The hello-ok payload (OPENCLAW.md §1.5), with the fields the real gateway sends a proxy. */
export function helloOk(o: {
  bootId: string;
  connId: string;
  uptimeMs: number;
  role: string;
  scopes: string[];
  deviceToken: string | undefined;
  tickIntervalMs: number;
  now: number;
}) {
  return {
    type: 'hello-ok',
    protocol: PROTOCOL,
    server: {
      version: SERVER_VERSION,
      buildId: `${SERVER_VERSION}-dev`,
      bootId: o.bootId,
      controlUiBuildSource: 'none',
      connId: o.connId,
    },
    features: { methods: [...METHODS], events: EVENTS, capabilities: ['session-scoped-chat-metadata'] },
    snapshot: {
      presence: [],
      health: { ok: true },
      stateVersion: { presence: 1, health: 1 },
      uptimeMs: o.uptimeMs,
      suspension: { phase: 'accepting' },
      sessionDefaults: {
        defaultAgentId: 'main',
        modelConfigured: true,
        mainKey: 'main',
        mainSessionKey: 'agent:main:main',
        scope: 'per-sender',
        ownership: 'sole',
        selectionRequired: false,
      },
    },
    auth: {
      method: 'token',
      role: o.role,
      scopes: o.scopes,
      recoveryScope: randomUUID().replace(/-/g, ''),
      ...(o.deviceToken
        ? { deviceToken: o.deviceToken, issuedAtMs: o.now, recoveryMigrationAllowed: true }
        : {}),
    },
    policy: {
      maxPayload: MAX_PAYLOAD_BYTES,
      maxBufferedBytes: MAX_BUFFERED_BYTES,
      tickIntervalMs: o.tickIntervalMs,
      attachments: { maxBytes: 19_464_192, maxImageBytes: 6_291_456 },
      allowedSessionVisibilities: ['shared', 'read-only', 'suggest', 'draft'],
      hasMultipleSessionSharingIdentities: false,
    },
  };
}
