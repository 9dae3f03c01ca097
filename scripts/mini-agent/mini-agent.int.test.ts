import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { generateDeviceIdentity } from '../../server/gateway/device-identity';
import { OpenClawConnectError, openclawConnect } from '../../server/gateway/openclaw-client';
import {
  createAgentClient,
  type AgentClient,
  type AgentClawStatusReport,
} from '../../server/fleet/agent-client';
import { FailureError } from '../../server/failure';
import { DEV_AGENT_TOKEN } from '../../server/fleet/agent-api';
import { certFingerprint } from '../../server/fleet/agent-tls';
import { waitForClawStatus } from '../../tests/fixtures/mini-agent-process';
import { freePort, isPortOpen, repoRoot, waitFor } from '../../tests/fixtures/processes';
// Zombie-aware: an adopted gateway that exits is reparented, and not every init reaps it at once.
import { isAlive } from './processes';

/**
 * The real agent process (scripts/mini-agent.ts) driven through the real agent client, with real
 * gateway processes (scripts/dev-gateway.ts, the dev OpenClaw gateway).
 */

const gatewayCmd = `${process.execPath} --import ${import.meta.resolve('tsx')} ${path.join(repoRoot, 'scripts/dev-gateway.ts')}`;

const STARTUP_MS = 1500;
const baseEnv = {
  MINI_AGENT_ISOLATION: 'none',
  MINI_AGENT_GATEWAY_PASS_ENV: 'CLAWS_DEV_GATEWAY_STARTUP_MS',
  CLAWS_DEV_GATEWAY_STARTUP_MS: String(STARTUP_MS),
  MINI_AGENT_RESTART_BACKOFF_MS: '200',
  MINI_AGENT_RESTART_BACKOFF_MAX_MS: '1000',
  MINI_AGENT_STOP_GRACE_MS: '3000',
  MINI_AGENT_PAIRING_WINDOW_MS: '20000',
  MINI_AGENT_PAIRING_INTERVAL_MS: '200',
};

interface Agent {
  child: ChildProcess;
  port: number;
  /** https://127.0.0.1:<port>: the agent serves TLS with its own certificate unless --dev. */
  url: string;
  /** The certificate fingerprint it printed at start. */
  fingerprint: string | undefined;
  output: () => string;
  exited: Promise<void>;
}

const started: Agent[] = [];
const stateDirs: string[] = [];
const token = `agent-token-${randomBytes(12).toString('hex')}`;

function newStateDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'claws-mini-agent-'));
  stateDirs.push(dir);
  return dir;
}

async function startAgent(opts: {
  stateDir: string;
  port?: number;
  env?: Record<string, string>;
  args?: string[];
}): Promise<Agent> {
  const port = opts.port ?? (await freePort());
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'scripts/mini-agent.ts', '--port', String(port), ...(opts.args ?? [])],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        ...baseEnv,
        MINI_AGENT_TOKEN: token,
        MINI_AGENT_STATE_DIR: opts.stateDir,
        MINI_AGENT_GATEWAY_CMD: gatewayCmd,
        ...opts.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const scheme = opts.args?.includes('--dev') ? 'http' : 'https';
  const agent: Agent = {
    child,
    port,
    url: `${scheme}://127.0.0.1:${port}`,
    fingerprint: undefined,
    output: () => out,
    exited,
  };
  started.push(agent);
  await waitFor(`the agent on port ${port}`, async () => {
    if (child.exitCode !== null) throw new Error(`the agent exited: ${out}`);
    return out.includes('mini-agent: listening on');
  });
  agent.fingerprint = /mini-agent: certificate fingerprint (sha256:[0-9a-f]{64})/.exec(out)?.[1];
  return agent;
}

/** The control plane's client for `agent`, pinned to the certificate it printed. */
const clientOf = (agent: Agent, timeoutMs: number, as = token) =>
  createAgentClient({ baseUrl: agent.url, token: as, certFingerprint: agent.fingerprint, timeoutMs });

/**
 * A raw request, to see the agent's answers as they are (status, body); over TLS without the pin,
 * which the client tests cover.
 */
