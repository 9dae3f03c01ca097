import { TooManyRequestsError } from './errors';

/**
 * At most `concurrency` tasks at once, the rest waiting in order, at most `maxQueue` of them. Used
 * around password hashing: scrypt runs on libuv's small thread pool, so without a bound a flood of
 * logins takes every thread (file system and DNS work queue behind it) and every login's latency
 * grows with the flood; with it, a flood waits in line and a full line is refused at once.
 */
export class Semaphore {
  #running = 0;
  readonly #queue: (() => void)[] = [];

  constructor(
    readonly concurrency: number,
    readonly maxQueue: number,
  ) {}

  get running() {
    return this.#running;
  }
  get waiting() {
    return this.#queue.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.concurrency) {
      if (this.#queue.length >= this.maxQueue)
        throw new TooManyRequestsError('The server is busy checking passwords', 1);
      await new Promise<void>((resolve) => this.#queue.push(resolve));
    } else this.#running++;
    try {
      return await task();
    } finally {
      const next = this.#queue.shift();
      // The slot passes straight to the next in line, so `running` never dips and lets a newcomer jump it.
      if (next) next();
      else this.#running--;
    }
  }
}
