import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { DEV_AGENT_TOKEN } from '../../server/fleet/agent-api';
import { defaultHostNames } from './host-check';
import { ISOLATION_KINDS, type IsolationKind } from './isolation';
import { NEVER_PASSED } from './launch-spec';

/**
 * The Mini agent's configuration: flags win over environment variables, which win over defaults.
 * Parsed once at start; nothing else reads process.env.
 */

export const repoRoot = path.resolve(import.meta.dirname, '../..');

/** Local runs only (`--dev`); the control plane's dev seed registers the same (one definition). */
export { DEV_AGENT_TOKEN };

export interface AgentConfig extends ClawIsolationConfig {
  host: string;
  port: number;
  token: string;
  /**
   * `--dev`: plain HTTP on loopback, the public dev token allowed. Otherwise the agent serves HTTPS
   * with its own certificate (tls-identity.ts) and needs a real token.
   */
  dev: boolean;
  /** Names the Host header may carry (DNS rebinding; host-check.ts). */
  hostNames: ReadonlySet<string>;
  stateDir: string;
  /** argv of the gateway program; the agent appends `gateway run --port <P> …`. */
  gatewayCommand: string[];
  stopGatewaysOnExit: boolean;
  /**
   * Written into each gateway's config (`gateway.trustedProxies`) before it starts: on a Mini, the
   * Cloudflare tunnel forwards from 127.0.0.1 with forwarding headers, which the gateway refuses
   * unless that address is trusted (OPENCLAW.md §6).
   */
  trustedProxies: string[];
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  tuning: SupervisorTuning;

  // ─── The edge and the tunnel (edge.ts, tunnel-config.ts) ──────────────────────────────────
  /** `serve` (the agent), or `tunnel-config` (print/write this Mini's cloudflared config and exit). */
  command: 'serve' | 'tunnel-config';
  /** The Mini's tunnel suffix: its claws are `claw-<id>.<suffix>` (the Mini's registered suffix). */
  tunnelSuffix: string | undefined;
  /** The Mini's one ingress; undefined: none (a local agent, whose gateways only this machine reaches). */
  edge: EdgeConfig | undefined;
  /** `tunnel-config` only: what goes into cloudflared's config besides the ingress rule. */
  tunnel: { id: string | undefined; credentialsFile: string | undefined; out: string | undefined };
}

export interface EdgeConfig {
  host: string;
  port: number;
  /** Peers whose forwarding headers the edge keeps: cloudflared, which runs on this Mini. */
  trustedForwarders: string[];
  /** PEM files: the edge serves TLS with them (direct mode). */
  tls: { certFile: string; keyFile: string } | undefined;
}

/** Where the edge connects to gateways from, so the one address their trustedProxies must list. */
export const EDGE_PROXY_ADDRESS = '127.0.0.1';

export interface SupervisorTuning {
  /** How long a gateway may take to answer hello-ok after it starts before it counts as a failed start. */
  readyTimeoutMs: number;
  /** First restart delay after a crash; doubles per consecutive crash up to `restartBackoffMaxMs`. */
  restartBackoffMs: number;
  restartBackoffMaxMs: number;
  /** Consecutive quick crashes after which the claw is `failed` (until it is POSTed again). */
  maxQuickCrashes: number;
  /** A gateway that stayed up this long resets the crash count. */
  stableMs: number;
  /** SIGTERM → SIGKILL grace period on DELETE. */
  stopGraceMs: number;
  /** How long to look for the control plane's pairing request once a gateway is running. */
  pairingWindowMs: number;
  pairingIntervalMs: number;
}

