/**
 * Where the control plane reaches a claw's gateway: through its own tunnel hostname in production,
 * or straight at the Mini's host and the claw's port for local runs.
 */
export type UpstreamMode = 'tunnel' | 'direct';

export function upstreamUrl(
  claw: { tunnelHostname: string | null; miniPort: number | null },
  mini: { agentUrl: string } | null,
  mode: UpstreamMode,
): string {
  if (mode === 'tunnel') {
    if (!claw.tunnelHostname) throw new Error('The claw has no tunnel hostname');
    return `wss://${claw.tunnelHostname}`;
  }
  if (!mini || claw.miniPort === null) throw new Error('The claw has no Mini port');
  const host = new URL(mini.agentUrl).hostname;
  return `ws://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${claw.miniPort}`;
}
