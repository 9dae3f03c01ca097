import { loadControlPlaneIdentity } from '../gateway/control-plane-identity';
import type { Runtime } from '../runtime';
import { CloudflareDeploymentService } from './cloudflare';
import { MacMiniDeploymentService } from './mac-mini';
import type { ClawDeploymentService } from './types';

/** The deployment services by target; DEPLOYMENT_TARGET picks the one new claws are requested on. */
export function createDeploymentServices(runtime: Runtime) {
  const macMini = new MacMiniDeploymentService(
    runtime.secrets,
    async () => {
      const identity = await loadControlPlaneIdentity(runtime.secrets);
      return { deviceId: identity.deviceId, publicKey: identity.publicKey };
    },
    runtime.config.AGENT_TIMEOUT_MS,
    runtime.config.BACKUP_TIMEOUT_MS,
  );
  const cloudflare = new CloudflareDeploymentService();
  const services: Record<string, ClawDeploymentService> = { 'mac-mini': macMini, cloudflare };
  return {
    default: services[runtime.config.DEPLOYMENT_TARGET]!,
    forTarget(target: string): ClawDeploymentService {
      const s = services[target];
      if (!s) throw new Error(`Unknown deployment target: ${target}`);
      return s;
    },
    healthProbe: macMini,
    agents: macMini,
  };
}
