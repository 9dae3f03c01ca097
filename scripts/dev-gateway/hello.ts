import { randomUUID } from 'node:crypto';
import { healthSnapshot, selfPresence } from './host-info';
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
  port: number;
  stateDir: string | undefined;
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
      presence: [selfPresence()],
      health: healthSnapshot(o.stateDir),
      stateVersion: { presence: 1, health: 1 },
      uptimeMs: o.uptimeMs,
      suspension: { phase: 'accepting' },
      appliedConfigHash: `hmac-sha256:v1:${o.bootId.replace(/-/g, '')}`,
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
    // A capability link on this host and port, as the real gateway hands out.
    pluginSurfaceUrls: {
      canvas: `http://127.0.0.1:${o.port}/__openclaw__/cap/${o.connId.replace(/-/g, '')}`,
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
