import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCommand, type CommandRunner } from './command-runner';
import {
  ConfigError,
  DEV_AGENT_TOKEN,
  defaultGatewayCommand,
  readTokenFile,
  type AgentConfig,
  type HostFacts,
} from './config';
import { clawsDirProblems, gatewayProgramProblems } from './preflight';

/**
 * `npm run agent -- doctor`: what a Mini needs, checked against the agent's own configuration (the
 * same flags and variables as the agent), one line per check, exit 1 when something required is
 * missing. Gathering the facts runs commands and reads the disk; judging them is pure, so each rule
 * is unit-tested with made-up facts.
 */

/** The OpenClaw release the interop tests run (.ci/install-openclaw.sh); a Mini should run the same. */
export const TESTED_OPENCLAW_VERSION = '2026.9.6';
const GIB = 1024 ** 3;

export interface DoctorFacts {
  platform: NodeJS.Platform;
  uid: number;
  isolation: AgentConfig['isolation'];
  isolationTools: { name: string; found: boolean }[];
  agentNode: string;
  devGateway: boolean;
  /** `--version` of the Node the gateway runs on, or why there is none. */
  gatewayNode: { path: string; version?: string; error?: string };
  /** The configured gateway's `--version` line. */
  openclaw: { version?: string; error?: string };
  openclawOnPath?: { path: string; version?: string };
  cloudflared?: { path: string; version?: string };
  freeBytes?: number;
  totalMemBytes: number;
  stateDir: string;
  stateDirStat?: { mode: number; uid: number };
  stateFileStat?: { mode: number; uid: number };
  token: { source: 'file' | 'env' | 'dev'; file?: string; problem?: string };
  clawsDir: string;
  clawsDirProblems: string[];
  gatewayProblems: string[];
}

export type CheckStatus = 'ok' | 'warn' | 'missing';
export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do, when not ok. */
  fix?: string;
}

