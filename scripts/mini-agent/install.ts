import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, readTokenFile, repoRoot, splitCommand, thisHost, type HostFacts } from './config';

/**
 * `npm run agent -- install`: makes the agent a macOS LaunchDaemon. It writes the plist
 * (/Library/LaunchDaemons/<label>.plist: root, started at boot, restarted when it exits, its output
 * in a log directory) and, when there is none yet, the agent's bearer token in a root-owned 0600
 * file that the agent reads with --token-file. The plist holds paths and flags only, never a
 * secret: plists are world-readable. Loading it is left to the operator (`launchctl bootstrap`),
 * printed at the end. On other systems it writes a plist only where --out says, or prints it with
 * --dry-run (tests, review).
 */

export const DEFAULT_LABEL = 'com.claws.mini-agent';

export interface LaunchDaemon {
  label: string;
  programArguments: readonly string[];
  workingDirectory: string;
  environment: Readonly<Record<string, string>>;
  stdoutPath: string;
  stderrPath: string;
}

const xml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const str = (s: string) => `<string>${xml(s)}</string>`;

/** The LaunchDaemon plist, as launchd reads it (launchd.plist(5)). */
export function launchDaemonPlist(d: LaunchDaemon): string {
  const env = Object.entries(d.environment)
    .map(([k, v]) => `      <key>${xml(k)}</key>\n      ${str(v)}`)
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
  <dict>
    <key>Label</key>
    ${str(d.label)}
    <key>ProgramArguments</key>
    <array>
${d.programArguments.map((a) => `      ${str(a)}`).join('\n')}
    </array>
    <key>WorkingDirectory</key>
    ${str(d.workingDirectory)}
    <key>EnvironmentVariables</key>
    <dict>
${env}
    </dict>
    <key>RunAtLoad</key>
    <true/>
    <key>KeepAlive</key>
    <true/>
    <key>ThrottleInterval</key>
    <integer>10</integer>
    <!-- Gateways run in their own sessions and must outlive an agent restart: launchd must not
         kill what is left of the job's process group when the agent exits. -->
    <key>AbandonProcessGroup</key>
    <true/>
    <!-- Gateways inherit the agent's limits; launchd's default of 256 open files is too few. -->
    <key>SoftResourceLimits</key>
    <dict>
      <key>NumberOfFiles</key>
      <integer>16384</integer>
    </dict>
    <key>StandardOutPath</key>
    ${str(d.stdoutPath)}
    <key>StandardErrorPath</key>
    ${str(d.stderrPath)}
  </dict>
</plist>
`;
}

export const INSTALL_USAGE = `Usage: npm run agent -- install [options] [-- <more agent flags>]

Writes the Mini agent's LaunchDaemon (run it with sudo on the Mini), and the agent's token file when
there is none. Options (defaults in brackets):
  --gateway-cmd <cmd>      the real OpenClaw gateway, e.g.
                           "/opt/node24/bin/node /opt/openclaw/node_modules/openclaw/openclaw.mjs" (required)
  --node <path>            Node for the agent [this Node: ${process.execPath}]
  --host <addr> --port <n> where the agent listens [0.0.0.0, 7070]
  --state-dir <dir>        the agent's state, root's only [/Library/Claws/agent]
  --claws-dir <dir>        the claws' directories [/Library/Claws/claws]
  --token-file <file>      the agent's bearer token, created if missing [/Library/Claws/agent-token]
  --trusted-proxies <ips>  written to each gateway's config [127.0.0.1: the local tunnel]
  --gateway-config <file>  a base openclaw.json for every gateway
  --log-dir <dir>          the agent's stdout and stderr [/Library/Logs/Claws]
  --label <label>          [${DEFAULT_LABEL}]
  --out <file>             where the plist goes [/Library/LaunchDaemons/<label>.plist]
  --dry-run                print the plist, write nothing`;

export interface InstallPlan {
  plist: string;
  out: string;
  label: string;
  tokenFile: string;
  logDir: string;
  dryRun: boolean;
}

/** Reads install's flags into what it would write; throws ConfigError with the usage on bad input. */
export function planInstall(argv: string[], host: HostFacts = thisHost()): InstallPlan {
  const dash = argv.indexOf('--');
  const extra = dash >= 0 ? argv.slice(dash + 1) : [];
  let values;
  try {
    ({ values } = parseArgs({
      args: dash >= 0 ? argv.slice(0, dash) : argv,
      options: {
        'gateway-cmd': { type: 'string' },
        node: { type: 'string', default: process.execPath },
        host: { type: 'string', default: '0.0.0.0' },
        port: { type: 'string', default: '7070' },
        'state-dir': { type: 'string', default: '/Library/Claws/agent' },
        'claws-dir': { type: 'string', default: '/Library/Claws/claws' },
        'token-file': { type: 'string', default: '/Library/Claws/agent-token' },
        'trusted-proxies': { type: 'string', default: '127.0.0.1' },
        'gateway-config': { type: 'string' },
        'log-dir': { type: 'string', default: '/Library/Logs/Claws' },
        label: { type: 'string', default: DEFAULT_LABEL },
        out: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}\n\n${INSTALL_USAGE}`);
  }
  if (values.help) throw new ConfigError(INSTALL_USAGE);
  const gatewayCmd = values['gateway-cmd'];
  if (!gatewayCmd)
    throw new ConfigError(
      `install needs --gateway-cmd, the real OpenClaw gateway a Mini runs\n\n${INSTALL_USAGE}`,
    );
  splitCommand(gatewayCmd); // refuses an unterminated quote now, not at the agent's first start
  const label = values.label;
  if (!/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(label))
    throw new ConfigError(`--label "${label}" is not a launchd label`);
  const dryRun = values['dry-run'];
  if (host.platform !== 'darwin' && !values.out && !dryRun)
    throw new ConfigError('LaunchDaemons are macOS; elsewhere give --out <file> or --dry-run');

  const abs = (p: string) => path.resolve(p);
  const node = abs(values.node);
  const logDir = abs(values['log-dir']);
  const tokenFile = abs(values['token-file']);
  const agentArgs = [
    '--host',
    values.host,
    '--port',
    values.port,
    '--state-dir',
    abs(values['state-dir']),
    '--claws-dir',
    abs(values['claws-dir']),
    '--token-file',
    tokenFile,
    '--isolation',
    'macos',
    '--gateway-cmd',
    gatewayCmd,
    ...(values['trusted-proxies'] ? ['--trusted-proxies', values['trusted-proxies']] : []),
    ...(values['gateway-config'] ? ['--gateway-config', abs(values['gateway-config'])] : []),
    ...extra,
  ];
  const plist = launchDaemonPlist({
    label,
    programArguments: [
      node,
      '--import',
      import.meta.resolve('tsx'),
      path.join(repoRoot, 'scripts/mini-agent.ts'),
      ...agentArgs,
    ],
    workingDirectory: repoRoot,
    // Where the agent finds cloudflared (Homebrew) and the system tools; nothing else, no secret.
    environment: {
      PATH: [
        path.dirname(node),
        '/opt/homebrew/bin',
        '/usr/local/bin',
        '/usr/bin',
        '/bin',
        '/usr/sbin',
        '/sbin',
      ]
        .filter((d, i, all) => all.indexOf(d) === i)
        .join(':'),
    },
    stdoutPath: path.join(logDir, 'mini-agent.log'),
    stderrPath: path.join(logDir, 'mini-agent.err.log'),
  });
  return {
    plist,
    out: abs(values.out ?? `/Library/LaunchDaemons/${label}.plist`),
    label,
    tokenFile,
    logDir,
    dryRun,
  };
}