const USAGE = `Usage: tsx scripts/mini-agent.ts [options]
       tsx scripts/mini-agent.ts fingerprint [--state-dir <dir>]
       tsx scripts/mini-agent.ts doctor [options]    what this Mini lacks, checked against these options
       tsx scripts/mini-agent.ts install --help      the macOS LaunchDaemon

Runs one OpenClaw gateway per claw on this Mini and serves the Mini Agent API.

Options (environment variable in brackets):
  --port <n>                 listen port [MINI_AGENT_PORT] (default 7070)
  --host <addr>              listen address [MINI_AGENT_HOST] (default 127.0.0.1)
  --state-dir <dir>          claws.json and the agent's lock, 0700 [MINI_AGENT_STATE_DIR]
                             (default .data/mini-agent)
  --gateway-cmd <cmd>        gateway program [MINI_AGENT_GATEWAY_CMD]
                             (default: node --import tsx scripts/dev-gateway.ts)
  --trusted-proxies <ips>    comma-separated addresses written to each gateway's config as
                             gateway.trustedProxies [MINI_AGENT_TRUSTED_PROXIES] (default: none, no
                             config written; with the edge: 127.0.0.1, the edge's own address)
  --tunnel-suffix <suffix>   this Mini's tunnel suffix, as registered; claws are claw-<id>.<suffix>
                             [MINI_AGENT_TUNNEL_SUFFIX]
  --edge-port <n>            run the edge, the Mini's one ingress, on this port: it routes
                             claw-<id>.<suffix> to that claw's gateway [MINI_AGENT_EDGE_PORT]
  --edge-host <addr>         the edge's listen address [MINI_AGENT_EDGE_HOST] (default 127.0.0.1,
                             where cloudflared reaches it; direct mode: the Mini's private address)
  --edge-cert <file>, --edge-key <file>
                             PEM certificate and key: the edge serves TLS (direct mode)
                             [MINI_AGENT_EDGE_CERT, MINI_AGENT_EDGE_KEY]
  --edge-trusted-forwarders <ips>
                             peers whose X-Forwarded-For / Cf-* headers the edge keeps
                             [MINI_AGENT_EDGE_TRUSTED_FORWARDERS] (default 127.0.0.1,::1: cloudflared)
  --host-names <names>       comma-separated names the Host header may carry, e.g. the name in the
                             Mini's agent URL [MINI_AGENT_HOST_NAMES] (default: this machine's
                             hostname, its .local name, its addresses and the loopback names)
  --dev                      local development only: plain HTTP on a loopback address, and without
                             MINI_AGENT_TOKEN the fixed, public dev token (printed at start)
  --stop-gateways-on-exit    stop every gateway when the agent exits (default: leave them running;
                             the next agent start adopts them)
${isolationUsage()}
  --help

tunnel-config [--tunnel-id <uuid>] [--credentials-file <file>] [--out <file>]
  prints (or writes) this Mini's cloudflared config: one wildcard ingress rule, *.<suffix> to the
  edge, and a 404 for everything else. Needs --tunnel-suffix and --edge-port.

Bearer token: MINI_AGENT_TOKEN, or MINI_AGENT_TOKEN_FILE / --token-file (at least 16 characters,
  not the dev token; required unless --dev). Without --dev the agent serves HTTPS with a key and
  self-signed certificate it generates into <state-dir>/tls on first start; register the Mini with
  the certificate's fingerprint, which it prints at start and with \`npm run agent -- fingerprint\`.
Tuning: MINI_AGENT_READY_TIMEOUT_MS, MINI_AGENT_RESTART_BACKOFF_MS, MINI_AGENT_RESTART_BACKOFF_MAX_MS,
  MINI_AGENT_MAX_QUICK_CRASHES, MINI_AGENT_STABLE_MS, MINI_AGENT_STOP_GRACE_MS,
  MINI_AGENT_PAIRING_WINDOW_MS, MINI_AGENT_PAIRING_INTERVAL_MS, MINI_AGENT_LOG_LEVEL.`;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export class HelpRequested extends Error {
  override name = 'HelpRequested';
  constructor() {
    super(USAGE);
  }
}

const emptyAsUndefined = (v: unknown) => (v === '' ? undefined : v);
const ms = (fallback: number) =>
  z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).default(fallback));

const Schema = z.object({
  host: z.preprocess(emptyAsUndefined, z.string().min(1).default('127.0.0.1')),
  port: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).max(65535).default(7070)),
  token: z.preprocess(emptyAsUndefined, z.string().optional()),
  stateDir: z.preprocess(emptyAsUndefined, z.string().default('.data/mini-agent')),
  gatewayCmd: z.preprocess(emptyAsUndefined, z.string().optional()),
  logLevel: z.preprocess(emptyAsUndefined, z.enum(['debug', 'info', 'warn', 'error']).default('info')),
  readyTimeoutMs: ms(120_000),
  restartBackoffMs: ms(1000),
  restartBackoffMaxMs: ms(30_000),
  maxQuickCrashes: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).default(5)),
  stableMs: ms(60_000),
  stopGraceMs: ms(10_000),
  pairingWindowMs: ms(60_000),
  pairingIntervalMs: ms(1000),
  trustedProxies: z.preprocess(emptyAsUndefined, z.string().optional()),
  tunnelSuffix: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^[a-z0-9.-]+$/, 'lowercase letters, digits, dots and hyphens only')
      .optional(),
  ),
  edgePort: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).max(65535).optional()),
  edgeHost: z.preprocess(emptyAsUndefined, z.string().min(1).default('127.0.0.1')),
  edgeCert: z.preprocess(emptyAsUndefined, z.string().optional()),
  edgeKey: z.preprocess(emptyAsUndefined, z.string().optional()),
  edgeTrustedForwarders: z.preprocess(emptyAsUndefined, z.string().default('127.0.0.1,::1')),
  hostNames: z.preprocess(emptyAsUndefined, z.string().optional()),
});

