/**
 * What a member may read of a failure. A claw's `lastError` and its timeline's failures carry the
 * words of whatever failed: the Mini's agent, the gateway, a bucket store, Node itself, e.g.
 * "Agent POST /claws failed: ECONNREFUSED", "No hello-ok from ws://10.0.0.5:20001 within 5000 ms",
 * "spawn /opt/node24/bin/node ENOENT". Members of an organization get the same sentence with every
 * internal address, port and path replaced by words; the platform's operators see it as it was
 * (the fleet page, the CLI, claw pages they open as platform admins).
 */

const ADDRESS = '(an internal address)';

const REWRITES: [RegExp, string][] = [
  // The agent client's own phrasing (server/fleet/agent-client.ts): say who, not which request.
  [
    /^Agent [A-Z]+ \S+: the agent's TLS certificate is .*$/s,
    "The claw's Mini could not be verified; an operator must check it",
  ],
  [/^Agent [A-Z]+ \S+?:? /, "The claw's Mini "],
  // URLs of any scheme (http, https, ws, wss, s3…), with whatever host, port and path they name.
  [/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>)\]]+/gi, ADDRESS],
  // IPv6 in brackets, with or without a port; then bare IPv6 (at least two colons).
  [/\[[0-9a-f:.]*:[0-9a-f:.]*\](?::\d{1,5})?/gi, ADDRESS],
  [/(?<![\w:])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![\w:])/gi, ADDRESS],
  // IPv4, with or without a port.
  [/\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b/g, ADDRESS],
  // name:port (localhost:7070, mini-07.lan:7070).
  [/\b(?:localhost|[a-z0-9-]+(?:\.[a-z0-9-]+)+):\d{1,5}\b/gi, ADDRESS],
  // "port 20001", "ports 20000-20099".
  [/\b(ports?)\s+\d{1,5}(?:\s*[-–]\s*\d{1,5})?/gi, '$1'],
  // Absolute paths on the Mini or the server.
  [/(^|[\s(='"])(?:~|\/)(?:[\w.@+-]+\/)*[\w.@+-]*[\w@+-]/g, '$1(a path on the Mini)'],
];

export function forMembers(text: string): string;
export function forMembers(text: string | null): string | null;
export function forMembers(text: string | null): string | null {
  if (text === null) return null;
  let out = text;
  for (const [pattern, replacement] of REWRITES) out = out.replace(pattern, replacement);
  return out;
}
