import { ALLOWED_METHODS } from './allowlist';
import { RELAYED_EVENTS } from './relay-filter';

/**
 * The hello-ok the browser gets, built from the gateway's by an explicit allowlist: only what a
 * chat client needs. Everything else of the real gateway's 15 KB stays with the proxy: presence
 * (the Mini's hostname, IP, kernel version), the health snapshot (the claw's state-database path),
 * plugin surface URLs (capability links to an internal host:port), the config hash, the device
 * token and recovery scope, build and boot ids, the methods and events Claws does not relay.
 * Copying named fields of the right type (rather than deleting known-bad ones) means a field a
 * new gateway version adds stays out until someone decides the browser needs it.
 */
export function browserHello(hello: Record<string, unknown>, gatewayToken: string): Record<string, unknown> {
  const server = record(hello.server);
  const features = record(hello.features);
  const snapshot = record(hello.snapshot);
  const defaults = record(snapshot.sessionDefaults);
  const auth = record(hello.auth);
  const policy = record(hello.policy);
  const attachments = record(policy.attachments);
  const out: Record<string, unknown> = {
    type: 'hello-ok',
    protocol: hello.protocol,
    // The version only: clients check it (OPENCLAW.md §3.10); build, boot and connection ids are
    // the Mini's business.
    server: pick(server, { version: 'string' }),
    features: {
      methods: strings(features.methods).filter((m) => ALLOWED_METHODS.has(m)),
      events: strings(features.events).filter((e) => RELAYED_EVENTS.has(e)),
      // Protocol contract flags (how chat.send routes, session-scoped metadata…), no addresses.
      capabilities: strings(features.capabilities).filter((c) => /^[A-Za-z0-9._-]{1,100}$/.test(c)),
    },
    snapshot: {
      // Which session is "main": what the chat client sends to and reads history from.
      sessionDefaults: pick(defaults, {
        defaultAgentId: 'string',
        mainKey: 'string',
        mainSessionKey: 'string',
        scope: 'string',
        ownership: 'string',
        selectionRequired: 'boolean',
        modelConfigured: 'boolean',
      }),
    },
    // What the proxy's connection may do: the browser acts with exactly these scopes.
    auth: { role: auth.role, scopes: strings(auth.scopes) },
    // Frame size, heartbeat and attachment limits the client must respect.
    policy: {
      ...pick(policy, { maxPayload: 'number', maxBufferedBytes: 'number', tickIntervalMs: 'number' }),
      attachments: pick(attachments, { maxBytes: 'number', maxImageBytes: 'number' }),
    },
  };
  // Belt and braces: no allowlisted string may carry the claw's token either.
  return scrub(out, gatewayToken) as Record<string, unknown>;
}

function scrub(value: unknown, secret: string): unknown {
  if (typeof value === 'string') return secret && value.includes(secret) ? '[redacted]' : value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, secret));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v, secret)]));
  return value;
}

function record(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** The named fields of `from` that have the named type. */
function pick(
  from: Record<string, unknown>,
  fields: Record<string, 'string' | 'number' | 'boolean'>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, type] of Object.entries(fields)) if (typeof from[k] === type) out[k] = from[k];
  return out;
}