export function parseAgentConfig(
  argv: string[],
  env: Record<string, string | undefined>,
  host: HostFacts = thisHost(),
): AgentConfig {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'state-dir': { type: 'string' },
        'gateway-cmd': { type: 'string' },
        'trusted-proxies': { type: 'string' },
        'tunnel-suffix': { type: 'string' },
        'edge-port': { type: 'string' },
        'edge-host': { type: 'string' },
        'edge-cert': { type: 'string' },
        'edge-key': { type: 'string' },
        'edge-trusted-forwarders': { type: 'string' },
        'tunnel-id': { type: 'string' },
        'credentials-file': { type: 'string' },
        out: { type: 'string' },
        'host-names': { type: 'string' },
        dev: { type: 'boolean', default: false },
        'stop-gateways-on-exit': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
        ...ISOLATION_FLAGS,
      },
      strict: true,
      allowPositionals: true,
    }));
  } catch (err) {
    throw new ConfigError(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
  }
  if (values.help) throw new HelpRequested();
  if (positionals.length > 1 || (positionals[0] !== undefined && positionals[0] !== 'tunnel-config'))
    throw new ConfigError(`Unknown command ${positionals.join(' ')}\n\n${USAGE}`);
  const command = positionals[0] === 'tunnel-config' ? 'tunnel-config' : 'serve';

  const parsed = Schema.safeParse({
    host: values.host ?? env.MINI_AGENT_HOST,
    port: values.port ?? env.MINI_AGENT_PORT,
    token: agentToken(values['token-file'] ?? env.MINI_AGENT_TOKEN_FILE, env.MINI_AGENT_TOKEN, host),
    stateDir: values['state-dir'] ?? env.MINI_AGENT_STATE_DIR,
    gatewayCmd: values['gateway-cmd'] ?? env.MINI_AGENT_GATEWAY_CMD,
    logLevel: env.MINI_AGENT_LOG_LEVEL,
    readyTimeoutMs: env.MINI_AGENT_READY_TIMEOUT_MS,
    restartBackoffMs: env.MINI_AGENT_RESTART_BACKOFF_MS,
    restartBackoffMaxMs: env.MINI_AGENT_RESTART_BACKOFF_MAX_MS,
    maxQuickCrashes: env.MINI_AGENT_MAX_QUICK_CRASHES,
    stableMs: env.MINI_AGENT_STABLE_MS,
    stopGraceMs: env.MINI_AGENT_STOP_GRACE_MS,
    pairingWindowMs: env.MINI_AGENT_PAIRING_WINDOW_MS,
    pairingIntervalMs: env.MINI_AGENT_PAIRING_INTERVAL_MS,
    trustedProxies: values['trusted-proxies'] ?? env.MINI_AGENT_TRUSTED_PROXIES,
    tunnelSuffix: values['tunnel-suffix'] ?? env.MINI_AGENT_TUNNEL_SUFFIX,
    edgePort: values['edge-port'] ?? env.MINI_AGENT_EDGE_PORT,
    edgeHost: values['edge-host'] ?? env.MINI_AGENT_EDGE_HOST,
    edgeCert: values['edge-cert'] ?? env.MINI_AGENT_EDGE_CERT,
    edgeKey: values['edge-key'] ?? env.MINI_AGENT_EDGE_KEY,
    edgeTrustedForwarders: values['edge-trusted-forwarders'] ?? env.MINI_AGENT_EDGE_TRUSTED_FORWARDERS,
    hostNames: values['host-names'] ?? env.MINI_AGENT_HOST_NAMES,
  });
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`Invalid configuration: ${issues}`);
  }
  const c = parsed.data;
  // The dev token is public (it is in this repository): only an explicit dev agent, which only
  // this machine can reach, may use it, and such an agent speaks plain HTTP.
  const loopback = isLoopback(c.host);
  const dev = values.dev === true;
  if (dev && !loopback)
    throw new ConfigError(`--dev is for local runs: it listens on loopback only, not on ${c.host}`);
  // tunnel-config only writes cloudflared's config: it needs no token.
  const token = c.token ?? (dev || command === 'tunnel-config' ? DEV_AGENT_TOKEN : undefined);
  if (!token)
    throw new ConfigError(
      'MINI_AGENT_TOKEN is required (or --dev for a local development agent on loopback)',
    );
  if (token.length < 16) throw new ConfigError('MINI_AGENT_TOKEN must be at least 16 characters');
  if (!dev && command === 'serve' && token === DEV_AGENT_TOKEN)
    throw new ConfigError('MINI_AGENT_TOKEN is the public dev token; set a real one (or use --dev)');

  const gatewayCommand = c.gatewayCmd ? absolutePaths(splitCommand(c.gatewayCmd)) : defaultGatewayCommand();
  if (gatewayCommand.length === 0) throw new ConfigError('MINI_AGENT_GATEWAY_CMD is empty');

  const edge = edgeConfig(c, command);
  if (edge && edge.port !== 0 && edge.port === c.port && edge.host === c.host)
    throw new ConfigError('The edge needs a port of its own, not the agent API’s');
  const listedProxies = list(c.trustedProxies);
  // The edge is the gateways' only proxy: they must believe its forwarded addresses and no one
  // else's (a forwarded header from another address is refused with 403).
  if (edge && listedProxies.length && listedProxies.join(',') !== EDGE_PROXY_ADDRESS)
    throw new ConfigError(
      `With the edge, gateways trust only the edge (${EDGE_PROXY_ADDRESS}); --trusted-proxies ${listedProxies.join(',')} would trust others`,
    );

  const stateDir = path.resolve(c.stateDir);
  return {
    ...clawIsolationConfig(values, env, { dev, stateDir, host }),
    host: c.host,
    port: c.port,
    token,
    dev,
    hostNames: defaultHostNames(c.host, loopback, splitList(c.hostNames)),
    stateDir,
    gatewayCommand,
    stopGatewaysOnExit: values['stop-gateways-on-exit'] === true,
    trustedProxies: edge ? [EDGE_PROXY_ADDRESS] : listedProxies,
    logLevel: c.logLevel,
    tuning: {
      readyTimeoutMs: c.readyTimeoutMs,
      restartBackoffMs: c.restartBackoffMs,
      restartBackoffMaxMs: Math.max(c.restartBackoffMs, c.restartBackoffMaxMs),
      maxQuickCrashes: c.maxQuickCrashes,
      stableMs: c.stableMs,
      stopGraceMs: c.stopGraceMs,
      pairingWindowMs: c.pairingWindowMs,
      pairingIntervalMs: c.pairingIntervalMs,
    },
    command,
    tunnelSuffix: c.tunnelSuffix,
    edge,
    tunnel: { id: values['tunnel-id'], credentialsFile: values['credentials-file'], out: values.out },
  };
}

