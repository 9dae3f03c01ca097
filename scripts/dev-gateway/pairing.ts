import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Device pairing: pending requests from remote devices, and approved devices (kept on disk). */
export interface PairedDevice {
  deviceId: string;
  publicKey: string;
  scopes: string[];
  clientId: string;
  platform: string;
  deviceToken: string;
  approvedAtMs: number;
}

export interface PendingRequest {
  requestId: string;
  deviceId: string;
  publicKey: string;
  requestedRole: string;
  requestedScopes: string[];
  clientId: string;
  platform: string;
  createdAtMs: number;
}

export class PairingStore {
  #pending = new Map<string, PendingRequest>();
  #paired = new Map<string, PairedDevice>();
  readonly #file: string | undefined;

  constructor(stateDir: string | undefined) {
    this.#file = stateDir ? path.join(stateDir, 'dev-gateway-devices.json') : undefined;
    if (this.#file && fs.existsSync(this.#file)) {
      const saved = JSON.parse(fs.readFileSync(this.#file, 'utf8')) as PairedDevice[];
      for (const d of saved) this.#paired.set(d.deviceId, d);
    }
  }

  paired(deviceId: string): PairedDevice | undefined {
    return this.#paired.get(deviceId);
  }

  /** A request for this device (one per device and scope set, as the gateway keeps). */
  request(r: Omit<PendingRequest, 'requestId' | 'createdAtMs'>): PendingRequest {
    const existing = [...this.#pending.values()].find(
      (p) => p.deviceId === r.deviceId && p.requestedScopes.join(',') === r.requestedScopes.join(','),
    );
    if (existing) return existing;
    const request = { ...r, requestId: randomUUID(), createdAtMs: Date.now() };
    this.#pending.set(request.requestId, request);
    return request;
  }

  approve(requestId: string): PairedDevice | undefined {
    const r = this.#pending.get(requestId);
    if (!r) return undefined;
    this.#pending.delete(requestId);
    const device: PairedDevice = {
      deviceId: r.deviceId,
      publicKey: r.publicKey,
      scopes: r.requestedScopes,
      clientId: r.clientId,
      platform: r.platform,
      deviceToken: randomBytes(24).toString('base64url'),
      approvedAtMs: Date.now(),
    };
    this.#paired.set(device.deviceId, device);
    this.#save();
    return device;
  }

  /** A device approved locally without asking (the gateway's silent local auto-pairing). */
  autoPair(r: Omit<PendingRequest, 'requestId' | 'createdAtMs'>): PairedDevice {
    const request = this.request(r);
    return this.approve(request.requestId)!;
  }

  list() {
    return {
      pending: [...this.#pending.values()],
      paired: [...this.#paired.values()].map(({ deviceToken: _secret, ...d }) => d),
    };
  }

  #save() {
    if (!this.#file) return;
    fs.mkdirSync(path.dirname(this.#file), { recursive: true });
    const tmp = `${this.#file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify([...this.#paired.values()]), { mode: 0o600 });
    fs.renameSync(tmp, this.#file);
  }
}
