// test: serial (creates OS users and runs gateways as them; boots the real OpenClaw gateway when installed)
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildSync } from 'esbuild';
import { openclawConnect, request } from '../../server/gateway/openclaw-client';
import {
  createAgentClient,
  type AgentClient,
  type AgentClawStatusReport,
} from '../../server/fleet/agent-client';
import { devGatewayCommand } from '../../tests/fixtures/fleet';
import { realGatewayInstalled } from '../../tests/fixtures/gateways';
import { freePort, repoRoot, waitFor } from '../../tests/fixtures/processes';
import { startScriptedModel, type ScriptedModel } from '../../tests/fixtures/scripted-model';
import { TOOL_POLICY } from './gateway-config';
import { clawUserName } from './isolation';
import { isAlive, procPidsOfUid } from './processes';
import { closedToOthers, gatewayCommandClosedToOthers } from './reachability';

/**
 * One OS user per claw, for real: a real agent as root with `--isolation linux` starts claws whose
 * gateways run as their own users; what one claw's user can and cannot reach is tried as that user
 * (a probe with exactly the gateway's credentials), and stopping and deleting are checked against
 * the process table and the user database. With the real OpenClaw gateway, a scripted model makes
 * it call tools, and reading another claw's directory fails: first because the agent's tool policy
 * leaves the model no file tool, then, with file tools allowed, because the kernel refuses.
 */

const skip =
  process.platform !== 'linux'
    ? 'Linux only: claw users are made with useradd'
    : process.getuid?.() !== 0
      ? 'needs root: the agent creates one OS user per claw (CI runs as root)'
      : false;
if (skip) console.log(`# isolation suite skipped: ${skip}`);

/** Undone in reverse in after(), whatever failed. */
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const fn of cleanups.reverse()) {
    try {
      await fn();
    } catch (err) {
      console.error(`cleanup: ${String(err)}`);
    }
  }
});

/** Values set in the agent's environment that no gateway may see. */
const CANARIES = {
  DATABASE_URL: 'postgres://claws:canary-db-password@127.0.0.1/claws',
  CLAWS_SECRET_KEYS: 'k1:canary-secret-key',
  MINI_AGENT_CANARY: 'canary-agent-setting',
  AWS_SECRET_ACCESS_KEY: 'canary-aws-secret',
};

const tempDir = (prefix: string, mode: number) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, mode);
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
};

/** Removes a claw's user whatever the agent managed to do (the agent normally does it). */
function forgetUserOf(clawId: string): void {
  cleanups.push(async () => {
    const name = clawUserName(clawId);
    const entry = spawnSync('getent', ['passwd', name], { encoding: 'utf8' });
    if (entry.status === 0) {
      const uid = Number(entry.stdout.split(':')[2]);
      for (const pid of await procPidsOfUid(uid)) process.kill(pid, 'SIGKILL');
      spawnSync('userdel', ['--force', name]);
    }
    if (spawnSync('getent', ['group', name]).status === 0) spawnSync('groupdel', [name]);
  });
}

interface Agent {
  child: ChildProcess;
  port: number;
  url: string;
  /** The agent certificate's fingerprint, as it printed it (the client pins it). */
  fingerprint?: string;
  output: () => string;
  exited: Promise<void>;
}

interface AgentSetup {
  stateDir: string;
  clawsDir: string;
  tokenFile: string;
  token: string;
  gatewayCmd: string;
  env?: Record<string, string>;
  args?: string[];
}

function agentSetup(gatewayCmd: string, extra: Partial<AgentSetup> = {}): AgentSetup {
  const stateDir = tempDir('claws-iso-state-', 0o700);
  const tokenDir = tempDir('claws-iso-token-', 0o700);
  const token = `agent-${randomBytes(16).toString('hex')}`;
  const tokenFile = path.join(tokenDir, 'agent-token');
  fs.writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  return { stateDir, clawsDir: tempDir('claws-iso-claws-', 0o711), tokenFile, token, gatewayCmd, ...extra };
}