const list = (v: string | undefined) =>
  (v ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);

function edgeConfig(c: z.infer<typeof Schema>, command: AgentConfig['command']): EdgeConfig | undefined {
  if (c.edgePort === undefined) {
    if (command === 'tunnel-config')
      throw new ConfigError('tunnel-config needs --edge-port (MINI_AGENT_EDGE_PORT)');
    return undefined;
  }
  if (!c.tunnelSuffix)
    throw new ConfigError('The edge needs --tunnel-suffix (MINI_AGENT_TUNNEL_SUFFIX): the names it serves');
  if (!c.edgeCert !== !c.edgeKey) throw new ConfigError('--edge-cert and --edge-key go together');
  return {
    host: c.edgeHost,
    port: c.edgePort,
    trustedForwarders: list(c.edgeTrustedForwarders),
    tls:
      c.edgeCert && c.edgeKey
        ? { certFile: path.resolve(c.edgeCert), keyFile: path.resolve(c.edgeKey) }
        : undefined,
  };
}

const splitList = (v: string | undefined) =>
  (v ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);

/**
 * `npm run agent -- fingerprint`: prints the agent's certificate fingerprint (generating the key
 * and certificate if this state directory has none yet, so a Mini can be registered before its
 * agent first starts). Needs only the state directory, not the token.
 */
