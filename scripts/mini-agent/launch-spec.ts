import path from 'node:path';
import type { ClawRecord } from './state-store';

/**
 * How one claw's gateway is started, as data: program, arguments, environment, working directory,
 * the claw's directories and the config the gateway needs. No I/O: the supervisor prepares the
 * directories and spawns from it, and the test fixtures start dev and real gateways from the same
 * spec, so a test gateway runs exactly as a Mini runs it.
 */

export interface GatewayLaunchInput {
  claw: Pick<ClawRecord, 'port' | 'gatewayToken'>;
  /** argv of the gateway program; the spec appends `gateway run --port <P> …`. */
  gatewayCommand: readonly string[];
  /** `gateway.trustedProxies` for the gateway; empty: no config is written. */
  trustedProxies: readonly string[];
  /** The claw's own directory: HOME, OPENCLAW_STATE_DIR and the gateway log live under it. */
  clawDir: string;
  cwd: string;
  /** The environment the agent runs with; the spec drops the agent's own secrets from it. */
  inheritedEnv: Readonly<Record<string, string | undefined>>;
}

export interface GatewayLaunchSpec {
  program: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  dirs: { home: string; state: string };
  /** Where the gateway's stdout and stderr go. */
  logFile: string;
  /** To merge into the gateway's openclaw.json before it starts; absent: leave the config alone. */
  config?: { file: string; gateway: { trustedProxies: string[] } };
}

/** Environment variables the agent must not hand down to gateways. */
const PRIVATE_ENV = /^(MINI_AGENT_|OPENCLAW_GATEWAY_TOKEN$|OPENCLAW_GATEWAY_PASSWORD$)/;

/** The real gateway's own command line for a token-auth gateway on loopback (OPENCLAW.md §2). */
const gatewayRunArgs = (port: number) => [
  'gateway',
  'run',
  '--port',
  String(port),
  '--bind',
  'loopback',
  '--auth',
  'token',
  '--allow-unconfigured',
];

export function gatewayLaunchSpec(input: GatewayLaunchInput): GatewayLaunchSpec {
  const [program, ...programArgs] = input.gatewayCommand;
  if (!program) throw new Error('The gateway command is empty');
  const home = path.join(input.clawDir, 'home');
  const state = path.join(input.clawDir, 'state');
  const trustedProxies = [...input.trustedProxies];
  const inherited = Object.entries(input.inheritedEnv).filter(
    (e): e is [string, string] => e[1] !== undefined && !PRIVATE_ENV.test(e[0]),
  );
  return {
    program,
    args: [...programArgs, ...gatewayRunArgs(input.claw.port)],
    env: {
      ...Object.fromEntries(inherited),
      HOME: home,
      OPENCLAW_STATE_DIR: state,
      // The token goes in the environment, never on the command line, where `ps` shows it.
      OPENCLAW_GATEWAY_TOKEN: input.claw.gatewayToken,
      OPENCLAW_DISABLE_BONJOUR: '1',
      // The dev gateway takes its trusted proxies from the environment; the real one from openclaw.json.
      ...(trustedProxies.length ? { CLAWS_DEV_GATEWAY_TRUSTED_PROXIES: trustedProxies.join(',') } : {}),
    },
    cwd: input.cwd,
    dirs: { home, state },
    logFile: path.join(input.clawDir, 'gateway.log'),
    ...(trustedProxies.length
      ? { config: { file: path.join(state, 'openclaw.json'), gateway: { trustedProxies } } }
      : {}),
  };
}

/**
 * Merges the spec's config into what an openclaw.json already holds (anything that is not a JSON
 * object counts as empty), keeping every other setting.
 */
export function mergeGatewayConfig(
  existing: unknown,
  patch: NonNullable<GatewayLaunchSpec['config']>,
): Record<string, unknown> {
  const config = isObject(existing) ? { ...existing } : {};
  const gateway = isObject(config.gateway) ? config.gateway : {};
  config.gateway = { ...gateway, ...patch.gateway };
  return config;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === 'object' && !Array.isArray(v);

/**
 * Whether `argv` is a gateway this agent started for `port`: the configured gateway program's last
 * word (the script or binary) and the `gateway run --port <P>` the spec appends.
 */
export function isGatewayArgv(argv: string[], gatewayCommand: readonly string[], port: number): boolean {
  const program = gatewayCommand.at(-1);
  if (!program || !argv.some((a) => a === program || a.endsWith(`/${program.split('/').at(-1)}`)))
    return false;
  const i = argv.indexOf('gateway');
  return (
    i >= 0 &&
    argv[i + 1] === 'run' &&
    argv.includes('--port') &&
    argv[argv.indexOf('--port') + 1] === String(port)
  );
}
