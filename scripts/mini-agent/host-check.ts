import net from 'node:net';
import os from 'node:os';

/**
 * DNS rebinding: a web page on the Mini's network (or on the Mini itself, for a dev agent on
 * loopback with the public dev token) can point a name it controls at the agent's address, and
 * the browser then sends the agent requests with `Host: <that name>`. The agent answers only
 * requests whose Host is one of its own names. The port is not compared: a port forward or NAT
 * may change it, and rebinding is about the name.
 */

/** The names a request may carry in its Host header, lowercased, without a trailing dot. */
export type HostNames = ReadonlySet<string>;

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];
const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/**
 * `configured` (`--host-names`) when given: exactly those. Otherwise this machine's own names:
 * the loopback names, the listen address, and, when it listens beyond loopback, its hostname (and
 * the `.local` one macOS announces) and the addresses of its interfaces. IP literals cannot be
 * rebound, so listing them costs nothing.
 */
export function defaultHostNames(listenHost: string, loopbackOnly: boolean, configured: string[]): HostNames {
  if (configured.length) return new Set(configured.map(normalizeHost));
  const names = new Set([...LOOPBACK_NAMES, normalizeHost(listenHost)]);
  if (!loopbackOnly) {
    const host = normalizeHost(os.hostname());
    const short = host.split('.')[0]!;
    for (const n of [host, short, `${short}.local`]) names.add(n);
    for (const addrs of Object.values(os.networkInterfaces()))
      for (const a of addrs ?? []) names.add(normalizeHost(a.address));
  }
  for (const w of WILDCARDS) names.delete(w);
  return names;
}

export function normalizeHost(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
}

/** The name part of a Host header (`name`, `name:port`, `[v6]:port`), normalized; undefined if malformed. */
export function hostOfHeader(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const h = header.trim();
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::\d{1,5})?$/.exec(h);
  if (v6) return net.isIPv6(v6[1]!) ? normalizeHost(v6[1]!) : undefined;
  const m = /^([A-Za-z0-9.-]+)(?::\d{1,5})?$/.exec(h);
  return m ? normalizeHost(m[1]!) : undefined;
}

export function hostAllowed(header: string | undefined, names: HostNames): boolean {
  const host = hostOfHeader(header);
  return host !== undefined && names.has(host);
}