export function parseFingerprintCommand(
  argv: string[],
  env: Record<string, string | undefined>,
): { stateDir: string } | undefined {
  if (argv[0] !== 'fingerprint') return undefined;
  let values;
  try {
    ({ values } = parseArgs({
      args: argv.slice(1),
      options: { 'state-dir': { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new ConfigError(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
  }
  const stateDir = z
    .preprocess(emptyAsUndefined, z.string().default('.data/mini-agent'))
    .parse(values['state-dir'] ?? env.MINI_AGENT_STATE_DIR);
  return { stateDir: path.resolve(stateDir) };
}

/**
 * The dev gateway through this Node and tsx, resolved to absolute paths so the gateway can run with
 * its claw's directory as working directory.
 */
export function defaultGatewayCommand(): string[] {
  return [
    process.execPath,
    '--import',
    import.meta.resolve('tsx'),
    path.join(repoRoot, 'scripts/dev-gateway.ts'),
  ];
}

/** Splits a command line into argv: whitespace separates, single/double quotes and backslashes group. */
export function splitCommand(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < line.length) cur += line[++i];
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote) throw new ConfigError('MINI_AGENT_GATEWAY_CMD has an unterminated quote');
  if (inWord) out.push(cur);
  return out;
}

export function agentVersion(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** 127.0.0.0/8, ::1 and localhost: addresses nothing off this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

// ---- One OS user per claw, the agent's token file, what gateways get (issue 12) ----

export interface ClawIsolationConfig {
  /** Who gateways run as: their own claw users (`linux`, `macos`) or the agent's user (`none`). */
  isolation: IsolationKind;
  /** Where each claw's directory lives (`<clawsDir>/<clawId>`); outside stateDir with claw users. */
  clawsDir: string;
  /** Where the token came from, when a file (`doctor` checks it). */
  tokenFile?: string;
  /** The operator's base openclaw.json for every gateway (`--gateway-config`), parsed. */
  gatewayBaseConfig?: Record<string, unknown>;
  gatewayBaseConfigFile?: string;
  /** Extra environment variables handed down to gateways by name. */
  gatewayPassEnv: string[];
}

export interface HostFacts {
  platform: NodeJS.Platform;
  uid: number;
}

export const thisHost = (): HostFacts => ({ platform: process.platform, uid: process.getuid?.() ?? -1 });

const ISOLATION_FLAGS = {
  isolation: { type: 'string' },
  'claws-dir': { type: 'string' },
  'token-file': { type: 'string' },
  'gateway-config': { type: 'string' },
  'gateway-pass-env': { type: 'string' },
} as const;

/** Hoisted, for USAGE at the top of the file. */
function isolationUsage(): string {
  return `  --isolation <kind>         who gateways run as [MINI_AGENT_ISOLATION]: linux | macos (one OS user
                             per claw; the agent must be root) | none (the agent's own user).
                             Default: the platform's driver when root, none when not root or --dev
  --claws-dir <dir>          the claws' directories [MINI_AGENT_CLAWS_DIR] (default <state-dir>/claws
                             with none, /var/lib/claws/claws on Linux, /Library/Claws/claws on macOS)
  --token-file <file>        read the bearer token from a file readable by its owner only (0600,
                             root's when root) [MINI_AGENT_TOKEN_FILE]
  --gateway-config <file>    a JSON openclaw.json every gateway's config is built on (model
                             providers, say); the agent's own settings win [MINI_AGENT_GATEWAY_CONFIG]
  --gateway-pass-env <names> comma-separated variables of the agent's environment handed down to
                             gateways, which otherwise get only PATH, LANG, LC_ALL, LC_CTYPE, TZ
                             [MINI_AGENT_GATEWAY_PASS_ENV]`;
}

type IsolationFlagValues = { [K in keyof typeof ISOLATION_FLAGS]?: string | boolean };

function clawIsolationConfig(
  values: IsolationFlagValues,
  env: Record<string, string | undefined>,
  ctx: { dev: boolean; stateDir: string; host: HostFacts },
): ClawIsolationConfig {
  const str = (v: string | boolean | undefined, fallback: string | undefined) =>
    (typeof v === 'string' && v !== '' ? v : undefined) ?? (fallback === '' ? undefined : fallback);
  const isolation = chooseIsolation(str(values.isolation, env.MINI_AGENT_ISOLATION), ctx.dev, ctx.host);
  const clawsDir = str(values['claws-dir'], env.MINI_AGENT_CLAWS_DIR);
  const tokenFile = str(values['token-file'], env.MINI_AGENT_TOKEN_FILE);
  const baseFile = str(values['gateway-config'], env.MINI_AGENT_GATEWAY_CONFIG);
  return {
    isolation,
    clawsDir: clawsDir ? path.resolve(clawsDir) : defaultClawsDir(isolation, ctx.stateDir),
    ...(tokenFile ? { tokenFile: path.resolve(tokenFile) } : {}),
    ...(baseFile
      ? { gatewayBaseConfig: readGatewayBaseConfig(baseFile), gatewayBaseConfigFile: path.resolve(baseFile) }
      : {}),
    gatewayPassEnv: passEnvNames(str(values['gateway-pass-env'], env.MINI_AGENT_GATEWAY_PASS_ENV) ?? ''),
  };
}

/**
 * The driver: as asked, if this machine can run it; else the platform's own when the agent is
 * root, since a root agent running every tenant's gateway as root would be the worst of both; and
 * `none` for a dev agent or one that is not root.
 */
export function chooseIsolation(requested: string | undefined, dev: boolean, host: HostFacts): IsolationKind {
  if (requested === undefined) {
    if (dev || host.uid !== 0) return 'none';
    return host.platform === 'linux' ? 'linux' : host.platform === 'darwin' ? 'macos' : 'none';
  }
  const kind = ISOLATION_KINDS.find((k) => k === requested);
  if (!kind)
    throw new ConfigError(`--isolation must be one of ${ISOLATION_KINDS.join(', ')}, not "${requested}"`);
  if (kind === 'none') return kind;
  const platform = kind === 'linux' ? 'linux' : 'darwin';
  if (host.platform !== platform)
    throw new ConfigError(`--isolation ${kind} runs on ${kind === 'linux' ? 'Linux' : 'macOS'} only`);
  if (host.uid !== 0)
    throw new ConfigError(
      `--isolation ${kind} needs root: the agent creates one OS user per claw and starts each gateway as it (run it with sudo or as the LaunchDaemon; --isolation none runs every gateway as this user)`,
    );
  return kind;
}

export function defaultClawsDir(isolation: IsolationKind, stateDir: string): string {
  if (isolation === 'linux') return '/var/lib/claws/claws';
  if (isolation === 'macos') return '/Library/Claws/claws';
  return path.join(stateDir, 'claws');
}

/** The agent's token: from its file (checked like ssh checks a key), else from MINI_AGENT_TOKEN. */
function agentToken(
  file: string | undefined,
  fromEnv: string | undefined,
  host: HostFacts,
): string | undefined {
  if (!file) return fromEnv;
  if (fromEnv) throw new ConfigError('Set MINI_AGENT_TOKEN or a token file, not both');
  return readTokenFile(file, host);
}

export function readTokenFile(file: string, host: HostFacts): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new ConfigError(`Cannot read the token file ${file}`);
  }
  if (!st.isFile()) throw new ConfigError(`The token file ${file} is not a file`);
  if (st.mode & 0o077)
    throw new ConfigError(
      `The token file ${file} is ${(st.mode & 0o777).toString(8)}: it must be readable by its owner only (chmod 600)`,
    );
  if (host.uid === 0 && st.uid !== 0) throw new ConfigError(`The token file ${file} must belong to root`);
  const token = fs.readFileSync(file, 'utf8').trim();
  if (!token) throw new ConfigError(`The token file ${file} is empty`);
  return token;
}

function readGatewayBaseConfig(file: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`Cannot read the gateway config ${file}: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new ConfigError(`The gateway config ${file} must hold a JSON object`);
  return parsed as Record<string, unknown>;
}

function passEnvNames(list: string): string[] {
  const names = list
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      throw new ConfigError(`--gateway-pass-env: "${name}" is not a variable name`);
    if (NEVER_PASSED.test(name))
      throw new ConfigError(
        `--gateway-pass-env: ${name} is the agent's or the control plane's; it never reaches a gateway`,
      );
  }
  return names;
}

/**
 * A gateway runs in its claw's home, so a relative path in the configured command (one with a
 * slash: `scripts/dev-gateway.ts`, `./bin/node`) is made absolute against the agent's working
 * directory, where it meant something. Bare names (`node`, a `--import` package) are left to PATH
 * and Node.
 */
function absolutePaths(command: string[]): string[] {
  return command.map((word) =>
    !word.startsWith('-') &&
    word.includes('/') &&
    !path.isAbsolute(word) &&
    !word.includes(':') &&
    fs.existsSync(word)
      ? path.resolve(word)
      : word,
  );
}
