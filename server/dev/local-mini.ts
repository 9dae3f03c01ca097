import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { fleetMinis } from '../../projections/minis';
import { DEV_AGENT_TOKEN, seedDevMini } from '../fleet/dev-mini';
import type { Logger } from '../log';
import type { Runtime } from '../runtime';

const repoRoot = path.resolve(import.meta.dirname, '../..');

async function agentAnswers(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/health`, {
      headers: { authorization: `Bearer ${DEV_AGENT_TOKEN}` },
      signal: AbortSignal.timeout(1000),
    });
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * Local runs only: a Mini agent with dev gateways on this machine, registered as the fleet's Mini
 * when the fleet is empty, so a new user's first claw works with no other step. An agent already
 * answering on the port (`npm run agent -- --dev`, plain HTTP with the dev token) is used as it is.
 */
export async function startLocalDevMini(runtime: Runtime, log: Logger): Promise<{ stop(): Promise<void> }> {
  const port = runtime.config.MINI_AGENT_PORT;
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  if (!(await agentAnswers(url))) {
    child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'scripts/mini-agent.ts',
        '--dev',
        '--port',
        String(port),
        '--stop-gateways-on-exit',
      ],
      {
        cwd: repoRoot,
        env: {
          ...runtime.config.env,
          NODE_ENV: runtime.config.NODE_ENV,
          MINI_AGENT_TOKEN: DEV_AGENT_TOKEN,
          MINI_AGENT_STATE_DIR: path.join(runtime.config.dataDir, 'mini-agent'),
        },
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    const deadline = Date.now() + 20_000;
    while (!(await agentAnswers(url))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        log.warn('the local Mini agent did not start; claws cannot be provisioned locally', { url });
        return { stop: async () => void child?.kill('SIGTERM') };
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  if ((await fleetMinis(runtime.database.db)).length === 0) {
    const { mini } = await seedDevMini(
      {
        store: runtime.store,
        secrets: runtime.secrets,
        actor: 'system:dev-setup',
        production: runtime.config.production,
        correlationId: randomUUID(),
      },
      { agentUrl: url, agentToken: DEV_AGENT_TOKEN, tunnelSuffix: runtime.config.TUNNEL_DOMAIN },
    );
    log.info('registered the local dev Mini', { hostname: mini.hostname, agentUrl: url });
  }
  return {
    async stop() {
      if (!child || child.exitCode !== null) return;
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    },
  };
}
