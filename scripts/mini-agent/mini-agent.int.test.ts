import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
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
  url: string;
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
  const agent: Agent = { child, port, url: `http://127.0.0.1:${port}`, output: () => out, exited };
  started.push(agent);
  await waitFor(`the agent on port ${port}`, async () => {
    if (child.exitCode !== null) throw new Error(`the agent exited: ${out}`);
    return out.includes('mini-agent: listening on');
  });
  return agent;
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

async function waitForStatus(
  client: AgentClient,
  clawId: string,
  want: AgentClawStatusReport['status'],
  extra: (s: AgentClawStatusReport) => boolean = () => true,
  timeoutMs = 20_000,
): Promise<AgentClawStatusReport> {
  return waitFor(
    `claw ${clawId} ${want}`,
    async () => {
      const s = await statusOf(client, clawId);
      return s.status === want && extra(s) ? s : undefined;
    },
    timeoutMs,
    100,
  );
}

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
    client = createAgentClient({ baseUrl: agent.url, token, timeoutMs: 10_000 });
    gwPort = await freePort();
  });

  it('answers health with the bearer token, 401 without it', async () => {
    const health = await client.health();
    assert.equal(health.claws, 0);
    assert.match(health.version, /^\d+\.\d+\.\d+/);
    const wrong = createAgentClient({
      baseUrl: agent.url,
      token: 'not-the-agent-token-at-all',
      timeoutMs: 5000,
    });
    await expectAgentError(wrong.health(), 401, 'permanent');
    await expectAgentError(wrong.startClaw({ clawId, port: gwPort, gatewayToken: token1 }), 401, 'permanent');
    const res = await fetch(`${agent.url}/claws`);
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), { ok: false, error: 'Missing or wrong bearer token' });
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
      fetch(`${agent.url}/claws`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body });
    const bad = await post('{"clawId": 1}');
    assert.equal(bad.status, 400);
    const body = (await bad.json()) as { ok: boolean; error: string; issues: { path: string }[] };
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
    const raw = await fetch(`${agent.url}/claws`, { headers: { authorization: `Bearer ${token}` } });
    assert.ok(!(await raw.text()).includes(token1));
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
    const client = createAgentClient({ baseUrl: agent.url, token, timeoutMs: 5000 });
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
    const client = createAgentClient({ baseUrl: agent.url, token, timeoutMs: 10_000 });
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
    const client = createAgentClient({ baseUrl: agent.url, token, timeoutMs: 5000 });
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
