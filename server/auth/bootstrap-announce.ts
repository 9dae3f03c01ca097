import type { Logger } from '../log';
import type { Runtime } from '../runtime';
import { ensureBootstrapCode } from './bootstrap';

/**
 * At server start, when CLAWS_ADMIN_EMAILS names nobody and there is no platform admin: prints the
 * one-time bootstrap code (once, by the instance that created it). Redeemed at /bootstrap.
 */
export async function announceBootstrap(runtime: Runtime, log: Logger, print = console.log): Promise<void> {
  if (runtime.config.CLAWS_ADMIN_EMAILS.length > 0) return;
  const code = await ensureBootstrapCode(runtime.database.db);
  if (!code) return;
  print(
    [
      '',
      '  No platform admin yet. To become one, sign up, open /bootstrap and enter this one-time code:',
      '',
      `      ${code}`,
      '',
      '  It is shown only now. `npm run claws -- admin bootstrap-code` prints a new one;',
      '  CLAWS_ADMIN_EMAILS=you@example.com makes that address an admin at sign-up instead.',
      '',
    ].join('\n'),
  );
  log.info('platform bootstrap code created (printed above)');
}