function raw(
  agent: Agent,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = (agent.url.startsWith('https:') ? https : http).request(
      `${agent.url}${path}`,
      { method: init.method ?? 'GET', headers: init.headers, rejectUnauthorized: false },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

async function killAgent(agent: Agent, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (agent.child.exitCode === null && agent.child.signalCode === null) agent.child.kill(signal);
  await agent.exited;
}

/** Every gateway pid a state directory records, for cleanup and checks. */
function recordedPids(stateDir: string): number[] {
  try {
    const state = JSON.parse(fs.readFileSync(path.join(stateDir, 'claws.json'), 'utf8')) as {
      claws: { pid?: number }[];
    };
    return state.claws.flatMap((c) => (c.pid ? [c.pid] : []));
  } catch {
    return [];
  }
}

/** Our own handshake, independent of the agent's: resolves with the hello-ok payload. */
function helloOk(port: number, gatewayToken: string): Promise<{ type: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    const timer = setTimeout(() => (ws.terminate(), reject(new Error('handshake timeout'))), 5000);
    ws.on('error', (err) => (clearTimeout(timer), reject(err)));
    ws.on('message', (data) => {
      const f = JSON.parse(data.toString()) as {
        type: string;
        event?: string;
        id?: string;
        ok?: boolean;
        payload?: unknown;
      };
      if (f.type === 'event' && f.event === 'connect.challenge')
        ws.send(
          JSON.stringify({
            type: 'req',
            id: 'test-1',
            method: 'connect',
            params: {
              minProtocol: 4,
              maxProtocol: 4,
              client: { id: 'gateway-client', version: '0.0.1-test', platform: 'linux', mode: 'backend' },
              role: 'operator',
              scopes: ['operator.read'],
              caps: [],
              auth: { token: gatewayToken },
            },
          }),
        );
      else if (f.type === 'res' && f.id === 'test-1') {
        clearTimeout(timer);
        ws.close();
        const payload = f.payload as { type: string } | undefined;
        if (f.ok && payload?.type === 'hello-ok') resolve(payload);
        else reject(new Error(`connect refused: ${JSON.stringify(f).slice(0, 200)}`));
      }
    });
  });
}

async function expectAgentError(p: Promise<unknown>, status: number, kind: 'permanent' | 'retryable') {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof FailureError, String(err));
    assert.equal(err.status, status, err.message);
    assert.equal(err.kind, kind);
    return true;
  });
}

const statusOf = (client: AgentClient, clawId: string) => client.clawStatus(clawId);

/** The shared fixture's wait, with this suite's shorter default. */
const waitForStatus = (
  client: AgentClient,
  clawId: string,
  want: AgentClawStatusReport['status'],
  extra?: (s: AgentClawStatusReport) => boolean,
  timeoutMs = 20_000,
) => waitForClawStatus(client, clawId, want, extra, timeoutMs);

const gatewayToken = () => `gw-${randomBytes(16).toString('hex')}`;

