import path from 'node:path';
import { gatewayConfig } from './gateway-config';
import type { ClawUser } from './isolation';
import type { ClawRecord } from './state-store';

/**
 * How one claw's gateway is started, as data: program, arguments, user, environment, working
 * directory, the claw's directories and the config the gateway reads. No I/O: the supervisor
 * prepares the files and spawns from it, and the test fixtures start dev and real gateways from the
 * same spec, so a test gateway runs exactly as a Mini runs it.
 *
 * The claw's directory (`clawDir`), owned by the agent and readable by the claw's group only:
 *   openclaw.json   the gateway's config, token included (0640: the gateway reads, cannot change it)
 *   gateway.log     the gateway's stdout and stderr, written through the descriptor the agent opens
 *   home/ state/ workspace/ logs/ tmp/   the claw user's own (0700): HOME, OPENCLAW_STATE_DIR, the
 *                   agent workspace, OpenClaw's own log (logging.file), TMPDIR
 */

export interface GatewayLaunchInput {
  claw: Pick<ClawRecord, 'port' | 'gatewayToken' | 'model' | 'secrets'>;
  /** argv of the gateway program; the spec appends `gateway run --port <P> …`. */
  gatewayCommand: readonly string[];
  /** `gateway.trustedProxies` for the gateway. */
  trustedProxies: readonly string[];
  clawDir: string;
  /** The claw's own OS user; absent: the gateway runs as the agent's user (`--isolation none`). */
  user?: ClawUser;
  /** The agent's environment. Only the allowlisted names below, and `passEnv`, are read from it. */
  agentEnv: Readonly<Record<string, string | undefined>>;
  /** Further names the operator hands down (`--gateway-pass-env`), checked by the agent's config. */
  passEnv?: readonly string[];
  /** The operator's base openclaw.json (`--gateway-config`), under the agent's own settings. */
  baseConfig?: Readonly<Record<string, unknown>>;
}

export interface GatewayDirs {
  root: string;
  home: string;
  state: string;
  workspace: string;
  logs: string;
  tmp: string;
}

export interface GatewayLaunchSpec {
  program: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** Spawn as this user and group; absent: as the agent. */
  uid?: number;
  gid?: number;
  dirs: GatewayDirs;
  /** Where the gateway's stdout and stderr go. */
  logFile: string;
  /** The whole openclaw.json, written before every start. */
  config: { file: string; content: Record<string, unknown> };
}

/** Of the agent's environment, these alone reach a gateway (when set). */
const PASSED_THROUGH = ['LANG', 'LC_ALL', 'LC_CTYPE', 'TZ'] as const;
const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

/**
 * Names that never reach a gateway, even when the operator lists them: the agent's own settings and
 * secrets, the control plane's (an agent started by `npm run dev` runs in the server's
 * environment), and the gateway credentials the spec hands over through the config file instead.
 */
export const NEVER_PASSED =
  /^(MINI_AGENT_|CLAWS_SECRET|DATABASE_URL$|TEST_DATABASE_URL$|R2_|OPENCLAW_GATEWAY_)/;

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

export function gatewayDirs(clawDir: string): GatewayDirs {
  const sub = (name: string) => path.join(clawDir, name);
  return {
    root: clawDir,
    home: sub('home'),
    state: sub('state'),
    workspace: sub('workspace'),
    logs: sub('logs'),
    tmp: sub('tmp'),
  };
}

export function gatewayLaunchSpec(input: GatewayLaunchInput): GatewayLaunchSpec {
  const [program, ...programArgs] = input.gatewayCommand;
  if (!program) throw new Error('The gateway command is empty');
  const dirs = gatewayDirs(input.clawDir);
  const configFile = path.join(dirs.root, 'openclaw.json');
  const from = input.agentEnv;
  const passed = [...PASSED_THROUGH, ...(input.passEnv ?? [])].filter((k) => !NEVER_PASSED.test(k));
  const env: Record<string, string> = {};
  for (const name of passed) {
    const value = from[name];
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, {
    // The gateway's own Node first: the real gateway starts helpers with whatever `node` PATH finds.
    PATH: [
      ...new Set([
        ...(path.isAbsolute(program) ? [path.dirname(program)] : []),
        ...(from.PATH ?? DEFAULT_PATH).split(':').filter(Boolean),
      ]),
    ].join(':'),
    HOME: dirs.home,
    TMPDIR: dirs.tmp,
    ...(input.user ? { USER: input.user.name, LOGNAME: input.user.name } : {}),
    OPENCLAW_STATE_DIR: dirs.state,
    OPENCLAW_CONFIG_PATH: configFile,
    // The agent owns the config: the gateway must not rewrite it (setup, doctor, plugin installs).
    OPENCLAW_CONFIG_READONLY: '1',
    OPENCLAW_NO_AUTO_UPDATE: '1',
    OPENCLAW_DISABLE_BONJOUR: '1',
  });
  return {
    program,
    args: [...programArgs, ...gatewayRunArgs(input.claw.port)],
    env,
    cwd: dirs.home,
    ...(input.user ? { uid: input.user.uid, gid: input.user.gid } : {}),
    dirs,
    logFile: path.join(dirs.root, 'gateway.log'),
    config: {
      file: configFile,
      content: gatewayConfig({
        port: input.claw.port,
        token: input.claw.gatewayToken,
        trustedProxies: input.trustedProxies,
        workspace: dirs.workspace,
        logFile: path.join(dirs.logs, 'openclaw.log'),
        ...(input.baseConfig ? { base: input.baseConfig } : {}),
        ...(input.claw.model ? { model: input.claw.model } : {}),
        ...(input.claw.secrets ? { secrets: input.claw.secrets } : {}),
      }),
    },
  };
}

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
