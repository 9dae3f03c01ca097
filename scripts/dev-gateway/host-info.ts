import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { SERVER_VERSION } from './protocol';

/**
 * What the real gateway tells every operator connection about the machine it runs on (OPENCLAW.md
 * §1.5, openclaw-lab/frames/hello-ok.full.json): a presence entry with the hostname, an IP address
 * and the kernel version, and a health snapshot with the path of the agent's session database.
 * The dev gateway sends the same, from this machine, so that what the Claws proxy must keep from
 * the browser is there to keep in every local run and test, not only against the real gateway.
 */

const instanceId = randomUUID();

function firstAddress(): string {
  for (const addrs of Object.values(os.networkInterfaces()))
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return '127.0.0.1';
}

export function selfPresence() {
  const host = os.hostname();
  const ip = firstAddress();
  return {
    host,
    ip,
    version: SERVER_VERSION,
    platform: `${os.platform()} ${os.release()}`,
    deviceFamily: os.type(),
    mode: 'gateway',
    reason: 'self',
    instanceId,
    text: `Gateway: ${host} (${ip}) · app ${SERVER_VERSION} · mode gateway · reason self`,
    ts: Date.now(),
  };
}

export function healthSnapshot(stateDir: string | undefined) {
  const sessions = {
    path: path.join(
      stateDir ?? path.join(os.homedir(), '.openclaw'),
      'agents/main/agent/openclaw-agent.sqlite',
    ),
    count: 0,
    recent: [],
  };
  return {
    ok: true,
    ts: Date.now(),
    durationMs: 1,
    defaultAgentId: 'main',
    agents: [{ agentId: 'main', isDefault: true, sessions }],
    sessions,
  };
}