after(async () => {
  for (const a of started) await killAgent(a);
  for (const dir of stateDirs) {
    for (const pid of recordedPids(dir)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe('mini agent (real process, real client)', { timeout: 180_000 }, () => {
  const stateDir = newStateDir();
  let agent: Agent;
  let client: AgentClient;
  const clawId = `claw-${randomUUID()}`;
  const token1 = gatewayToken();
  let gwPort: number;
  let firstPid: number;

  // Trusting 127.0.0.1 as a proxy lets a test connect "remotely" (forwarded header), as through a tunnel.
  const env = { MINI_AGENT_TRUSTED_PROXIES: '127.0.0.1' };

  before(async () => {
    agent = await startAgent({ stateDir, env });
    client = clientOf(agent, 10_000);
    gwPort = await freePort();
  });

  it('answers health with the bearer token, 401 without it', async () => {
    const health = await client.health();
    assert.equal(health.claws, 0);
    assert.match(health.version, /^\d+\.\d+\.\d+/);
    const wrong = clientOf(agent, 5000, 'not-the-agent-token-at-all');
    await expectAgentError(wrong.health(), 401, 'permanent');
    await expectAgentError(wrong.startClaw({ clawId, port: gwPort, gatewayToken: token1 }), 401, 'permanent');
    const res = await raw(agent, '/claws');
    assert.equal(res.status, 401);
    assert.deepEqual(JSON.parse(res.text), { ok: false, error: 'Missing or wrong bearer token' });
  });

  it('refuses bad input with 400 and the issues', async () => {
    await expectAgentError(
      client.startClaw({ clawId: '../etc', port: gwPort, gatewayToken: token1 }),
      400,
      'permanent',
    );
    await expectAgentError(client.startClaw({ clawId, port: 80, gatewayToken: token1 }), 400, 'permanent');
    await expectAgentError(
      client.startClaw({ clawId, port: gwPort, gatewayToken: 'short' }),
      400,
      'permanent',
    );
    const post = (body: string) =>
      raw(agent, '/claws', { method: 'POST', headers: { authorization: `Bearer ${token}` }, body });
    const bad = await post('{"clawId": 1}');
    assert.equal(bad.status, 400);
    const body = JSON.parse(bad.text) as { ok: boolean; error: string; issues: { path: string }[] };
    assert.equal(body.ok, false);
    assert.deepEqual(body.issues.map((i) => i.path).sort(), ['clawId', 'gatewayToken', 'port']);
    assert.equal((await post('{not json')).status, 400);
    assert.equal((await post('x'.repeat(70 * 1024))).status, 413);
    // Unknown claws: status is "unknown" (404), DELETE is a no-op.
    assert.deepEqual(await client.clawStatus('claw-nobody'), { status: 'unknown' });
    await client.stopClaw('claw-nobody');
  });

  it('starts a claw: starting, then running once the gateway answers hello-ok', async () => {
    await client.startClaw({ clawId, port: gwPort, gatewayToken: token1 });
    const first = await statusOf(client, clawId);
    assert.equal(first.status, 'starting');
    const running = await waitForStatus(client, clawId, 'running');
    assert.ok(running.pid && isAlive(running.pid));
    assert.equal(running.restarts, 0);
    assert.equal(running.paired, false);
    firstPid = running.pid;
    // Independently: the gateway on that port accepts the claw's token, and only it.
    assert.equal((await helloOk(gwPort, token1)).type, 'hello-ok');
    await assert.rejects(helloOk(gwPort, gatewayToken()));
    const listed = await client.listClaws();
    assert.deepEqual(
      listed.map((c) => [c.clawId, c.port, c.status]),
      [[clawId, gwPort, 'running']],
    );
  });

  it('keeps the gateway token private: 0600 state file, not in responses or logs', async () => {
    const file = path.join(stateDir, 'claws.json');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.ok(fs.readFileSync(file, 'utf8').includes(token1));
    const listed = await raw(agent, '/claws', { headers: { authorization: `Bearer ${token}` } });
    assert.ok(!listed.text.includes(token1));
    assert.ok(!agent.output().includes(token1));
    assert.ok(!agent.output().includes(token));
    const argv = fs.readFileSync(`/proc/${firstPid}/cmdline`, 'utf8');
    assert.ok(!argv.includes(token1), 'the gateway token must not be on the command line');
  });

  it('is idempotent per claw and refuses a conflicting port with 409', async () => {
    await client.startClaw({ clawId, port: gwPort, gatewayToken: token1 });
    const s = await statusOf(client, clawId);
    assert.equal(s.status, 'running');
    assert.equal(s.pid, firstPid);
    const otherPort = await freePort();
    await expectAgentError(
      client.startClaw({ clawId, port: otherPort, gatewayToken: token1 }),
      409,
      'permanent',
    );
    await expectAgentError(
      client.startClaw({ clawId: `claw-${randomUUID()}`, port: gwPort, gatewayToken: gatewayToken() }),
      409,
      'permanent',
    );
    assert.equal((await client.health()).claws, 1);
  });

  it('restarts a crashed gateway and counts the restart', async () => {
    process.kill(firstPid, 'SIGKILL');
    const s = await waitForStatus(
      client,
      clawId,
      'running',
      (x) => x.pid !== undefined && x.pid !== firstPid,
    );
    assert.ok((s.restarts ?? 0) >= 1);
    assert.equal((await helloOk(gwPort, token1)).type, 'hello-ok');
    firstPid = s.pid!;
  });

  it('adopts the still-running gateway after the agent is SIGKILLed and restarted', async () => {
    await killAgent(agent, 'SIGKILL');
    assert.ok(isAlive(firstPid), 'the gateway must outlive the agent');
    assert.equal((await helloOk(gwPort, token1)).type, 'hello-ok');
    agent = await startAgent({ stateDir, port: agent.port, env });
    const s = await waitForStatus(client, clawId, 'running');
    assert.equal(s.pid, firstPid, 'adopted, not restarted');
    assert.match(agent.output(), /adopted a running gateway/);
  });

  it('restarts a gateway that died while the agent was down', async () => {
    await killAgent(agent, 'SIGKILL');
    process.kill(firstPid, 'SIGKILL');
    await waitFor('the gateway to die', async () => !isAlive(firstPid));
    agent = await startAgent({ stateDir, port: agent.port, env });
    const s = await waitForStatus(client, clawId, 'running', (x) => x.pid !== firstPid);
    assert.ok(s.pid && isAlive(s.pid));
    assert.equal((await helloOk(gwPort, token1)).type, 'hello-ok');
    firstPid = s.pid;
  });

  it('approves the control plane device once it asks to pair', async () => {
    const identity = generateDeviceIdentity();
    const device = { deviceId: identity.deviceId, publicKey: identity.publicKeyRaw };
    await client.startClaw({ clawId, port: gwPort, gatewayToken: token1, controlPlaneDevice: device });
    const before = await statusOf(client, clawId);
    assert.equal(before.deviceId, device.deviceId);
    assert.equal(before.paired, false);
    // The control plane reaching the gateway "remotely" (forwarded header) with its signed device
    // is told to pair, which leaves a pending request for the agent to approve.
    const remote = () =>
      openclawConnect({
        url: `ws://127.0.0.1:${gwPort}`,
        token: token1,
        identity,
        scopes: ['operator.read', 'operator.write'],
        headers: { 'x-forwarded-for': '203.0.113.5' },
        timeoutMs: 5000,
      });
    await assert.rejects(remote(), (err: unknown) => {
      assert.ok(err instanceof OpenClawConnectError);
      assert.equal(err.code, 'NOT_PAIRED');
      return true;
    });
    const s = await waitForStatus(client, clawId, 'running', (x) => x.paired === true);
    assert.equal(s.deviceId, device.deviceId);
    const { ws, hello } = await remote();
    ws.close();
    assert.equal(hello.type, 'hello-ok');
    assert.deepEqual(hello.auth?.scopes, ['operator.read', 'operator.write']);
  });

  it('refuses a port held by another process with 409 port_in_use, recording nothing', async () => {
    const blocker = net.createServer();
    const port = await freePort();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', r));
    try {
      const id = `claw-${randomUUID()}`;
      const err = await client.startClaw({ clawId: id, port, gatewayToken: gatewayToken() }).then(
        () => assert.fail('the agent accepted a port another process holds'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof FailureError, String(err));
      assert.equal(err.status, 409);
      assert.equal(err.kind, 'permanent');
      assert.equal(err.code, 'port_in_use');
      assert.match(err.message, new RegExp(`Port ${port} is in use by another process`));
      assert.deepEqual(await client.clawStatus(id), { status: 'unknown' });
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  it('DELETE stops the gateway (port closed, pid gone) and is idempotent', async () => {
    const pid = (await statusOf(client, clawId)).pid!;
    await client.stopClaw(clawId);
    assert.ok(!isAlive(pid), 'the gateway process is gone when DELETE answers');
    assert.equal(await isPortOpen(gwPort), false);
    assert.deepEqual(await client.clawStatus(clawId), { status: 'unknown' });
    await client.stopClaw(clawId);
    assert.deepEqual(await client.listClaws(), []);
    assert.ok(!fs.existsSync(path.join(stateDir, 'claws', clawId)));
  });

  it('leaves gateways running on SIGTERM, and the next agent adopts them', async () => {
    const id = `claw-${randomUUID()}`;
    const port = await freePort();
    const gwToken = gatewayToken();
    await client.startClaw({ clawId: id, port, gatewayToken: gwToken });
    const s = await waitForStatus(client, id, 'running');
    await killAgent(agent, 'SIGTERM');
    assert.ok(isAlive(s.pid!));
    agent = await startAgent({ stateDir, port: agent.port, env });
    assert.equal((await waitForStatus(client, id, 'running')).pid, s.pid);
    await client.stopClaw(id);
    assert.ok(!isAlive(s.pid!));
  });
});

describe('mini agent: supervision limits', { timeout: 60_000 }, () => {
  it('marks a gateway that keeps crashing as failed after N quick crashes', async () => {
    const stateDir = newStateDir();
    const agent = await startAgent({
      stateDir,
      env: {
        MINI_AGENT_GATEWAY_CMD: `${process.execPath} -e "console.error('boom'); process.exit(3)"`,
        MINI_AGENT_MAX_QUICK_CRASHES: '3',
        MINI_AGENT_RESTART_BACKOFF_MS: '50',
      },
    });
    const client = clientOf(agent, 5000);
    const id = `claw-${randomUUID()}`;
    const claw = { clawId: id, port: await freePort(), gatewayToken: gatewayToken() };
    await client.startClaw(claw);
    const s = await waitForStatus(client, id, 'failed');
    assert.equal(s.restarts, 2);
    assert.match(s.error ?? '', /crashed 3 times in a row; last: gateway exit code 3: …?boom/);
    // Asking for it again starts it afresh (and here it fails again, after as many tries).
    await client.startClaw(claw);
    await waitForStatus(client, id, 'failed', (x) => x.restarts === 4);
    await killAgent(agent);
  });

  it('SIGKILLs a gateway that ignores SIGTERM after the grace period, and waits for it', async () => {
    const stateDir = newStateDir();
    const agent = await startAgent({
      stateDir,
      env: {
        MINI_AGENT_GATEWAY_CMD: `${process.execPath} -e "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"`,
        MINI_AGENT_STOP_GRACE_MS: '500',
      },
    });
    const client = clientOf(agent, 10_000);
    const id = `claw-${randomUUID()}`;
    await client.startClaw({ clawId: id, port: await freePort(), gatewayToken: gatewayToken() });
    const s = await waitFor('the stubborn gateway to start', async () => {
      const r = await client.clawStatus(id);
      return r.pid ? r : undefined;
    });
    assert.equal(s.status, 'starting'); // it never answers hello-ok
    await new Promise((r) => setTimeout(r, 300)); // let it install its SIGTERM handler
    const t0 = Date.now();
    await client.stopClaw(id);
    assert.ok(Date.now() - t0 >= 450, 'waited for the grace period');
    assert.ok(!isAlive(s.pid!), 'killed before DELETE answered');
    assert.match(agent.output(), /gateway ignored SIGTERM; killing it/);
    await killAgent(agent);
  });

  it('stops every gateway on exit with --stop-gateways-on-exit; writes trusted proxies into its config', async () => {
    const stateDir = newStateDir();
    const agent = await startAgent({
      stateDir,
      args: ['--stop-gateways-on-exit'],
      env: { MINI_AGENT_TRUSTED_PROXIES: '127.0.0.1, ::1' },
    });
    const client = clientOf(agent, 5000);
    const id = `claw-${randomUUID()}`;
    await client.startClaw({ clawId: id, port: await freePort(), gatewayToken: gatewayToken() });
    const s = await waitForStatus(client, id, 'running');
    const config = JSON.parse(fs.readFileSync(path.join(stateDir, 'claws', id, 'openclaw.json'), 'utf8')) as {
      gateway: { trustedProxies: string[] };
    };
    assert.deepEqual(config.gateway.trustedProxies, ['127.0.0.1', '::1']);
    await killAgent(agent, 'SIGTERM');
    assert.ok(!isAlive(s.pid!));
  });

  it('refuses to listen beyond loopback without a token, and a second agent on the same state dir', async () => {
    const stateDir = newStateDir();
    // Refused while reading its configuration, before it binds anything.
    const args = ['--import', 'tsx', 'scripts/mini-agent.ts', '--port', '0', '--host', '0.0.0.0'];
    const noToken = spawn(process.execPath, args, {
      cwd: repoRoot,
      env: { ...process.env, MINI_AGENT_TOKEN: '', MINI_AGENT_STATE_DIR: stateDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    noToken.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((r) => noToken.once('exit', (c) => r(c)));
    assert.equal(code, 2);
    assert.match(err, /MINI_AGENT_TOKEN is required/);

    const first = await startAgent({ stateDir });
    const second = spawn(process.execPath, ['--import', 'tsx', 'scripts/mini-agent.ts', '--port', '0'], {
      cwd: repoRoot,
      env: {
        ...process.env,
        MINI_AGENT_TOKEN: token,
        MINI_AGENT_STATE_DIR: stateDir,
        MINI_AGENT_ISOLATION: 'none',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err2 = '';
    second.stderr.on('data', (d) => (err2 += d));
    assert.equal(await new Promise<number | null>((r) => second.once('exit', (c) => r(c))), 1);
    assert.match(err2, new RegExp(`Another Mini agent \\(pid ${first.child.pid}\\)`));
    await killAgent(first);
  });
});

/** Runs the agent program to its exit (it must refuse to start, or run a command and exit). */
function runAgentToExit(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'scripts/mini-agent.ts', ...args],
      { cwd: repoRoot, env: { ...process.env, MINI_AGENT_TOKEN: '', ...env }, timeout: 30_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

describe('mini agent: TLS identity, Host names, dev mode', { timeout: 120_000 }, () => {
  it('serves HTTPS with a key it generated on first start (0600), kept across restarts; `fingerprint` prints it', async () => {
    const stateDir = newStateDir();
    const first = await startAgent({ stateDir });
    assert.match(first.fingerprint ?? '', /^sha256:[0-9a-f]{64}$/);
    const tls = path.join(stateDir, 'tls');
    assert.equal(fs.statSync(tls).mode & 0o777, 0o700);
    for (const f of ['agent.key.pem', 'agent.cert.pem'])
      assert.equal(fs.statSync(path.join(tls, f)).mode & 0o777, 0o600, f);
    const cert = new X509Certificate(fs.readFileSync(path.join(tls, 'agent.cert.pem')));
    assert.equal(certFingerprint(cert.raw), first.fingerprint, 'the fingerprint is the certificate on disk');
    assert.match(first.output(), /listening on https:\/\/127\.0\.0\.1:/);
    assert.ok(!first.output().includes('PRIVATE KEY'), 'the key is never printed');
    assert.deepEqual((await clientOf(first, 5000).health()).claws, 0);

    const printed = await runAgentToExit(['fingerprint', '--state-dir', stateDir], {});
    assert.equal(printed.code, 0, printed.stderr);
    assert.equal(printed.stdout.trim(), first.fingerprint, 'no token needed, same certificate');

    await killAgent(first, 'SIGTERM');
    const again = await startAgent({ stateDir, port: first.port });
    assert.equal(again.fingerprint, first.fingerprint, 'restarts keep the key: the pin still holds');
    await clientOf(again, 5000).health();

    // Another certificate is refused by the pinned client, permanently, naming both.
    const impostor = newStateDir();
    const fresh = await runAgentToExit(['fingerprint'], { MINI_AGENT_STATE_DIR: impostor });
    const other = fresh.stdout.trim();
    assert.match(other, /^sha256:[0-9a-f]{64}$/, 'fingerprint generates a key for a new state dir');
    assert.notEqual(other, first.fingerprint);
    const wrongPin = createAgentClient({
      baseUrl: again.url,
      token,
      certFingerprint: other,
      timeoutMs: 5000,
    });
    await assert.rejects(wrongPin.health(), (err: unknown) => {
      assert.ok(err instanceof FailureError);
      assert.equal(err.kind, 'permanent');
      assert.ok(err.message.includes(`is ${first.fingerprint}, not the pinned ${other}`), err.message);
      assert.ok(!err.message.includes(token));
      return true;
    });
    // Plain HTTP to the TLS port gets no HTTP answer at all.
    const plain = createAgentClient({ baseUrl: `http://127.0.0.1:${again.port}`, token, timeoutMs: 3000 });
    await assert.rejects(plain.health(), (err: unknown) => {
      assert.ok(err instanceof FailureError);
      assert.equal(err.status, undefined, err.message);
      return true;
    });
    await killAgent(again);
  });

  it('refuses to start with half a key pair rather than silently re-keying', async () => {
    const stateDir = newStateDir();
    assert.equal((await runAgentToExit(['fingerprint', '--state-dir', stateDir], {})).code, 0);
    fs.rmSync(path.join(stateDir, 'tls', 'agent.cert.pem'));
    const r = await runAgentToExit(['--port', '0'], {
      MINI_AGENT_TOKEN: token,
      MINI_AGENT_STATE_DIR: stateDir,
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /agent\.cert\.pem is missing but .*agent\.key\.pem exists/);
  });

  it('answers only requests whose Host is one of its names, and none that come from a browser', async () => {
    const agent = await startAgent({ stateDir: newStateDir() });
    const auth = { authorization: `Bearer ${token}` };
    const as = (host: string, extra: Record<string, string> = {}) =>
      raw(agent, '/health', { headers: { ...auth, host, ...extra } });
    assert.equal((await as(`127.0.0.1:${agent.port}`)).status, 200);
    assert.equal((await as(`localhost:${agent.port}`)).status, 200);
    assert.equal((await as('[::1]')).status, 200, 'the port is not compared');
    for (const host of [
      'rebind.attacker.example',
      `rebind.attacker.example:${agent.port}`,
      '127.0.0.1.nip.io',
    ]) {
      const r = await as(host);
      assert.equal(r.status, 421, host);
      assert.ok(!r.text.includes('ok":true'), 'nothing of the API');
    }
    const noToken = await raw(agent, '/health', { headers: { host: 'evil.example' } });
    assert.equal(noToken.status, 421, 'refused before the token is even looked at');
    const browser = await as(`127.0.0.1:${agent.port}`, { origin: 'http://127.0.0.1:3000' });
    assert.equal(browser.status, 403);
    assert.match(browser.text, /Browsers may not call the Mini agent/);
    await killAgent(agent);

    // --host-names: exactly those names (say, the one in the Mini's agent URL).
    const named = await startAgent({
      stateDir: newStateDir(),
      env: { MINI_AGENT_HOST_NAMES: 'mini-07.fleet.test' },
    });
    const at = (host: string) => raw(named, '/health', { headers: { ...auth, host } });
    assert.equal((await at('mini-07.fleet.test:7070')).status, 200);
    assert.equal((await at('MINI-07.fleet.test.')).status, 200, 'case and a trailing dot do not matter');
    assert.equal((await at(`127.0.0.1:${named.port}`)).status, 421);
    await killAgent(named);
  });

  it('--dev: plain HTTP on loopback with the dev token, and the Host check still guards it', async () => {
    const dev = await startAgent({ stateDir: newStateDir(), args: ['--dev'], env: { MINI_AGENT_TOKEN: '' } });
    assert.equal(dev.fingerprint, undefined);
    assert.match(dev.output(), /listening on http:\/\/127\.0\.0\.1:/);
    const client = createAgentClient({ baseUrl: dev.url, token: DEV_AGENT_TOKEN, timeoutMs: 5000 });
    assert.equal((await client.health()).claws, 0);
    // The attack the check exists for: a page rebinding its name to 127.0.0.1, with the public token.
    const rebound = await raw(dev, '/health', {
      headers: { host: `rebind.attacker.example:${dev.port}`, authorization: `Bearer ${DEV_AGENT_TOKEN}` },
    });
    assert.equal(rebound.status, 421);
    await killAgent(dev);
  });

  it('never takes the public dev token outside --dev, and --dev only on loopback', async () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [[], { MINI_AGENT_TOKEN: DEV_AGENT_TOKEN }, /public dev token/],
      [[], {}, /MINI_AGENT_TOKEN is required \(or --dev/],
      [['--dev', '--host', '0.0.0.0'], {}, /--dev is for local runs/],
    ];
    for (const [args, env, message] of cases) {
      const r = await runAgentToExit(['--port', '0', ...args], {
        MINI_AGENT_STATE_DIR: newStateDir(),
        ...env,
      });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });
});
