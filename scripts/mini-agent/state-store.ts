import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ControlPlaneDevice, GatewayModel, GatewaySecrets } from '../../server/fleet/agent-api';
import { isAlive, processArgv } from './processes';

/**
 * The agent's durable state: `<stateDir>/claws.json`, the claws it runs and the gateway token each
 * needs to restart its gateway. Written atomically (temp file with 0600, fsync, rename, fsync the
 * directory), so a crash leaves either the old or the new file, never a torn one and never a
 * world-readable token.
 */

export const ClawRecord = z.object({
  clawId: z.string(),
  port: z.number().int(),
  pid: z.number().int().positive().optional(),
  gatewayToken: z.string(),
  controlPlaneDevice: ControlPlaneDevice.optional(),
  /** What the edge serves this claw as (StartClawRequest.hostname). */
  hostname: z.string().optional(),
  /** The claw's model (StartClawRequest.model), rendered into its openclaw.json at every start. */
  model: GatewayModel.optional(),
  /** The claw's named secrets (StartClawRequest.secrets), rendered into `env.vars` at every start. */
  secrets: GatewaySecrets.optional(),
  /** Stopped on request (POST /claws/:id/stop): kept, not started, until a POST /claws. */
  stopped: z.boolean().optional(),
});
export type ClawRecord = z.infer<typeof ClawRecord>;

/** Every secret value of a claw: what its logs and error texts must never show. */
export const secretsOf = (r: Pick<ClawRecord, 'gatewayToken' | 'model' | 'secrets'>): string[] => [
  r.gatewayToken,
  ...(r.model ? [r.model.apiKey] : []),
  ...Object.values(r.secrets ?? {}),
];

const StateFile = z.object({ version: z.literal(1), claws: z.array(ClawRecord) });

export class StateStore {
  readonly file: string;

  constructor(readonly dir: string) {
    this.file = path.join(dir, 'claws.json');
  }

  /** The recorded claws; none when the file does not exist. A file we cannot read stops the agent. */
  load(): ClawRecord[] {
    let raw: string;
    try {
      raw = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    let parsed;
    try {
      parsed = StateFile.safeParse(JSON.parse(raw));
    } catch {
      parsed = null;
    }
    if (!parsed?.success)
      throw new Error(
        `${this.file} is not a valid state file; the gateways it lists would be orphaned. Fix or move it away, then start again`,
      );
    return parsed.data.claws;
  }

  save(claws: ClawRecord[]): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const fd = fs.openSync(tmp, 'wx', 0o600);
    try {
      fs.writeSync(
        fd,
        JSON.stringify({ version: 1, claws } satisfies z.infer<typeof StateFile>, null, 2) + '\n',
      );
      fs.fchmodSync(fd, 0o600);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    try {
      fs.renameSync(tmp, this.file);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    try {
      const dirFd = fs.openSync(this.dir, 'r');
      try {
        fs.fsyncSync(dirFd);
      } finally {
        fs.closeSync(dirFd);
      }
    } catch {
      /* directories cannot be fsynced everywhere; the rename is still atomic */
    }
  }

  /**
   * Makes this agent the only one using the state directory: two agents would both adopt and
   * restart the same gateways. A lock left by a dead agent is taken over.
   */
  async lock(): Promise<() => void> {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // The gateway tokens are in here: the agent's alone (root's, on a Mini), whatever made the directory.
    fs.chmodSync(this.dir, 0o700);
    const lockFile = path.join(this.dir, 'agent.pid');
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        fs.writeFileSync(lockFile, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
        return () => {
          try {
            if (fs.readFileSync(lockFile, 'utf8').trim() === String(process.pid)) fs.rmSync(lockFile);
          } catch {
            /* gone already */
          }
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = Number(fs.readFileSync(lockFile, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        const argv = await processArgv(holder);
        if (argv === null || argv.some((a) => a.includes('mini-agent')))
          throw new Error(`Another Mini agent (pid ${holder}) already uses ${this.dir}`);
      }
      fs.rmSync(lockFile, { force: true });
    }
    throw new Error(`Could not lock ${this.dir}`);
  }
}
