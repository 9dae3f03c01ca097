/**
 * The openclaw.json the agent writes for each claw before every start, as data. The gateway reads it
 * read-only (OPENCLAW_CONFIG_READONLY=1, "externally managed config" in OpenClaw's docs): the token,
 * where it listens, where it logs, and what its tools may do are the agent's, not the tenant's.
 *
 * The operator's base config (`--gateway-config`: model providers, say) goes underneath; the keys
 * below are laid over it, so a base can add to the claw's config but not loosen what is set here.
 * A claw's own model (set on its page) is laid over the base's too: it becomes the claw's only
 * provider and its default model.
 */
import type { GatewayModel, GatewaySecrets } from '../../server/fleet/agent-api';

export interface GatewayConfigInput {
  port: number;
  token: string;
  trustedProxies: readonly string[];
  /** The claw's workspace (the agent's default working directory and file root). */
  workspace: string;
  /** OpenClaw's own JSON-lines log (`logging.file`); it rotates beside it. */
  logFile: string;
  base?: Readonly<Record<string, unknown>>;
  model?: GatewayModel;
  /** The claw's named secrets: `env.vars`, which OpenClaw puts in its environment at start. */
  secrets?: GatewaySecrets;
}

/** The provider id a claw's own model is registered under: the default model is `claws/<model>`. */
export const CLAW_PROVIDER_ID = 'claws';

/**
 * A claw's model as OpenClaw's custom provider (docs/gateway/config-tools/custom-providers.md):
 * `models.mode: replace`, so the gateway uses this inventory and discovers no other; the model's
 * limits are generous defaults, the provider enforces the real ones.
 */
export function modelConfig(m: GatewayModel): Record<string, unknown> {
  return {
    models: {
      mode: 'replace',
      providers: {
        [CLAW_PROVIDER_ID]: {
          baseUrl: m.baseUrl,
          apiKey: m.apiKey,
          api: m.api,
          models: [
            {
              id: m.model,
              name: m.model,
              reasoning: false,
              input: ['text'],
              cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
              contextWindow: 128_000,
              maxTokens: 8192,
            },
          ],
        },
      },
    },
    agents: { defaults: { model: { primary: `${CLAW_PROVIDER_ID}/${m.model}` } } },
  };
}

/**
 * Tools, conservatively: OpenClaw's "hardened baseline" (docs/gateway/security/hardened-baseline.md)
 * plus the groups that reach the host's screen, browser and paired nodes. Chat keeps working; no
 * tool runs commands (exec, process), touches files (read, write, edit, apply_patch), changes the
 * gateway or schedules work (gateway, cron, openclaw), or reaches other sessions and agents. File
 * tools, should an operator's base allow any back, stay inside the workspace. Deny wins over any
 * allow in OpenClaw's policy, so a base can add tools the profile leaves out (web search, say) but
 * not the denied ones.
 */
export const TOOL_POLICY = {
  profile: 'messaging',
  deny: [
    'group:runtime',
    'group:fs',
    'group:automation',
    'group:nodes',
    'group:ui',
    'sessions_spawn',
    'sessions_send',
  ],
  fs: { workspaceOnly: true },
  exec: { security: 'deny', ask: 'always' },
  elevated: { enabled: false },
  sessions: { visibility: 'agent' },
  agentToAgent: { enabled: false },
} as const;

export function gatewayConfig(input: GatewayConfigInput): Record<string, unknown> {
  const enforced = {
    gateway: {
      mode: 'local',
      port: input.port,
      bind: 'loopback',
      // The gateway takes its token from here, so it is in neither its argv nor its environment.
      auth: { mode: 'token', token: input.token },
      ...(input.trustedProxies.length ? { trustedProxies: [...input.trustedProxies] } : {}),
    },
    // Not the shared /tmp/openclaw/openclaw-<date>.log every gateway on the Mini would write.
    logging: { file: input.logFile },
    agents: {
      defaults: {
        workspace: input.workspace,
        // Nothing on a Mini provides a sandbox backend (Docker/Podman), and every tool that would
        // need one is denied above; the claw's OS user is the boundary.
        sandbox: { mode: 'off' },
      },
    },
    tools: TOOL_POLICY,
    // The claw's secrets over the base's, in this file only the claw's user can read; never argv
    // or the agent's environment (docs/gateway/config-secrets-env.md, `env.vars`).
    ...(input.secrets && Object.keys(input.secrets).length ? { env: { vars: { ...input.secrets } } } : {}),
  };
  const base = input.model ? overlay(input.base ?? {}, modelConfig(input.model)) : (input.base ?? {});
  return overlay(base, enforced) as Record<string, unknown>;
}

/** `top` laid over `base`: objects merge key by key, anything else (arrays too) in `top` replaces. */
export function overlay(base: unknown, top: unknown): unknown {
  if (!isObject(base) || !isObject(top)) return clone(top);
  const out: Record<string, unknown> = { ...(clone(base) as Record<string, unknown>) };
  for (const [k, v] of Object.entries(top)) out[k] = k in out ? overlay(out[k], v) : clone(v);
  return out;
}

const clone = (v: unknown): unknown => (v === undefined ? undefined : structuredClone(v));

const isObject = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === 'object' && !Array.isArray(v);
