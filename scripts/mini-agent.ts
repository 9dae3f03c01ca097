/**
 * The Mini agent: serves the Mini Agent API and runs one OpenClaw gateway per claw on this machine.
 *
 *   npm run agent -- --dev                       local: http://127.0.0.1:7070, dev gateways, the dev token
 *   MINI_AGENT_TOKEN=… MINI_AGENT_GATEWAY_CMD="/opt/node24/bin/node /opt/openclaw/openclaw.mjs" \
 *     npm run agent -- --host 0.0.0.0 --port 7070   a real Mini: HTTPS with its own certificate
 *   npm run agent -- fingerprint                 the certificate's fingerprint, for registration
 *
 * With --edge-port it also runs the edge, the Mini's one ingress (scripts/mini-agent/edge.ts), and
 * `npm run agent -- tunnel-config` prints the cloudflared config that points the tunnel at it.
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
import fs from 'node:fs';
import { createLogger, type Logger } from '../server/log';
import { MiniAgent } from './mini-agent/agent';
import {
  agentVersion,
  ConfigError,
  HelpRequested,
  isLoopback,
  parseAgentConfig,
  parseFingerprintCommand,
  type AgentConfig,
  type EdgeConfig,
} from './mini-agent/config';
import { createEdge, type Edge } from './mini-agent/edge';
import { createAgentHttpServer } from './mini-agent/http-api';
import { runTunnelConfig } from './mini-agent/tunnel-config';
import { loadOrCreateTlsIdentity, type AgentTlsIdentity } from './mini-agent/tls-identity';
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
    // `fingerprint`: print the TLS certificate's fingerprint (generating the pair if needed), exit.
    const fingerprint = parseFingerprintCommand(process.argv.slice(2), process.env);
    if (fingerprint) {
      console.log(loadOrCreateTlsIdentity(fingerprint.stateDir).fingerprint);
      return;
    }
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

  if (config.command === 'tunnel-config') {
    runTunnelConfig(config, (text) => process.stdout.write(text));
    return;
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

  // HTTPS with the agent's own key unless --dev (plain HTTP, loopback only: see config.ts).
  let tls: AgentTlsIdentity | undefined;
  try {
    tls = config.dev ? undefined : loadOrCreateTlsIdentity(config.stateDir);
  } catch (err) {
    unlock();
    throw err;
  }
  const server = createAgentHttpServer(agent, {
    token: config.token,
    version,
    log,
    hostNames: config.hostNames,
    ...(tls ? { tls } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  }).catch((err: unknown) => {
    unlock();
    throw err;
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;

  const scheme = tls ? 'https' : 'http';
  log.info('mini agent listening', {
    url: `${scheme}://${config.host}:${port}`,
    ...(tls ? { certFingerprint: tls.fingerprint, certCreated: tls.created } : {}),
    version,
    stateDir: config.stateDir,
    clawsDir: config.clawsDir,
    isolation: config.isolation,
    gateway: config.gatewayCommand.join(' '),
    ...resumed,
  });
  // The edge: the Mini's one ingress, routing claw-<id>.<suffix> to that claw's gateway.
  const edge = config.edge
    ? await startEdge(config.edge, agent, log, tls).catch((err: unknown) => {
        unlock();
        throw err;
      })
    : undefined;
  if (config.dev) console.log(`mini-agent: dev mode; bearer token: ${config.token}`);
  // Machine-readable lines for whoever started us (tests, the dev server, an operator registering
  // the Mini): the fingerprint first, so it is known once "listening" is seen.
  if (tls) console.log(`mini-agent: certificate fingerprint ${tls.fingerprint}`);
  console.log(`mini-agent: listening on ${scheme}://${config.host}:${port}`);

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal, stopGateways: config.stopGatewaysOnExit });
    server.close();
    server.closeAllConnections();
    void edge?.close();
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

async function startEdge(
  edgeConfig: EdgeConfig,
  agent: MiniAgent,
  log: Logger,
  agentTls: AgentTlsIdentity | undefined,
): Promise<Edge> {
  // Certificate files given for the edge win; else, beyond loopback (direct mode), the agent's own
  // key and certificate, whose pinned fingerprint the control plane already checks. On loopback
  // (behind cloudflared on this Mini) the edge speaks plain HTTP.
  const tls = edgeConfig.tls
    ? { cert: fs.readFileSync(edgeConfig.tls.certFile), key: fs.readFileSync(edgeConfig.tls.keyFile) }
    : agentTls && !isLoopback(edgeConfig.host)
      ? { cert: agentTls.certPem, key: agentTls.keyPem }
      : undefined;
  const edge = createEdge({
    host: edgeConfig.host,
    port: edgeConfig.port,
    ...(tls ? { tls } : {}),
    trustedForwarders: edgeConfig.trustedForwarders,
    routes: { lookup: (hostname) => agent.route(hostname) },
    log: log.child({ component: 'edge' }),
  });
  agent.onClawRemoved((clawId) => edge.dropClaw(clawId));
  const port = await edge.listen();
  if (!tls && !isLoopback(edgeConfig.host))
    log.warn('the edge serves plain HTTP beyond loopback: gateway tokens cross the network in clear', {
      host: edgeConfig.host,
    });
  console.log(`mini-agent: edge on ${tls ? 'https' : 'http'}://${edgeConfig.host}:${port}`);
  return edge;
}

main().catch((err: unknown) => {
  console.error(`mini-agent: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
