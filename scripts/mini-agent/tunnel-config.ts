import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, type AgentConfig } from './config';

/**
 * `npm run agent -- tunnel-config`: the cloudflared configuration of this Mini's tunnel. It has ONE
 * wildcard ingress rule, `*.<tunnel suffix>` → the edge, and a 404 for every other name: the edge
 * routes each claw by its Host, so adding or removing a claw never changes this file and cloudflared
 * never restarts (the seed rewrote its ingress and restarted it on every provision, dropping every
 * other claw's connections). cloudflared passes the visitor's Host through unchanged and adds
 * Cf-Connecting-Ip / X-Forwarded-For, which the edge keeps because cloudflared connects from
 * loopback (its trusted forwarder).
 */

export interface TunnelConfigInput {
  tunnelSuffix: string;
  /** Where cloudflared reaches the edge, e.g. `http://127.0.0.1:8080`. */
  edgeUrl: string;
  tunnelId?: string;
  credentialsFile?: string;
}

export function cloudflaredConfig(input: TunnelConfigInput): string {
  const tunnel = input.tunnelId ?? '<tunnel UUID: cloudflared tunnel create <name>>';
  const credentials = input.credentialsFile ?? `<~/.cloudflared/${input.tunnelId ?? '<tunnel UUID>'}.json>`;
  return [
    '# cloudflared configuration for this Mini, written by `npm run agent -- tunnel-config`.',
    `# DNS: one wildcard record for the Mini, e.g. \`cloudflared tunnel route dns ${input.tunnelId ?? '<tunnel>'} "*.${input.tunnelSuffix}"\`.`,
    '# Every claw is reached through the edge, which routes by Host: claws come and go without',
    '# any change here, so cloudflared is never restarted for them.',
    `tunnel: ${yamlString(tunnel)}`,
    `credentials-file: ${yamlString(credentials)}`,
    'ingress:',
    `  - hostname: ${yamlString(`*.${input.tunnelSuffix}`)}`,
    `    service: ${yamlString(input.edgeUrl)}`,
    '  - service: http_status:404',
    '',
  ].join('\n');
}

/** Runs the `tunnel-config` command: the config on stdout, or written to `--out` (0644, atomically). */
export function runTunnelConfig(config: AgentConfig, stdout: (text: string) => void): void {
  if (!config.tunnelSuffix)
    throw new ConfigError('tunnel-config needs --tunnel-suffix (MINI_AGENT_TUNNEL_SUFFIX)');
  const edge = config.edge;
  if (!edge) throw new ConfigError('tunnel-config needs --edge-port (MINI_AGENT_EDGE_PORT)');
  // cloudflared runs on this Mini and speaks plain HTTP to a loopback edge; a TLS edge is direct mode's.
  if (edge.tls)
    throw new ConfigError(
      'In tunnel mode the edge serves plain HTTP to cloudflared: drop --edge-cert/--edge-key',
    );
  const host = edge.host === '0.0.0.0' || edge.host === '::' ? '127.0.0.1' : edge.host;
  const text = cloudflaredConfig({
    tunnelSuffix: config.tunnelSuffix,
    edgeUrl: `http://${host.includes(':') ? `[${host}]` : host}:${edge.port}`,
    ...(config.tunnel.id ? { tunnelId: config.tunnel.id } : {}),
    ...(config.tunnel.credentialsFile ? { credentialsFile: config.tunnel.credentialsFile } : {}),
  });
  const out = config.tunnel.out;
  if (!out) return stdout(text);
  const file = path.resolve(out);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o644 });
  fs.renameSync(tmp, file);
  stdout(`wrote ${file}\n`);
}

/** A YAML double-quoted scalar (JSON's escaping is valid YAML). */
const yamlString = (v: string) => JSON.stringify(v);
