import type { ClawState, GatewayAccess } from '../../events/claw';
import type { MiniState } from '../../events/mini';
import { gatewayTokenSecret, type SecretStore } from '../secrets/secret-store';
import { loadControlPlaneIdentity } from './control-plane-identity';
import { openclawConnect, OpenClawConnectError, type Connected, type HelloOk } from './openclaw-client';
import { upstreamTarget, type UpstreamSettings } from './upstream-url';

export const PROXY_SCOPES = ['operator.read', 'operator.write'];
export const PROXY_CLIENT = { clientId: 'gateway-client', mode: 'backend', platform: 'linux' } as const;

/**
 * Opens an operator connection to a claw's gateway as the control plane: its token, the control
 * plane's signed device, the proxy's scopes. The chat proxy and the provisioning check connect
 * through this one function, so a claw marked active is one the proxy can reach.
 */
export async function connectAsControlPlane(opts: {
  secrets: SecretStore;
  claw: ClawState;
  mini: MiniState | null;
  upstream: UpstreamSettings;
  token: string;
  timeoutMs: number;
}): Promise<Connected> {
  const identity = await loadControlPlaneIdentity(opts.secrets);
  const target = upstreamTarget(opts.claw, opts.mini, opts.upstream);
  return openclawConnect({
    url: target.url,
    connect: target.options,
    ...(target.options.headers ? { headers: target.options.headers } : {}),
    token: opts.token,
    identity: {
      deviceId: identity.deviceId,
      publicKeyRaw: identity.publicKey,
      privateKeyPem: identity.privateKeyPem,
    },
    scopes: PROXY_SCOPES,
    clientId: PROXY_CLIENT.clientId,
    mode: PROXY_CLIENT.mode,
    platform: PROXY_CLIENT.platform,
    timeoutMs: opts.timeoutMs,
  });
}

/** Why a hello-ok is not enough for chat (wrong protocol, scopes not granted yet), or null. */
export function grantProblem(hello: HelloOk): { retry: 'soon' | 'never'; reason: string } | null {
  if (hello.protocol !== 4)
    return { retry: 'never', reason: `The gateway speaks protocol ${hello.protocol}, not 4` };
  const granted = hello.auth?.scopes ?? [];
  const missing = PROXY_SCOPES.filter((s) => !granted.includes(s));
  if (missing.length) return { retry: 'soon', reason: `The gateway did not grant ${missing.join(', ')} yet` };
  return null;
}

/**
 * Connects to a claw's gateway exactly as the chat proxy will (same URL, token, signed device,
 * scopes) and reports whether the gateway grants what chat needs. A pairing request that the Mini's
 * agent has not approved yet, or a gateway still starting, is "soon"; a refused token is "never".
 */
export async function verifyGatewayAccess(
  secrets: SecretStore,
  claw: ClawState,
  mini: MiniState | null,
  upstream: UpstreamSettings,
  timeoutMs = 5000,
): Promise<GatewayAccess> {
  const token = await secrets.get(gatewayTokenSecret(claw.id));
  if (!token) return { ok: false, retry: 'never', reason: 'The claw has no gateway token' };
  try {
    const { ws, hello } = await connectAsControlPlane({ secrets, claw, mini, upstream, token, timeoutMs });
    ws.close(1000);
    const problem = grantProblem(hello);
    if (problem) return { ok: false, ...problem };
    const identity = await loadControlPlaneIdentity(secrets);
    return { ok: true, deviceId: identity.deviceId };
  } catch (err) {
    if (!(err instanceof OpenClawConnectError)) throw err;
    const code = (err.details?.code as string | undefined) ?? err.code;
    if (code === 'PAIRING_REQUIRED')
      return { ok: false, retry: 'soon', reason: 'Waiting for the Mini to approve the control plane device' };
    if (code === 'AUTH_TOKEN_MISMATCH')
      return { ok: false, retry: 'never', reason: 'The gateway refused the claw token' };
    return { ok: false, retry: 'soon', reason: err.message };
  }
}
