import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { LookupFunction, Socket } from 'node:net';
import tls from 'node:tls';
import { permanent } from '../failure';

/**
 * Where and how the control plane reaches a claw's gateway. Gateways listen on their Mini's
 * loopback only; the one way in is the Mini's edge (scripts/mini-agent/edge.ts), which routes by
 * the claw's hostname `claw-<id>.<suffix>`:
 *
 * - `tunnel`: `wss://claw-<id>.<suffix>`, through Cloudflare (a public certificate) and the Mini's
 *   cloudflared, whose one wildcard rule sends every claw of the Mini to its edge.
 * - `direct` (a private network or a tailnet): `wss://<Mini host>:<edge port>`, the TLS name and the
 *   Host header both the claw's hostname, so the edge picks the claw. The edge's certificate is the
 *   Mini's own: with a pinned fingerprint (the agent's self-signed certificate, pinned when the
 *   Mini was registered) it must be that certificate; without one it must chain to a trusted CA
 *   and name the Mini's host (not the claw's name).
 * - `direct` to a Mini without an edge: only a Mini on this very machine can be reached, at its
 *   loopback port (local development); any other fails for good, saying why, instead of timing out.
 */
export type UpstreamMode = 'tunnel' | 'direct';

export interface UpstreamSettings {
  mode: UpstreamMode;
  /** PEM certificates trusted besides the system's (UPSTREAM_CA_FILE: a private CA, tests). */
  ca?: string;
  /**
   * Dial this IP for every tunnel hostname, keeping the TLS name and Host (UPSTREAM_TUNNEL_CONNECT_TO):
   * a local stand-in for Cloudflare's network, where no DNS knows the claws' names.
   */
  tunnelConnectTo?: string;
}

/** What `ws` needs to open the connection: the URL, and options for its TLS / TCP connect. */
export interface UpstreamTarget {
  url: string;
  options: {
    servername?: string;
    headers?: Record<string, string>;
    ca?: string[];
    checkServerIdentity?: (hostname: string, cert: tls.PeerCertificate) => Error | undefined;
    lookup?: LookupFunction;
    /** Opens the TLS connection itself: the certificate must be the pinned one. */
    createConnection?: (options: tls.ConnectionOptions) => Socket;
  };
}

interface ClawPlacement {
  tunnelHostname: string | null;
  miniPort: number | null;
}
interface MiniAddress {
  agentUrl: string;
  edgePort?: number | null;
  /** `sha256:<hex>` of the agent's certificate, which its edge serves too. */
  agentCertFingerprint?: string | null;
}

export function upstreamTarget(
  claw: ClawPlacement,
  mini: MiniAddress | null,
  settings: UpstreamSettings,
): UpstreamTarget {
  // Adding to the system's roots, not replacing them: Cloudflare's certificate stays trusted.
  const ca = settings.ca ? { ca: [...tls.rootCertificates, settings.ca] } : {};
  if (settings.mode === 'tunnel') {
    if (!claw.tunnelHostname) throw permanent('The claw has no tunnel hostname');
    return {
      url: `wss://${claw.tunnelHostname}`,
      options: {
        ...ca,
        ...(settings.tunnelConnectTo ? { lookup: fixedLookup(settings.tunnelConnectTo) } : {}),
      },
    };
  }
  if (!mini) throw permanent('The claw has no Mini');
  const host = new URL(mini.agentUrl).hostname.replace(/^\[|\]$/g, '');
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  if (mini.edgePort) {
    if (!claw.tunnelHostname) throw permanent('The claw has no hostname for its Mini’s edge');
    const name = { servername: claw.tunnelHostname, headers: { host: claw.tunnelHostname } };
    if (mini.agentCertFingerprint)
      return {
        url: `wss://${hostInUrl}:${mini.edgePort}`,
        options: { ...name, createConnection: pinnedConnection(mini.agentCertFingerprint) },
      };
    return {
      url: `wss://${hostInUrl}:${mini.edgePort}`,
      options: {
        ...ca,
        ...name,
        checkServerIdentity: (_servername, cert) => tls.checkServerIdentity(host, cert),
      },
    };
  }
  if (claw.miniPort === null) throw permanent('The claw has no Mini port');
  if (!isLoopbackHost(host))
    throw permanent(
      `The Mini at ${host} has no edge: its gateways listen on its loopback only. Register its edge port, or use UPSTREAM_MODE=tunnel`,
    );
  return { url: `ws://${hostInUrl}:${claw.miniPort}`, options: {} };
}

/** The settings from the configuration; the CA file is read once, here. */
export function upstreamSettings(cfg: {
  UPSTREAM_MODE: UpstreamMode;
  UPSTREAM_CA_FILE?: string | undefined;
  UPSTREAM_TUNNEL_CONNECT_TO?: string | undefined;
}): UpstreamSettings {
  return {
    mode: cfg.UPSTREAM_MODE,
    ...(cfg.UPSTREAM_CA_FILE ? { ca: fs.readFileSync(cfg.UPSTREAM_CA_FILE, 'utf8') } : {}),
    ...(cfg.UPSTREAM_TUNNEL_CONNECT_TO ? { tunnelConnectTo: cfg.UPSTREAM_TUNNEL_CONNECT_TO } : {}),
  };
}

/** `sha256:AB:CD…`, `sha256:abcd…` → `abcd…`. */
const pinHex = (fingerprint: string) =>
  fingerprint
    .replace(/^sha-?256:?/i, '')
    .replaceAll(':', '')
    .toLowerCase();

/**
 * A TLS connection that is trusted by the certificate's fingerprint alone (a self-signed
 * certificate has no CA to chain to, and its names are not the identity): the handshake completes,
 * the presented certificate is compared with the pin, and a mismatch destroys the socket before the
 * WebSocket is accepted and before anything secret is sent (the gateway token goes in the first
 * frame after the upgrade).
 */
function pinnedConnection(fingerprint: string): (options: tls.ConnectionOptions) => Socket {
  const pin = pinHex(fingerprint);
  return (options) => {
    const socket = tls.connect({ ...options, rejectUnauthorized: false, minVersion: 'TLSv1.2' });
    socket.once('secureConnect', () => {
      const der = socket.getPeerCertificate(true).raw;
      const seen = der ? createHash('sha256').update(der).digest('hex') : '';
      if (seen !== pin)
        socket.destroy(new Error('the edge’s certificate is not the one pinned for this Mini'));
    });
    return socket;
  };
}

const isLoopbackHost = (h: string) => h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);

/** A resolver that answers every name with one address (both of Node's calling conventions). */
function fixedLookup(address: string): LookupFunction {
  const family = address.includes(':') ? 6 : 4;
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  }) as LookupFunction;
}