/** Carries the plan out: token file (when missing), log directory, plist. Returns what to tell the operator. */
export function applyInstall(plan: InstallPlan, host: HostFacts = thisHost()): string[] {
  if (plan.dryRun) return [plan.plist];
  const lines: string[] = [];
  if (fs.existsSync(plan.tokenFile)) {
    readTokenFile(plan.tokenFile, host); // refuses one others can read
    lines.push(`token: keeping ${plan.tokenFile}`);
  } else {
    fs.mkdirSync(path.dirname(plan.tokenFile), { recursive: true, mode: 0o755 });
    fs.writeFileSync(plan.tokenFile, `${randomBytes(32).toString('base64url')}\n`, {
      flag: 'wx',
      mode: 0o600,
    });
    if (host.uid === 0) fs.chownSync(plan.tokenFile, 0, 0);
    lines.push(`token: created ${plan.tokenFile} (root's, 0600)`);
  }
  fs.mkdirSync(plan.logDir, { recursive: true, mode: 0o755 });
  fs.mkdirSync(path.dirname(plan.out), { recursive: true });
  const tmp = `${plan.out}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, plan.plist, { mode: 0o644 });
  // launchd refuses a plist that is not root's or that others may write.
  if (host.uid === 0) fs.chownSync(tmp, 0, 0);
  fs.chmodSync(tmp, 0o644);
  fs.renameSync(tmp, plan.out);
  lines.push(
    `plist: wrote ${plan.out}`,
    '',
    'Next:',
    `  sudo launchctl bootstrap system ${plan.out}     # start it now and at every boot`,
    `  sudo launchctl kickstart -k system/${plan.label}  # restart it (after an upgrade); gateways keep running`,
    `  sudo launchctl bootout system/${plan.label}       # stop it and remove it from launchd`,
    `  logs: ${plan.logDir}/mini-agent.log, mini-agent.err.log`,
    `Register the Mini with the control plane using the token in ${plan.tokenFile}:`,
    `  npm run claws -- mini register --agent-token "$(sudo cat ${plan.tokenFile})" --hostname … --agent-url … --tunnel-suffix … --ports … --capacity …`,
  );
  return lines;
}
