import fs from 'node:fs';
import path from 'node:path';

/**
 * What the dev gateway takes from the gateway's openclaw.json, read where the real gateway reads it
 * (OPENCLAW_CONFIG_PATH, else <OPENCLAW_STATE_DIR>/openclaw.json): the token (`gateway.auth.token`),
 * trusted proxies, allowed origins and `env.vars` (the claw's secrets). A Mini agent puts the token only there, never in the
 * gateway's argv or environment. The real gateway reads JSON5; the agent writes plain JSON, which
 * is all this reads.
 */

export interface GatewayFileSettings {
  token?: string;
  trustedProxies: string[];
  allowedOrigins: string[];
  /** `env.vars`: applied to the environment where it lacks them, as OpenClaw does. */
  envVars: Record<string, string>;
}

const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
const field = (v: unknown, key: string): unknown =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[key] : undefined;

const objectOf = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

export function gatewayFileSettings(config: unknown): GatewayFileSettings {
  const gateway = field(config, 'gateway');
  const token = field(field(gateway, 'auth'), 'token');
  return {
    ...(typeof token === 'string' && token ? { token } : {}),
    trustedProxies: strings(field(gateway, 'trustedProxies')),
    allowedOrigins: strings(field(field(gateway, 'controlUi'), 'allowedOrigins')),
    envVars: Object.fromEntries(
      Object.entries(objectOf(field(field(config, 'env'), 'vars'))).filter(
        (e): e is [string, string] => typeof e[1] === 'string',
      ),
    ),
  };
}

/** The config file's settings; none when there is no file. A file that is not JSON is an error. */
export function readGatewayFileSettings(env: Record<string, string | undefined>): GatewayFileSettings {
  const file =
    env.OPENCLAW_CONFIG_PATH ||
    (env.OPENCLAW_STATE_DIR ? path.join(env.OPENCLAW_STATE_DIR, 'openclaw.json') : '');
  let raw: string;
  try {
    raw = file ? fs.readFileSync(file, 'utf8') : '';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') raw = '';
    else throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  if (!raw) return { trustedProxies: [], allowedOrigins: [], envVars: {} };
  try {
    return gatewayFileSettings(JSON.parse(raw));
  } catch {
    throw new Error(`${file} is not JSON`);
  }
}