async function startAgent(s: AgentSetup, port?: number): Promise<Agent> {
  const p = port ?? (await freePort());
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'scripts/mini-agent.ts',
      '--port',
      String(p),
      '--isolation',
      'linux',
      '--state-dir',
      s.stateDir,
      '--claws-dir',
      s.clawsDir,
      '--token-file',
      s.tokenFile,
      '--gateway-cmd',
      s.gatewayCmd,
      ...(s.args ?? []),
    ],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        ...CANARIES,
        MINI_AGENT_TOKEN: '',
        MINI_AGENT_RESTART_BACKOFF_MS: '200',
        MINI_AGENT_STOP_GRACE_MS: '8000',
        ...s.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const agent: Agent = { child, port: p, url: `https://127.0.0.1:${p}`, output: () => out, exited };
  cleanups.push(() => killAgent(agent));
  await waitFor(`the agent on port ${p}`, async () => {
    if (child.exitCode !== null) throw new Error(`the agent exited: ${out}`);
    return out.includes('mini-agent: listening on');
  });
  agent.url = /mini-agent: listening on (\S+)/.exec(out)![1]!;
  agent.fingerprint = /mini-agent: certificate fingerprint (sha256:[0-9a-f]{64})/.exec(out)?.[1];
  return agent;
}

async function killAgent(agent: Agent, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (agent.child.exitCode === null && agent.child.signalCode === null) agent.child.kill(signal);
  await agent.exited;
}

const waitForStatus = (
  client: AgentClient,
  clawId: string,
  want: AgentClawStatusReport['status'],
  extra: (s: AgentClawStatusReport) => boolean = () => true,
  timeoutMs = 30_000,
) =>
  waitFor(
    `claw ${clawId} ${want}`,
    async () => {
      const s = await client.clawStatus(clawId);
      if (s.status === 'failed' && want !== 'failed') throw new Error(`claw failed: ${s.error}`);
      return s.status === want && extra(s) ? s : undefined;
    },
    timeoutMs,
    200,
  );

interface Passwd {
  name: string;
  uid: number;
  gid: number;
}
function passwd(name: string): Passwd | undefined {
  const r = spawnSync('getent', ['passwd', name], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const f = r.stdout.trim().split(':');
  return { name, uid: Number(f[2]), gid: Number(f[3]) };
}
const groupExists = (name: string) => spawnSync('getent', ['group', name]).status === 0;

/** A process's credentials, from /proc: every uid and gid, and its supplementary groups. */
function credentials(pid: number): { uids: number[]; gids: number[]; groups: number[] } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const ids = (key: string) =>
    (new RegExp(`^${key}:[ \\t]*(.*)$`, 'm').exec(status)?.[1] ?? '')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  return { uids: ids('Uid'), gids: ids('Gid'), groups: ids('Groups') };
}

/** Next's types declare NODE_ENV required in ProcessEnv; a probe needs nothing but PATH. */
const MINIMAL_ENV = { PATH: '/usr/bin:/bin' } as Record<string, string> as NodeJS.ProcessEnv;

const PROBE = `
const fs = require('fs');
const t = JSON.parse(process.argv[1]);
const out = { uid: process.getuid(), gid: process.getgid(), groups: process.getgroups(), results: {} };
for (const [name, [op, arg]] of Object.entries(t)) {
  try {
    if (op === 'read') fs.readFileSync(arg);
    else if (op === 'list') fs.readdirSync(arg);
    else if (op === 'write') fs.writeFileSync(arg, 'probe');
    else if (op === 'signal') process.kill(arg, 0);
    out.results[name] = 'ok';
  } catch (err) {
    out.results[name] = err.code || String(err);
  }
}
console.log(JSON.stringify(out));`;

