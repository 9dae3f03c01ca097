import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseKeyRing, type KeyRing } from './keyring';

/**
 * Local runs only: a key generated into the data directory on first use (0600 in a 0700 directory)
 * and reused after. Production passes CLAWS_SECRET_KEYS instead; nothing falls back to a fixed key.
 */
export function loadOrCreateLocalKeyRing(dataDir: string): KeyRing {
  const dir = path.join(dataDir, 'keys');
  const file = path.join(dir, 'secret-keyring');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    fs.writeFileSync(file, `local1:${randomBytes(32).toString('base64')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return parseKeyRing(fs.readFileSync(file, 'utf8').trim());
}
