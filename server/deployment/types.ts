import type { ClawState } from '../../events/claw';
import type { MiniState } from '../../events/mini';
import type { BackupAgent } from '../claws/backups';

export type GatewayStatus = 'starting' | 'running' | 'stopped' | 'failed' | 'unknown';

export interface GatewayStatusReport {
  status: GatewayStatus;
  error?: string;
  /** The Mini approved the control plane's device on the gateway (a pairing it performed and saw). */
  paired?: boolean;
  /** The Mini sent the approval and has not seen it done yet (ClawStatusReport.pairingApproving). */
  pairingApproving?: boolean;
}

/**
 * Where a claw's gateway runs. The worker drives every target through the same three calls; each
 * call is idempotent per claw, so a retry after a crash repeats harmlessly.
 */
export interface ClawDeploymentService extends BackupAgent {
  readonly target: 'mac-mini' | 'cloudflare';
  start(claw: ClawState, mini: MiniState | null): Promise<void>;
  status(claw: ClawState, mini: MiniState | null): Promise<GatewayStatusReport>;
  /** Removes the claw's gateway and everything of it on its host (deletion, failure). */
  stop(claw: ClawState, mini: MiniState | null): Promise<void>;
  /** Stops the gateway and keeps the claw there (its files, its port), for a later start. */
  pause(claw: ClawState, mini: MiniState | null): Promise<void>;
}