/** Runs the probe as `user` (uid, gid, no supplementary groups: what the agent gives a gateway). */
function probeAs(
  user: Passwd,
  tries: Record<string, [op: 'read' | 'list' | 'write' | 'signal', arg: string | number]>,
): { uid: number; gid: number; groups: number[]; results: Record<string, string> } {
  const r = spawnSync(process.execPath, ['-e', PROBE, JSON.stringify(tries)], {
    uid: user.uid,
    gid: user.gid,
    cwd: '/',
    env: MINIMAL_ENV,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as ReturnType<typeof probeAs>;
}

/** A long-lived process of `user` in a session of its own, like the gateway's spawn broker. */
function strayAs(user: Passwd): number {
  const child = spawn(
    process.execPath,
    ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"],
    {
      uid: user.uid,
      gid: user.gid,
      cwd: '/',
      env: MINIMAL_ENV,
      detached: true,
      stdio: 'ignore',
    },
  );
  child.unref();
  const pid = child.pid!;
  cleanups.push(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  return pid;
}

const environOf = (pid: number) =>
  Object.fromEntries(
    fs
      .readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );

const mode = (p: string) => fs.statSync(p).mode & 0o7777;

/**
 * The dev gateway as claw users can run it: the repo's bundle when they can reach it and its
 * node_modules (the repo lives under 0755 directories), else a self-contained bundle in a
 * directory of its own, so the suite does not depend on where the checkout is.
 */
function devGatewayForClawUsers(): string {
  const fromRepo = devGatewayCommand();
  const closed = [
    ...gatewayCommandClosedToOthers(fromRepo.split(' ')),
    closedToOthers(path.join(repoRoot, 'node_modules/ws/package.json'), 'read'),
  ].filter(Boolean);
  if (closed.length === 0) return fromRepo;
  console.log(`# the repo is closed to claw users (${closed[0]}); using a self-contained dev gateway`);
  const dir = tempDir('claws-iso-devgw-', 0o755);
  const out = path.join(dir, 'dev-gateway.mjs');
  buildSync({
    entryPoints: [path.join(repoRoot, 'scripts/dev-gateway.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['bufferutil', 'utf-8-validate'],
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    outfile: out,
    logLevel: 'silent',
  });
  fs.chmodSync(out, 0o644);
  return `${process.execPath} ${out}`;
}

describe('one OS user per claw (linux driver, dev gateways)', { skip, timeout: 240_000 }, () => {
  let setup: AgentSetup;
  let agent: Agent;
  let client: AgentClient;
  const A = `claw-${randomUUID()}`;
  const B = `claw-${randomUUID()}`;
  const tokens = {
    [A]: `gw-${randomBytes(16).toString('hex')}`,
    [B]: `gw-${randomBytes(16).toString('hex')}`,
  };
  let users: Record<string, Passwd>;
  let pids: Record<string, number>;
  const dirOf = (id: string) => path.join(setup.clawsDir, id);

  before(async () => {
    setup = agentSetup(devGatewayForClawUsers(), {
      env: {
        MINI_AGENT_GATEWAY_PASS_ENV: 'CLAWS_DEV_GATEWAY_STARTUP_MS',
        CLAWS_DEV_GATEWAY_STARTUP_MS: '200',
      },
    });
    // Undone in reverse: the agent is killed, then the users' processes and the users, then the files.
    forgetUserOf(A);
    forgetUserOf(B);
    agent = await startAgent(setup);
    client = createAgentClient({
      baseUrl: agent.url,
      token: setup.token,
      certFingerprint: agent.fingerprint,
      timeoutMs: 20_000,
    });
    for (const id of [A, B])
      await client.startClaw({ clawId: id, port: await freePort(), gatewayToken: tokens[id]! });
    pids = {};
    for (const id of [A, B]) pids[id] = (await waitForStatus(client, id, 'running')).pid!;
    users = { [A]: passwd(clawUserName(A))!, [B]: passwd(clawUserName(B))! };
  });

  it('runs each claw’s gateway as its own user and group, with no other group', () => {
    for (const id of [A, B]) {
      const user = users[id]!;
      assert.ok(user, `user ${clawUserName(id)} exists`);
      assert.ok(user.uid > 0 && user.gid > 0);
      const c = credentials(pids[id]!);
      assert.deepEqual(new Set(c.uids), new Set([user.uid]), 'real, effective, saved and fs uid');
      assert.deepEqual(new Set(c.gids), new Set([user.gid]));
      assert.deepEqual(c.groups, [], 'the agent’s (root’s) supplementary groups are dropped');
    }
    assert.notEqual(users[A]!.uid, users[B]!.uid);
    assert.notEqual(users[A]!.gid, users[B]!.gid);
  });

  it('lays out each claw’s directory: the agent’s config and log, readable by the claw; the rest the claw’s, 0700', () => {
    for (const id of [A, B]) {
      const u = users[id]!;
      const dir = dirOf(id);
      const st = fs.statSync(dir);
      assert.deepEqual([st.uid, st.gid, mode(dir)], [0, u.gid, 0o750]);
      for (const file of ['openclaw.json', 'gateway.log']) {
        const f = fs.statSync(path.join(dir, file));
        assert.deepEqual([f.uid, f.gid, mode(path.join(dir, file))], [0, u.gid, 0o640], file);
      }
      for (const sub of ['home', 'state', 'workspace', 'logs', 'tmp']) {
        const s = fs.statSync(path.join(dir, sub));
        assert.deepEqual([s.uid, s.gid, mode(path.join(dir, sub))], [u.uid, u.gid, 0o700], sub);
      }
      const config = JSON.parse(fs.readFileSync(path.join(dir, 'openclaw.json'), 'utf8')) as Record<
        string,
        unknown
      >;
      assert.deepEqual((config.gateway as { auth: unknown }).auth, { mode: 'token', token: tokens[id] });
      assert.deepEqual(config.tools, TOOL_POLICY);
      assert.deepEqual(config.logging, { file: path.join(dir, 'logs', 'openclaw.log') });
    }
    assert.equal(mode(setup.stateDir), 0o700);
    assert.equal(fs.statSync(setup.stateDir).uid, 0);
    const stateFile = path.join(setup.stateDir, 'claws.json');
    assert.deepEqual([fs.statSync(stateFile).uid, mode(stateFile)], [0, 0o600]);
    assert.equal(mode(setup.clawsDir), 0o711, 'claw users pass through, cannot list it');
  });

  it('hands a gateway an allowlisted environment: nothing of the agent’s, no token', () => {
    for (const id of [A, B]) {
      const env = environOf(pids[id]!);
      const allowed = new Set([
        'PATH',
        'HOME',
        'TMPDIR',
        'USER',
        'LOGNAME',
        'LANG',
        'LC_ALL',
        'LC_CTYPE',
        'TZ',
        'OPENCLAW_STATE_DIR',
        'OPENCLAW_CONFIG_PATH',
        'OPENCLAW_CONFIG_READONLY',
        'OPENCLAW_NO_AUTO_UPDATE',
        'OPENCLAW_DISABLE_BONJOUR',
        'CLAWS_DEV_GATEWAY_STARTUP_MS', // listed by the operator with --gateway-pass-env
      ]);
      assert.deepEqual(
        Object.keys(env).filter((k) => !allowed.has(k)),
        [],
      );
      assert.equal(env.HOME, path.join(dirOf(id), 'home'));
      assert.equal(env.USER, clawUserName(id));
      const everything = JSON.stringify(env) + fs.readFileSync(`/proc/${pids[id]}/cmdline`, 'utf8');
      for (const secret of [...Object.values(CANARIES), setup.token, tokens[A]!, tokens[B]!])
        assert.ok(!everything.includes(secret), `${secret.slice(0, 12)}… reached the gateway`);
    }
  });

  it('closes the other claw, the agent’s state and the other gateway’s /proc to a claw’s user', () => {
    const secret = path.join(dirOf(B), 'home', 'notes.txt');
    fs.writeFileSync(secret, 'B private notes', { mode: 0o644 }); // readable, were its home not 0700
    fs.chownSync(secret, users[B]!.uid, users[B]!.gid);
    const probe = probeAs(users[A]!, {
      ownConfig: ['read', path.join(dirOf(A), 'openclaw.json')],
      ownHome: ['write', path.join(dirOf(A), 'home', 'probe.txt')],
      otherConfig: ['read', path.join(dirOf(B), 'openclaw.json')],
      otherDir: ['list', dirOf(B)],
      otherHome: ['list', path.join(dirOf(B), 'home')],
      otherFile: ['read', secret],
      otherGatewayLog: ['read', path.join(dirOf(B), 'gateway.log')],
      agentStateFile: ['read', path.join(setup.stateDir, 'claws.json')],
      agentStateDir: ['list', setup.stateDir],
      agentTokenFile: ['read', setup.tokenFile],
      clawsDir: ['list', setup.clawsDir],
      otherEnviron: ['read', `/proc/${pids[B]}/environ`],
      signalOther: ['signal', pids[B]!],
    });
    // The probe is the gateway as far as the kernel can tell: same uid and gid, no supplementary
    // group (Node's getgroups() always lists the effective gid).
    const gw = credentials(pids[A]!);
    assert.deepEqual([probe.uid, probe.gid, probe.groups], [gw.uids[0], gw.gids[0], [gw.gids[0]]]);
    assert.deepEqual(gw.groups, []);
    assert.deepEqual(probe.results, {
      ownConfig: 'ok',
      ownHome: 'ok',
      otherConfig: 'EACCES',
      otherDir: 'EACCES',
      otherHome: 'EACCES',
      otherFile: 'EACCES',
      otherGatewayLog: 'EACCES',
      agentStateFile: 'EACCES',
      agentStateDir: 'EACCES',
      agentTokenFile: 'EACCES',
      clawsDir: 'EACCES',
      otherEnviron: 'EACCES',
      signalOther: 'EPERM',
    });
  });

  it('ends what a crashed gateway left running as its user before restarting it', async () => {
    const stray = strayAs(users[B]!);
    process.kill(pids[B]!, 'SIGKILL');
    const s = await waitForStatus(client, B, 'running', (x) => x.pid !== undefined && x.pid !== pids[B]);
    assert.ok(!isAlive(stray), 'the stray process of the claw’s user is gone');
    assert.deepEqual(new Set(credentials(s.pid!).uids), new Set([users[B]!.uid]));
    pids[B] = s.pid!;
  });

  it('adopts a gateway still running as its claw’s user after an agent restart', async () => {
    await killAgent(agent, 'SIGKILL');
    assert.ok(isAlive(pids[A]!) && isAlive(pids[B]!), 'gateways outlive the agent');
    agent = await startAgent(setup, agent.port);
    for (const id of [A, B]) assert.equal((await waitForStatus(client, id, 'running')).pid, pids[id]);
    assert.match(agent.output(), /adopted a running gateway/);
  });

  it('DELETE ends every process of the claw’s user, then removes the user, its group and its files', async () => {
    const stray = strayAs(users[A]!);
    assert.ok((await procPidsOfUid(users[A]!.uid)).length >= 2);
    await client.stopClaw(A);
    assert.ok(!isAlive(pids[A]!), 'the gateway');
    assert.ok(!isAlive(stray), 'the stray in its own session, which a group signal misses');
    assert.deepEqual(await procPidsOfUid(users[A]!.uid), []);
    assert.equal(passwd(clawUserName(A)), undefined, 'the user');
    assert.equal(groupExists(clawUserName(A)), false, 'the group');
    assert.equal(fs.existsSync(dirOf(A)), false, 'the files');
    await client.stopClaw(A); // idempotent
    // The other claw is untouched.
    const b = await client.clawStatus(B);
    assert.equal(b.status, 'running');
    assert.equal(b.pid, pids[B]);
    await client.stopClaw(B);
    assert.equal(passwd(clawUserName(B)), undefined);
  });
});

describe('claw users: an agent that ran without them', { skip, timeout: 120_000 }, () => {
  it('restarts a gateway it started as itself as the claw’s user, and gives the claw its files', async () => {
    const C = `claw-${randomUUID()}`;
    const setup = agentSetup(devGatewayForClawUsers());
    forgetUserOf(C);
    // First without claw users: the gateway runs as root, its files are root's.
    let agent = await startAgent({ ...setup, args: ['--isolation', 'none'] });
    const client = createAgentClient({
      baseUrl: agent.url,
      token: setup.token,
      certFingerprint: agent.fingerprint,
      timeoutMs: 20_000,
    });
    await client.startClaw({
      clawId: C,
      port: await freePort(),
      gatewayToken: `gw-${randomBytes(16).toString('hex')}`,
    });
    const before = await waitForStatus(client, C, 'running');
    assert.deepEqual(new Set(credentials(before.pid!).uids), new Set([0]));
    const state = path.join(setup.clawsDir, C, 'state');
    fs.mkdirSync(path.join(state, 'sessions'), { recursive: true });
    fs.writeFileSync(path.join(state, 'sessions', 'a.json'), '{}');
    fs.symlinkSync('/etc/shadow', path.join(state, 'sessions', 'link')); // re-owned, never followed
    await killAgent(agent, 'SIGKILL');

    agent = await startAgent(setup, agent.port); // --isolation linux
    const after = await waitForStatus(client, C, 'running', (s) => s.pid !== before.pid);
    assert.ok(!isAlive(before.pid!), 'the gateway that ran as root is gone');
    const user = passwd(clawUserName(C))!;
    assert.deepEqual(new Set(credentials(after.pid!).uids), new Set([user.uid]));
    for (const p of [state, path.join(state, 'sessions'), path.join(state, 'sessions', 'a.json')])
      assert.equal(fs.statSync(p).uid, user.uid, p);
    assert.equal(fs.lstatSync(path.join(state, 'sessions', 'link')).uid, user.uid);
    assert.equal(fs.statSync('/etc/shadow').uid, 0, 'the link’s target is untouched');
    assert.match(agent.output(), /does not run as the claw’s user; restarting it as it/);
    await client.stopClaw(C);
    assert.equal(passwd(clawUserName(C)), undefined);
  });
});

describe('claw users: what the agent refuses', { skip, timeout: 60_000 }, () => {
  const startFails = async (s: AgentSetup) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'scripts/mini-agent.ts',
        '--port',
        '0',
        '--isolation',
        'linux',
        '--state-dir',
        s.stateDir,
        '--claws-dir',
        s.clawsDir,
        '--token-file',
        s.tokenFile,
        '--gateway-cmd',
        s.gatewayCmd,
      ],
      { cwd: repoRoot, env: { ...process.env, MINI_AGENT_TOKEN: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    return { code, err };
  };

  it('a claws directory inside the state directory, or a gateway claw users cannot read', async () => {
    const s = agentSetup(`${process.execPath} /nonexistent.mjs`);
    const inside = await startFails({ ...s, clawsDir: path.join(s.stateDir, 'claws') });
    assert.equal(inside.code, 1);
    assert.match(inside.err, /inside the agent's state directory .* closed to claw users/);
    const hidden = tempDir('claws-iso-hidden-', 0o700);
    fs.writeFileSync(path.join(hidden, 'gw.mjs'), '');
    const closed = await startFails({
      ...s,
      gatewayCmd: `${process.execPath} ${path.join(hidden, 'gw.mjs')}`,
    });
    assert.equal(closed.code, 1);
    assert.match(closed.err, new RegExp(`cannot run the gateway command: ${hidden} is 0700`));
  });

  it('a token file others can read', async () => {
    const s = agentSetup(`${process.execPath} /nonexistent.mjs`);
    fs.chmodSync(s.tokenFile, 0o644);
    const r = await startFails(s);
    assert.equal(r.code, 2);
    assert.match(r.err, /token file .* is 644: it must be readable by its owner only/);
    assert.ok(!r.err.includes(s.token));
  });
});

/**
 * The real gateway, from where claw users can read it: the install CI makes lives under root's home
 * (0700), so when that is closed to them it is hard-linked into a 0755 directory (the same files,
 * nothing copied).
 */
function openclawForClawUsers(): { node: string; openclaw: string } {
  const node = path.join(process.env.OPENCLAW_BIN_DIR!, 'node');
  const openclaw = path.join(process.env.OPENCLAW_PKG_DIR!, 'node_modules/openclaw/openclaw.mjs');
  if (!closedToOthers(node, 'execute') && !closedToOthers(openclaw, 'read')) return { node, openclaw };
  const dir = tempDir('claws-iso-openclaw-', 0o755);
  const binRoot = path.resolve(process.env.OPENCLAW_BIN_DIR!, '../../..'); // <cache>/node24
  for (const [from, to] of [
    [binRoot, path.join(dir, 'node24')],
    [process.env.OPENCLAW_PKG_DIR!, path.join(dir, 'pkg')],
  ] as const) {
    const r = spawnSync('cp', ['-al', from, to], { encoding: 'utf8' });
    assert.equal(r.status, 0, `cannot hard-link ${from} for claw users: ${r.stderr}`);
  }
  return {
    node: path.join(dir, 'node24', path.relative(binRoot, node)),
    openclaw: path.join(dir, 'pkg', path.relative(process.env.OPENCLAW_PKG_DIR!, openclaw)),
  };
}

const realSkip = skip || (realGatewayInstalled() ? false : 'needs OPENCLAW_BIN_DIR and OPENCLAW_PKG_DIR');

describe(
  'one OS user per claw (linux driver, the real OpenClaw gateway)',
  { skip: realSkip, timeout: 900_000 },
  () => {
    let setup: AgentSetup;
    let agent: Agent;
    let client: AgentClient;
    let model: ScriptedModel;
    const A = `claw-${randomUUID()}`;
    const B = `claw-${randomUUID()}`;
    const tokens = {
      [A]: `gw-${randomBytes(16).toString('hex')}`,
      [B]: `gw-${randomBytes(16).toString('hex')}`,
    };
    const ports: Record<string, number> = {};
    const dirOf = (id: string) => path.join(setup.clawsDir, id);
    const SECRET = `B-secret-${randomBytes(6).toString('hex')}`;
    let secretFile: string;

    before(async () => {
      model = await startScriptedModel();
      cleanups.push(() => model.close());
      const { node, openclaw } = openclawForClawUsers();
      const baseDir = tempDir('claws-iso-base-', 0o700);
      const base = path.join(baseDir, 'openclaw.base.json');
      fs.writeFileSync(base, JSON.stringify(model.gatewayConfig()));
      setup = agentSetup(`${node} ${openclaw}`, {
        args: ['--gateway-config', base],
        env: { MINI_AGENT_READY_TIMEOUT_MS: '300000', MINI_AGENT_STOP_GRACE_MS: '20000' },
      });
      forgetUserOf(A);
      forgetUserOf(B);
      agent = await startAgent(setup);
      client = createAgentClient({
        baseUrl: agent.url,
        token: setup.token,
        certFingerprint: agent.fingerprint,
        timeoutMs: 30_000,
      });
      for (const id of [A, B]) {
        ports[id] = await freePort();
        await client.startClaw({ clawId: id, port: ports[id]!, gatewayToken: tokens[id]! });
      }
      for (const id of [A, B]) await waitForStatus(client, id, 'running', () => true, 300_000);
      secretFile = path.join(dirOf(B), 'workspace', 'secret.txt');
      const b = passwd(clawUserName(B))!;
      fs.writeFileSync(secretFile, SECRET, { mode: 0o644 });
      fs.chownSync(secretFile, b.uid, b.gid);
    });

    /** One chat turn on claw A, with the scripted model; the tool result the model got back, if any. */
    async function turn(message: string): Promise<{ toolResult?: string; tools: string[] }> {
      const { ws } = await openclawConnect({
        url: `ws://127.0.0.1:${ports[A]}`,
        token: tokens[A]!,
        scopes: ['operator.read', 'operator.write'],
        timeoutMs: 20_000,
      });
      try {
        const runId = `iso-${randomUUID()}`;
        const done = new Promise<string>((resolve) =>
          ws.on('message', (data) => {
            const f = JSON.parse(data.toString()) as {
              event?: string;
              payload?: { runId?: string; state?: string };
            };
            if (
              f.event === 'chat' &&
              f.payload?.runId === runId &&
              (f.payload.state === 'final' || f.payload.state === 'error')
            )
              resolve(f.payload.state);
          }),
        );
        const before = model.requests.length;
        await request(ws, 'chat.send', { sessionKey: 'main', message, idempotencyKey: runId });
        const state = await Promise.race([
          done,
          new Promise<string>((r) => setTimeout(() => r('timeout'), 180_000).unref()),
        ]);
        assert.notEqual(state, 'timeout', `no answer to ${message}`);
        const mine = model.requests.slice(before);
        assert.ok(mine.length > 0, 'the gateway asked the model');
        const last = mine.at(-1)!;
        const toolMessages = last.messages.filter((m) => m.role === 'tool');
        const content = toolMessages.at(-1)?.content;
        return {
          ...(mine.length > 1 && content !== undefined
            ? { toolResult: typeof content === 'string' ? content : JSON.stringify(content) }
            : {}),
          tools: (mine[0]!.tools ?? []).map((t) => t.function?.name ?? ''),
        };
      } finally {
        ws.close();
      }
    }

    it('runs the gateway and its helpers as the claw’s user, logging into the claw’s own directory', async () => {
      const a = passwd(clawUserName(A))!;
      const pidsOfA = await procPidsOfUid(a.uid);
      assert.ok(pidsOfA.length >= 2, `the gateway and its helpers (${pidsOfA.length})`);
      // A short-lived helper may exit between the listing and the read: the ones still there count.
      const alive = pidsOfA.filter((pid) => fs.existsSync(`/proc/${pid}`));
      assert.ok(alive.length >= 1, 'the gateway is still running');
      for (const pid of alive) {
        const creds = (() => {
          try {
            return credentials(pid);
          } catch {
            return null; // gone meanwhile
          }
        })();
        if (creds) assert.deepEqual(new Set(creds.uids), new Set([a.uid]));
      }
      const log = path.join(dirOf(A), 'logs', 'openclaw.log');
      assert.ok(fs.statSync(log).size > 0, 'OpenClaw logs to logging.file');
      assert.equal(fs.statSync(log).uid, a.uid);
      assert.match(
        fs.readFileSync(path.join(dirOf(A), 'gateway.log'), 'utf8'),
        new RegExp(`log file: ${log}`),
      );
    });

    it('offers the model no host tools, so a tool call reading another claw’s file fails', async (t) => {
      for (const call of [
        `CALL read {"path":"${secretFile}"}`,
        `CALL tool_call {"id":"read","args":{"path":"${secretFile}"}}`,
        `CALL exec {"command":"cat ${secretFile}"}`,
      ]) {
        const r = await turn(call);
        t.diagnostic(
          `${call.split(' ')[1]} → ${r.toolResult?.replace(/\s+/g, ' ').slice(0, 200)} (offered: ${r.tools.join(', ')})`,
        );
        for (const tool of ['read', 'write', 'edit', 'apply_patch', 'exec', 'process', 'ls'])
          assert.ok(!r.tools.includes(tool), `${tool} offered to the model`);
        assert.ok(r.toolResult, `${call}: the tool answered`);
        assert.match(
          r.toolResult!,
          /not found|not available|unknown|denied|not allowed/i,
          `${call}: ${r.toolResult}`,
        );
        assert.ok(!r.toolResult!.includes(SECRET));
      }
      assert.ok(!JSON.stringify(model.requests).includes(SECRET), 'the secret never reached the model');
    });

    it('with file tools allowed after all, the kernel refuses the read', async (t) => {
      // As an operator's mistake would: the config rewritten to the coding profile, reloaded live.
      const configFile = path.join(dirOf(A), 'openclaw.json');
      const config = JSON.parse(fs.readFileSync(configFile, 'utf8')) as Record<string, unknown>;
      config.tools = { profile: 'coding', fs: { workspaceOnly: false } };
      const reloads = () =>
        (
          fs.readFileSync(path.join(dirOf(A), 'gateway.log'), 'utf8').match(/config hot reload applied/g) ??
          []
        ).length;
      const seen = reloads();
      fs.writeFileSync(configFile, JSON.stringify(config, null, 2)); // same file: owner and mode kept
      await waitFor('the gateway to reload its config', async () => reloads() > seen, 60_000, 500);

      const a = passwd(clawUserName(A))!;
      const own = path.join(dirOf(A), 'workspace', 'own.txt');
      fs.writeFileSync(own, 'A own words');
      fs.chownSync(own, a.uid, a.gid);
      const control = await turn(`CALL read {"path":"${own}"}`);
      assert.ok(control.tools.includes('read'), 'read is offered now');
      assert.match(control.toolResult ?? '', /A own words/, 'and works on the claw’s own files');

      const denied = await turn(`CALL read {"path":"${secretFile}"}`);
      t.diagnostic(
        `read of the other claw's file → ${denied.toolResult?.replace(/\s+/g, ' ').slice(0, 200)}`,
      );
      assert.match(denied.toolResult ?? '', /EACCES|permission denied/i);
      assert.ok(!JSON.stringify(model.requests).includes(SECRET), 'the secret never reached the model');
    });

    it('adopts the gateway after an agent restart, though it renamed its process, since it runs as the claw’s user', async () => {
      const pid = (await client.clawStatus(A)).pid!;
      assert.ok(
        !fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('gateway\0run'),
        'the title is its own',
      );
      await killAgent(agent, 'SIGKILL');
      agent = await startAgent(setup, agent.port);
      assert.equal((await waitForStatus(client, A, 'running', () => true, 60_000)).pid, pid);
      assert.match(agent.output(), /adopted a running gateway/);
    });

    it('DELETE ends the gateway and every helper of its user, then removes the user', async () => {
      const a = passwd(clawUserName(A))!;
      await client.stopClaw(A);
      assert.deepEqual(await procPidsOfUid(a.uid), []);
      assert.equal(passwd(clawUserName(A)), undefined);
      assert.equal(fs.existsSync(dirOf(A)), false);
      await client.stopClaw(B);
      assert.equal(passwd(clawUserName(B)), undefined);
    });
  },
);
