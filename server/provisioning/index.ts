import { BackupScheduler } from '../claws/backup-scheduler';
import { retentionOf } from '../claws/backups';
import { createDeploymentServices } from '../deployment';
import { MiniHealthLoop } from '../fleet/health';
import { Reconciler } from '../fleet/reconciler';
import { upstreamSettings } from '../gateway/upstream-url';
import { verifyGatewayAccess } from '../gateway/verify-access';
import { createLogger, type Logger } from '../log';
import type { Runtime } from '../runtime';
import { ProvisioningWorker } from './worker';

export interface ProvisioningHandle {
  worker: ProvisioningWorker;
  health: MiniHealthLoop;
  reconciler: Reconciler;
  backups: BackupScheduler;
  stop(): Promise<void>;
}

/** Builds the provisioning worker, the Mini health loop and the reconciler from the runtime's configuration. */
export function createProvisioning(runtime: Runtime, log: Logger = createLogger(runtime.config.LOG_LEVEL)) {
  const cfg = runtime.config;
  const deployments = createDeploymentServices(runtime);
  const upstream = upstreamSettings(cfg);
  const buckets = runtime.buckets;
  const worker = new ProvisioningWorker(
    {
      store: runtime.store,
      secrets: runtime.secrets,
      buckets,
      deploymentFor: deployments.forTarget,
      verifyAccess: (claw, mini) => verifyGatewayAccess(runtime.secrets, claw, mini, upstream),
      log: log.child({ component: 'provisioner' }),
    },
    {
      pollMs: cfg.WORKER_POLL_MS,
      maxAttempts: cfg.WORKER_MAX_ATTEMPTS,
      backoffBaseMs: cfg.WORKER_BACKOFF_BASE_MS,
      backoffMaxMs: cfg.WORKER_BACKOFF_MAX_MS,
      readyTimeoutMs: cfg.WORKER_READY_TIMEOUT_MS,
      leaseMs: cfg.WORKER_LEASE_MS,
    },
  );
  const health = new MiniHealthLoop(
    runtime.store,
    deployments.healthProbe,
    log.child({ component: 'health' }),
    { intervalMs: cfg.HEALTH_INTERVAL_MS, lostAfterMs: cfg.MINI_LOST_AFTER_MS },
  );
  const reconciler = new Reconciler(
    runtime.store,
    deployments.agents,
    log.child({ component: 'reconciler' }),
    {
      intervalMs: cfg.RECONCILE_INTERVAL_MS,
    },
  );
  const backups = new BackupScheduler(
    { store: runtime.store, buckets, agents: deployments.agents, retention: retentionOf(cfg) },
    log.child({ component: 'backups' }),
    { intervalMs: cfg.BACKUP_INTERVAL_MS, checkMs: cfg.BACKUP_CHECK_MS, concurrency: cfg.BACKUP_CONCURRENCY },
  );
  return { worker, health, reconciler, backups };
}

/** Starts the provisioning worker, the Mini health loop and the reconciler in this process. */
export async function startProvisioning(runtime: Runtime, log?: Logger): Promise<ProvisioningHandle> {
  const { worker, health, reconciler, backups } = createProvisioning(runtime, log);
  worker.start();
  health.start();
  reconciler.start();
  backups.start();
  return {
    worker,
    health,
    reconciler,
    backups,
    async stop() {
      await Promise.all([worker.stop(), health.stop(), reconciler.stop(), backups.stop()]);
    },
  };
}
