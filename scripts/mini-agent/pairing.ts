import { z } from 'zod';
import type { Logger } from '../../server/log';
import { connectGateway, GatewayRpcError, type GatewaySession } from './gateway-protocol';
import { sleep } from './timing';

/**
 * The pairing hook: once a claw's gateway runs, make it trust the control plane's device. The
 * control plane's first "remote" connect leaves a pending request (PAIRING_REQUIRED + requestId);
 * this approves exactly the requests whose deviceId is the control plane's, over a loopback backend
 * connection with operator.admin + operator.pairing (OPENCLAW.md §1.6, "Pairing approval").
 */

export type PairingOutcome =
  { paired: true; deviceId: string } | { paired: false; deviceId: string; reason: string; final: boolean };

const Pending = z.object({ requestId: z.string(), deviceId: z.string() }).loose();
const Paired = z.object({ deviceId: z.string() }).loose();
const PairList = z
  .object({ pending: z.array(z.unknown()).default([]), paired: z.array(z.unknown()).default([]) })
  .loose();

const entries = <T extends z.ZodType>(schema: T, list: unknown[]): z.infer<T>[] =>
  list.flatMap((e) => {
    const r = schema.safeParse(e);
    return r.success ? [r.data] : [];
  });

/** One look: already paired → done; a pending request from the device → approve it. */
async function pairOnce(
  session: GatewaySession,
  deviceId: string,
  onApproving?: () => void,
): Promise<boolean> {
  const list = PairList.safeParse(await session.request('device.pair.list', {}));
  if (!list.success)
    throw new GatewayRpcError('BAD_RESPONSE', 'device.pair.list answered an unexpected shape');
  if (entries(Paired, list.data.paired).some((d) => d.deviceId === deviceId)) return true;
  const mine = entries(Pending, list.data.pending).filter((r) => r.deviceId === deviceId);
  if (mine.length) onApproving?.();
  for (const request of mine) await session.request('device.pair.approve', { requestId: request.requestId });
  return mine.length > 0;
}

/**
 * Polls the gateway's pairing list every `intervalMs` for up to `windowMs`, approving the device's
 * requests. Connection failures are retried within the window; an RPC the gateway refuses (method
 * unknown, forbidden) ends it with `final: true`, since asking again will not help.
 */
export async function pairControlPlaneDevice(opts: {
  port: number;
  token: string;
  deviceId: string;
  windowMs: number;
  intervalMs: number;
  signal: AbortSignal;
  /** Called before the first approval is sent: from then on the gateway may let the device in. */
  onApproving?: () => void;
}): Promise<PairingOutcome> {
  const deadline = Date.now() + opts.windowMs;
  let reason = `no pairing request from device ${opts.deviceId.slice(0, 16)}… yet`;
  while (!opts.signal.aborted) {
    let session: GatewaySession | undefined;
    try {
      session = await connectGateway({
        port: opts.port,
        token: opts.token,
        scopes: ['operator.admin', 'operator.pairing'],
        timeoutMs: 5000,
      });
      if (await pairOnce(session, opts.deviceId, opts.onApproving))
        return { paired: true, deviceId: opts.deviceId };
    } catch (err) {
      if (err instanceof GatewayRpcError && err.code !== 'CLOSED' && err.code !== 'TIMEOUT')
        return {
          paired: false,
          deviceId: opts.deviceId,
          reason: `the gateway refused pairing RPCs: ${err.code} ${err.message}`,
          final: true,
        };
      reason = `pairing check failed: ${err instanceof Error ? err.message : String(err)}`;
    } finally {
      session?.close();
    }
    if (Date.now() + opts.intervalMs > deadline) break;
    await sleep(opts.intervalMs, opts.signal);
  }
  return { paired: false, deviceId: opts.deviceId, reason, final: false };
}

/**
 * One claw's pairing state: whether its gateway approved the control plane's device, why not, and
 * the one look in flight. Looking again is pointless once paired, while a look runs, or after the
 * gateway refused the pairing RPCs; a different device starts over.
 */
export class DevicePairing {
  paired = false;
  /** An approval was sent and its look has not ended: the gateway may already trust the device. */
  approving = false;
  error: string | undefined;
  #looking: AbortController | undefined;
  #final = false;

  constructor(
    private readonly opts: {
      port: number;
      token: string;
      windowMs: number;
      intervalMs: number;
      log: Logger;
    },
  ) {}

  /** A different device: forget what was found for the last one. */
  reset(): void {
    this.paired = false;
    this.approving = false;
    this.error = undefined;
    this.#final = false;
    this.cancel();
  }

  /** Starts a look for `deviceId`'s request, unless paired, already looking, or pointless. */
  look(deviceId: string): void {
    if (this.paired || this.#looking || this.#final) return;
    const ac = new AbortController();
    this.#looking = ac;
    void pairControlPlaneDevice({
      port: this.opts.port,
      token: this.opts.token,
      deviceId,
      windowMs: this.opts.windowMs,
      intervalMs: this.opts.intervalMs,
      signal: ac.signal,
      onApproving: () => {
        if (this.#looking === ac) this.approving = true;
      },
    }).then((outcome) => {
      if (this.#looking !== ac) return;
      this.#looking = undefined;
      this.approving = false;
      if (outcome.paired) {
        this.paired = true;
        this.error = undefined;
        this.opts.log.info('control plane device paired', { deviceId: outcome.deviceId });
      } else {
        this.error = outcome.reason;
        this.#final = outcome.final;
        if (outcome.final) this.opts.log.warn('pairing unavailable', { reason: outcome.reason });
      }
    });
  }

  /** Stops the look in flight, if any; what it found so far stays. */
  cancel(): void {
    this.#looking?.abort();
    this.#looking = undefined;
    this.approving = false;
  }
}
