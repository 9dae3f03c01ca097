/**
 * The Mini agent: serves the Mini Agent API and runs one OpenClaw gateway per claw on this machine.
 *
 *   npm run agent                                local: 127.0.0.1:7070, dev gateways, the dev token
 *   MINI_AGENT_TOKEN=… MINI_AGENT_GATEWAY_CMD="/opt/node24/bin/node /opt/openclaw/openclaw.mjs" \
 *     npm run agent -- --host 0.0.0.0 --port 7070   a real Mini (a token is required off loopback)
 *
 * On SIGTERM/SIGINT the agent exits and LEAVES THE GATEWAYS RUNNING: restarting or upgrading the
 * agent must not drop every claw's connections. They run detached in their own process groups and
 * are recorded in <stateDir>/claws.json; the next agent start adopts the live ones and restarts the
 * others. `--stop-gateways-on-exit` (local development) stops them instead. See
 * scripts/mini-agent/config.ts for every flag and environment variable.
 *
 *   sudo npm run agent -- doctor [agent flags]    what this Mini lacks (scripts/mini-agent/doctor.ts)
 *   sudo npm run agent -- install --gateway-cmd … the macOS LaunchDaemon (scripts/mini-agent/install.ts)
 */
import { createLogger } from '../server/log';
import { MiniAgent } from './mini-agent/agent';
import {
  agentVersion,
  ConfigError,
  HelpRequested,
  parseAgentConfig,
  type AgentConfig,
} from './mini-agent/config';
import { createAgentHttpServer } from './mini-agent/http-api';
import { isSubcommand, runSubcommand } from './mini-agent/subcommands';

async function main(): Promise<void> {
  // Subcommands: install (a LaunchDaemon), doctor (what this Mini lacks).
  const [first, ...rest] = process.argv.slice(2);
  if (isSubcommand(first)) {
    process.exitCode = await runSubcommand(first, rest);
    return;
  }

  let config: AgentConfig;
  try {
    config = parseAgentConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof HelpRequested) {
      console.log(err.message);
      return;
    }
    if (err instanceof ConfigError) {
      console.error(`mini-agent: ${err.message}`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }

  const log = createLogger(config.logLevel, { component: 'mini-agent' });
  const version = agentVersion();
  const agent = new MiniAgent(config, log);
  const unlock = await agent.store.lock();

  let resumed;
  try {
    resumed = await agent.resume();
  } catch (err) {
    unlock();
    throw err;
  }

  const server = createAgentHttpServer(agent, { token: config.token, version, log });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  }).catch((err: unknown) => {
    unlock();
    throw err;
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;

  log.info('mini agent listening', {
    url: `http://${config.host}:${port}`,
    version,
    stateDir: config.stateDir,
    clawsDir: config.clawsDir,
    isolation: config.isolation,
    gateway: config.gatewayCommand.join(' '),
    ...resumed,
  });
  if (config.dev) console.log(`mini-agent: dev mode; bearer token: ${config.token}`);
  // One machine-readable line for whoever started us (tests, the dev server).
  console.log(`mini-agent: listening on http://${config.host}:${port}`);

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal, stopGateways: config.stopGatewaysOnExit });
    server.close();
    server.closeAllConnections();
    agent
      .shutdown(config.stopGatewaysOnExit)
      .catch((err: unknown) => log.error('shutdown failed', { error: String(err) }))
      .finally(() => {
        unlock();
        process.exit(0);
      });
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((err: unknown) => {
  console.error(`mini-agent: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
