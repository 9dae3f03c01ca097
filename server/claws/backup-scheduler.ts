import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { clawsDueForBackup } from '../../projections/claws';
import { asFailure } from '../failure';
import type { Logger } from '../log';
import { takeBackup, type BackupDeps } from './backups';

export interface BackupSchedulerOptions {
  /** Each running claw is backed up this often. */
  intervalMs: number;
  /** How often the scheduler looks for claws that are due. */
  checkMs: number;
  /** Backups at once (each one is an archive and an upload on some Mini). */
  concurrency: number;
}

const meta = () => ({ actor: 'system:backups' as const, correlationId: randomUUID() });

/**
 * Backs up every running claw once per interval, the most overdue first, a few at a time. A backup
 * that fails is recorded (ClawBackupFailed) and tried again next round; the claw page shows a claw
 * whose newest backup is older than twice the interval. Two servers running it at once may both
 * back up a claw that is due: that costs a duplicate backup, which retention prunes, never a lost one.
 */
export class BackupScheduler {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(
    private readonly deps: BackupDeps,
    private readonly log: Logger,
    private readonly options: BackupSchedulerOptions,
  ) {}

  start(): void {
    this.#timer ??= setInterval(() => void this.runOnce(), this.options.checkMs);
    this.#timer.unref();
  }

  /** One round; resolves once every backup it started has ended. */
  runOnce(): Promise<void> {
    this.#running ??= this.#round()
      .catch((err) => this.log.error('backup round failed', { error: asFailure(err).message }))
      .finally(() => (this.#running = undefined));
    return this.#running;
  }

  /**
   * Stops scheduling. A backup under way (minutes, for a large one) is not waited for beyond
   * `graceMs`: it ends on its own, and one cut by the process exiting is simply not recorded.
   */
  async stop(graceMs = 5000): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#running) await Promise.race([this.#running, sleep(graceMs, undefined, { ref: false })]);
  }

  async #round(): Promise<void> {
    const due = await clawsDueForBackup(
      this.deps.store.db,
      new Date(Date.now() - this.options.intervalMs),
      this.options.concurrency * 8,
    );
    let next = 0;
    const lane = async () => {
      for (let claw = due[next++]; claw; claw = due[next++]) {
        try {
          const b = await takeBackup(this.deps, meta(), claw.id, 'scheduled');
          this.log.info('backup taken', { clawId: claw.id, backupId: b.backupId, bytes: b.bytes });
        } catch (err) {
          this.log.warn('backup failed', { clawId: claw.id, error: asFailure(err).message });
        }
      }
    };
    await Promise.all(Array.from({ length: this.options.concurrency }, lane));
  }
}
