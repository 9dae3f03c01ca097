import { permanent } from '../failure';
import { type ClawDeploymentService, type GatewayStatusReport } from './types';

/**
 * The Cloudflare target's adapter. Claws on Mac Minis is the product today; this target keeps its
 * place behind the same interface and fails each claw clearly (a permanent error, so the claw is
 * marked failed at once rather than retried).
 */
export class CloudflareDeploymentService implements ClawDeploymentService {
  readonly target = 'cloudflare' as const;
  #unsupported(): never {
    throw permanent('The cloudflare deployment target is not available in this installation');
  }
  async start(): Promise<void> {
    this.#unsupported();
  }
  async status(): Promise<GatewayStatusReport> {
    this.#unsupported();
  }
  async stop(): Promise<void> {
    // Nothing was ever started on this target, so there is nothing to stop.
  }
  async pause(): Promise<void> {
    // Likewise: nothing runs here.
  }
  async backup(): Promise<never> {
    this.#unsupported();
  }
  async restore(): Promise<void> {
    this.#unsupported();
  }
}
