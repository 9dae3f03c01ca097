import fs from 'node:fs';
import { mergeGatewayConfig, type GatewayLaunchSpec } from './launch-spec';

/** The file side of a launch spec: the claw's directories, the gateway's config and its log. */

const MAX_LOG_BYTES = 5 * 1024 * 1024;

/** Creates the claw's HOME and state directory (0700) and merges the spec's config into openclaw.json. */
export function prepareGatewayDirs(spec: GatewayLaunchSpec): void {
  fs.mkdirSync(spec.dirs.home, { recursive: true, mode: 0o700 });
  fs.mkdirSync(spec.dirs.state, { recursive: true, mode: 0o700 });
  if (spec.config) writeGatewayConfig(spec.config);
}

/** Opens the gateway's log for appending (0600), after moving a log grown too large to `<log>.1`. */
export function openGatewayLog(spec: GatewayLaunchSpec): number {
  rotateLog(spec.logFile);
  return fs.openSync(spec.logFile, 'a', 0o600);
}

/** Merges into `<stateDir>/openclaw.json`, keeping whatever else is there. */
function writeGatewayConfig(patch: NonNullable<GatewayLaunchSpec['config']>): void {
  let existing: unknown;
  try {
    existing = JSON.parse(fs.readFileSync(patch.file, 'utf8')) as unknown;
  } catch {
    /* none yet */
  }
  const tmp = `${patch.file}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(mergeGatewayConfig(existing, patch), null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, patch.file);
}

function rotateLog(file: string): void {
  try {
    if (fs.statSync(file).size > MAX_LOG_BYTES) fs.renameSync(file, `${file}.1`);
  } catch {
    /* no log yet */
  }
}
