/**
 * The upstream hello-ok, minus everything that is a credential: the device token the gateway
 * issues to the control plane, the recovery scope, plugin surface URLs (capability links), and any
 * string that contains the gateway token itself.
 */
export function redactHello(hello: Record<string, unknown>, gatewayToken: string): Record<string, unknown> {
  const copy = structuredClone(hello);
  const auth = copy.auth as Record<string, unknown> | undefined;
  if (auth) {
    delete auth.deviceToken;
    delete auth.recoveryScope;
    delete auth.issuedAtMs;
    delete auth.recoveryMigrationAllowed;
  }
  delete copy.pluginSurfaceUrls;
  return scrub(copy, gatewayToken) as Record<string, unknown>;
}

function scrub(value: unknown, secret: string): unknown {
  if (typeof value === 'string') return secret && value.includes(secret) ? '[redacted]' : value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, secret));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v, secret)]));
  return value;
}
