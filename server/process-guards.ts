import type { Logger } from './log';

/**
 * Node ends the process on a promise rejection nobody handled. In a long-running Claws process that
 * is almost always a background loop meeting a database that is briefly away (a restart, a
 * failover), and ending the process would drop every chat socket and live feed for it, while the
 * loop would have succeeded on its next round. So a stray rejection is logged as the bug it is and
 * the process goes on. Uncaught exceptions still end it: after a throw nobody caught, state may be
 * half-changed.
 */
export function keepRunningOnUnhandledRejections(log: Logger): void {
  process.on('unhandledRejection', (reason) => {
    log.error('unhandled promise rejection (kept running)', {
      error: reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason),
      stack: reason instanceof Error ? reason.stack?.split('\n').slice(1, 6).join(' | ') : undefined,
    });
  });
}