/** `v24.21.0` → [24, 21, 0]. */
export function parseNodeVersion(v: string): [number, number, number] | undefined {
  const m = /v?(\d+)\.(\d+)\.(\d+)/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** OpenClaw's engines: node >=24.16.0 <25 || >=26.1.0. */
export function nodeRunsOpenClaw(v: string): boolean {
  const p = parseNodeVersion(v);
  if (!p) return false;
  const [major, minor] = p;
  return (major === 24 && minor >= 16) || (major === 26 && minor >= 1) || major > 26;
}

/** `OpenClaw 2026.9.6 (eb377ac)` → `2026.9.6`. */
export function parseOpenClawVersion(out: string): string | undefined {
  return /OpenClaw\s+(\d+\.\d+\.\d+\S*)/.exec(out)?.[1];
}

const octal = (mode: number) => (mode & 0o777).toString(8).padStart(3, '0');

export function doctorChecks(f: DoctorFacts): Check[] {
  const checks: Check[] = [];
  const add = (name: string, status: CheckStatus, detail: string, fix?: string) =>
    checks.push({ name, status, detail, ...(fix && status !== 'ok' ? { fix } : {}) });

  add(
    'root',
    f.uid === 0 ? 'ok' : 'missing',
    f.uid === 0 ? 'running as root' : `running as uid ${f.uid}`,
    'run the agent (and doctor) as root: sudo, or the LaunchDaemon `npm run agent -- install` writes',
  );

  const missingTools = f.isolationTools.filter((t) => !t.found).map((t) => t.name);
  if (f.isolation === 'none')
    add(
      'isolation',
      'missing',
      'none: every gateway would run as the agent’s own user, able to read every other claw',
      f.uid === 0
        ? `give --isolation ${f.platform === 'darwin' ? 'macos' : 'linux'} (a dev agent, one without a token, defaults to none)`
        : 'run the agent as root, where the default is one OS user per claw',
    );
  else
    add(
      'isolation',
      missingTools.length ? 'missing' : 'ok',
      missingTools.length
        ? `${f.isolation}: ${missingTools.join(', ')} not found`
        : `${f.isolation}: one OS user per claw (${f.isolationTools.map((t) => t.name).join(', ')})`,
      'the system’s user tools must be on PATH (/usr/sbin, /usr/bin)',
    );

  const agentNode = parseNodeVersion(f.agentNode);
  const agentOk = !!agentNode && (agentNode[0] > 20 || (agentNode[0] === 20 && agentNode[1] >= 9));
  add(
    'node (agent)',
    !agentOk ? 'missing' : nodeRunsOpenClaw(f.agentNode) ? 'ok' : 'warn',
    `${f.agentNode} (${process.execPath})`,
    agentOk
      ? 'the gateway’s Node 24 runs the agent too: install --node <it>'
      : 'the agent needs Node 20.9 or later',
  );

  if (f.devGateway)
    add(
      'gateway',
      'missing',
      'the dev gateway (scripts/dev-gateway.ts) is configured, not OpenClaw',
      'give --gateway-cmd (MINI_AGENT_GATEWAY_CMD) "<node 24> <openclaw>/node_modules/openclaw/openclaw.mjs"',
    );
  else {
    const v = f.gatewayNode.version;
    add(
      'node (gateway)',
      v && nodeRunsOpenClaw(v) ? 'ok' : 'missing',
      v ? `${v} (${f.gatewayNode.path})` : `${f.gatewayNode.path}: ${f.gatewayNode.error ?? 'not found'}`,
      'OpenClaw needs Node >=24.16 <25 or >=26.1: install Node 24 and name it in --gateway-cmd',
    );
    const onPath = f.openclawOnPath
      ? `; on PATH: ${f.openclawOnPath.path} ${f.openclawOnPath.version ?? '(no version)'}`
      : '';
    const ov = f.openclaw.version;
    add(
      'openclaw',
      !ov ? 'missing' : ov === TESTED_OPENCLAW_VERSION ? 'ok' : 'warn',
      ov
        ? `the gateway command runs OpenClaw ${ov}${onPath}`
        : `the gateway command failed: ${f.openclaw.error ?? '?'}${onPath}`,
      ov
        ? `Claws is tested with OpenClaw ${TESTED_OPENCLAW_VERSION}: npm install openclaw@${TESTED_OPENCLAW_VERSION}`
        : `install OpenClaw ${TESTED_OPENCLAW_VERSION} (npm install openclaw@${TESTED_OPENCLAW_VERSION}) and check --gateway-cmd`,
    );
  }

  add(
    'cloudflared',
    f.cloudflared ? 'ok' : 'missing',
    f.cloudflared ? `${f.cloudflared.version ?? 'found'} (${f.cloudflared.path})` : 'not on PATH',
    'brew install cloudflared (the Mini’s tunnel to the internet)',
  );

  if (f.freeBytes === undefined) add('disk', 'warn', `cannot read the free space at ${f.clawsDir}`);
  else {
    const gib = f.freeBytes / GIB;
    add(
      'disk',
      gib >= 10 ? 'ok' : gib >= 2 ? 'warn' : 'missing',
      `${gib.toFixed(1)} GiB free for ${f.clawsDir}`,
      'claws keep their sessions, logs and backups staging there: free at least 10 GiB',
    );
  }
  const memGib = f.totalMemBytes / GIB;
  add(
    'memory',
    memGib >= 4 ? 'ok' : 'warn',
    `${memGib.toFixed(0)} GiB: room for about ${Math.max(0, Math.floor(memGib - 2))} gateways (≈1 GiB each with helpers)`,
    'register the Mini with a capacity its memory can hold',
  );

  const s = f.stateDirStat;
  if (!s) add('state dir', 'ok', `${f.stateDir} (none yet; the agent makes it, 0700)`);
  else {
    const good = (s.mode & 0o077) === 0 && (f.uid !== 0 || s.uid === 0);
    add(
      'state dir',
      good ? 'ok' : 'missing',
      `${f.stateDir} ${octal(s.mode)}, owner uid ${s.uid}`,
      `it holds every claw's gateway token: chown root ${f.stateDir} && chmod 700 ${f.stateDir}`,
    );
  }
  const sf = f.stateFileStat;
  if (sf) {
    const good = (sf.mode & 0o077) === 0 && (f.uid !== 0 || sf.uid === 0);
    add(
      'state file',
      good ? 'ok' : 'missing',
      `claws.json ${octal(sf.mode)}, owner uid ${sf.uid}`,
      `chown root and chmod 600 ${path.join(f.stateDir, 'claws.json')}`,
    );
  }

  if (f.token.source === 'file')
    add(
      'token',
      f.token.problem ? 'missing' : 'ok',
      f.token.problem ?? `from ${f.token.file}`,
      'npm run agent -- install creates one (root’s, 0600)',
    );
  else
    add(
      'token',
      f.token.source === 'dev' ? 'missing' : 'warn',
      f.token.source === 'dev' ? 'the fixed dev token' : 'from MINI_AGENT_TOKEN (the environment)',
      'give --token-file: a root-owned 0600 file (npm run agent -- install writes one)',
    );

  add(
    'claws dir',
    f.clawsDirProblems.length ? 'missing' : 'ok',
    f.clawsDirProblems.join('; ') || `${f.clawsDir} reachable by claw users`,
    'choose --claws-dir outside the state directory, on a path others may traverse (chmod o+x)',
  );
  if (!f.devGateway)
    add(
      'gateway files',
      f.gatewayProblems.length ? 'missing' : 'ok',
      f.gatewayProblems.join('; ') || 'claw users can run the gateway command',
      'install Node and OpenClaw where every user may read them (e.g. /opt, chmod -R o+rX)',
    );
  return checks;
}

/** One line per check; the exit code is 1 when a check is missing. */
export function formatChecks(checks: Check[]): { lines: string[]; exitCode: number } {
  const width = Math.max(...checks.map((c) => c.name.length));
  const lines = checks.map(
    (c) => `${c.status.padEnd(7)} ${c.name.padEnd(width)}  ${c.detail}${c.fix ? ` — ${c.fix}` : ''}`,
  );
  return { lines, exitCode: checks.some((c) => c.status === 'missing') ? 1 : 0 };
}

async function which(name: string, run: CommandRunner): Promise<string | undefined> {
  const r = await run('/bin/sh', ['-c', 'command -v "$0"', name]);
  const found = r.stdout.trim();
  return r.code === 0 && found.startsWith('/') ? found : undefined;
}

const firstLine = (s: string) => s.trim().split('\n')[0]?.trim();

/** The facts doctorChecks judges, for this machine and this agent configuration. */
export async function gatherDoctorFacts(
  config: AgentConfig,
  deps: { run?: CommandRunner; host: HostFacts },
): Promise<DoctorFacts> {
  const run = deps.run ?? runCommand;
  const [program = '', ...programArgs] = config.gatewayCommand;
  const devGateway =
    config.gatewayCommand.at(-1) === defaultGatewayCommand().at(-1) ||
    config.gatewayCommand.some((a) => /dev-gateway\.(ts|mjs)$/.test(a));

  // The gateway's Node: its program when that is node, else the `node` its PATH finds first.
  const nodePath = /(^|\/)node[\d.]*$/.test(program)
    ? program
    : ((path.isAbsolute(program) && fs.existsSync(path.join(path.dirname(program), 'node'))
        ? path.join(path.dirname(program), 'node')
        : await which('node', run)) ?? 'node');
  const nodeRun = await run(nodePath, ['--version']);
  const gatewayNode =
    nodeRun.code === 0
      ? { path: nodePath, version: firstLine(nodeRun.stdout) ?? '' }
      : { path: nodePath, error: firstLine(nodeRun.stderr) ?? `exit ${nodeRun.code}` };

  const version = devGateway
    ? { code: 1, stdout: '', stderr: 'dev gateway' }
    : await run(program, [...programArgs, '--version']);
  const openclawVersion = parseOpenClawVersion(version.stdout + version.stderr);
  const onPath = await which('openclaw', run);
  const onPathVersion = onPath ? parseOpenClawVersion((await run(onPath, ['--version'])).stdout) : undefined;
  const cfPath = await which('cloudflared', run);
  const cfVersion = cfPath ? firstLine((await run(cfPath, ['--version'])).stdout) : undefined;

  const tools =
    config.isolation === 'linux'
      ? ['getent', 'groupadd', 'useradd', 'userdel', 'groupdel']
      : config.isolation === 'macos'
        ? ['dscl', 'ps']
        : [];
  const isolationTools = await Promise.all(
    tools.map(async (name) => ({ name, found: !!(await which(name, run)) })),
  );

  let freeBytes: number | undefined;
  try {
    let dir = config.clawsDir;
    while (!fs.existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
    const st = fs.statfsSync(dir);
    freeBytes = st.bavail * st.bsize;
  } catch {
    freeBytes = undefined;
  }
  const statOf = (p: string) => {
    try {
      const st = fs.statSync(p);
      return { mode: st.mode, uid: st.uid };
    } catch {
      return undefined;
    }
  };

  let token: DoctorFacts['token'];
  if (config.tokenFile) {
    let problem: string | undefined;
    try {
      readTokenFile(config.tokenFile, deps.host);
    } catch (err) {
      problem = err instanceof ConfigError ? err.message : String(err);
    }
    token = { source: 'file', file: config.tokenFile, ...(problem ? { problem } : {}) };
  } else token = { source: config.token === DEV_AGENT_TOKEN ? 'dev' : 'env' };

  const stateDirStat = statOf(config.stateDir);
  const stateFileStat = statOf(path.join(config.stateDir, 'claws.json'));
  return {
    platform: deps.host.platform,
    uid: deps.host.uid,
    isolation: config.isolation,
    isolationTools,
    agentNode: process.version,
    devGateway,
    gatewayNode,
    openclaw: openclawVersion
      ? { version: openclawVersion }
      : { error: firstLine(version.stderr || version.stdout) ?? `exit ${version.code}` },
    ...(onPath
      ? { openclawOnPath: { path: onPath, ...(onPathVersion ? { version: onPathVersion } : {}) } }
      : {}),
    ...(cfPath ? { cloudflared: { path: cfPath, ...(cfVersion ? { version: cfVersion } : {}) } } : {}),
    ...(freeBytes !== undefined ? { freeBytes } : {}),
    totalMemBytes: os.totalmem(),
    stateDir: config.stateDir,
    ...(stateDirStat ? { stateDirStat } : {}),
    ...(stateFileStat ? { stateFileStat } : {}),
    token,
    clawsDir: config.clawsDir,
    clawsDirProblems: clawsDirProblems(config),
    gatewayProblems: devGateway ? [] : gatewayProgramProblems(config),
  };
}
