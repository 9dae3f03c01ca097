import fs from 'node:fs';
import path from 'node:path';
import { BackupManifest } from './gateway-backup';
import type { GatewayDirs } from './launch-spec';

/**
 * Where a restored archive's state lies, and how it becomes the claw's. `backup restore --target T`
 * (OpenClaw's and the dev gateway's alike) extracts `T/<archiveRoot>/manifest.json` and
 * `T/<archiveRoot>/payload/posix/<original absolute path>/…`: the manifest's assets say which
 * payload directory was the state directory and which the workspace. They are placed by kind, not
 * by their original path, so a backup taken on another Mini (another claws directory) restores
 * here too.
 *
 * What the agent itself owns is not in either directory: openclaw.json (rendered afresh before
 * every start, with this claw's current token and model) and gateway.log sit in the claw's root.
 * The archive's copy of the config (asset kind `config`) is therefore ignored, never activated.
 */

export class RestoreLayoutError extends Error {
  override name = 'RestoreLayoutError';
}

export interface RestoredLayout {
  state: string;
  workspace?: string;
}

/** Kinds the agent places; `config` is the agent's own and deliberately left out. */
const IGNORED_KINDS = new Set(['config']);

/**
 * The restored state (and workspace) under `target`. Refuses a layout the agent cannot place
 * safely: no state, an asset of a kind it does not know (an agent directory outside the state,
 * say), or a payload path that leaves the target or goes through a symbolic link.
 */
export function restoredLayout(target: string, archiveRoot: string): RestoredLayout {
  if (!isOneSegment(archiveRoot)) throw new RestoreLayoutError(`Unexpected archive root "${archiveRoot}"`);
  const realTarget = fs.realpathSync(target);
  const manifestFile = path.join(realTarget, archiveRoot, 'manifest.json');
  const st = fs.lstatSync(manifestFile, { throwIfNoEntry: false });
  if (!st?.isFile()) throw new RestoreLayoutError('The restored archive has no manifest.json');
  let manifest: BackupManifest;
  try {
    manifest = BackupManifest.parse(JSON.parse(fs.readFileSync(manifestFile, 'utf8')));
  } catch {
    throw new RestoreLayoutError('The restored manifest.json is not a schema-version-1 backup manifest');
  }
  if (manifest.archiveRoot !== archiveRoot)
    throw new RestoreLayoutError('The restored manifest names another archive root');

  const layout: Partial<RestoredLayout> = {};
  for (const asset of manifest.assets) {
    if (IGNORED_KINDS.has(asset.kind)) continue;
    if (asset.kind !== 'state' && asset.kind !== 'workspace')
      throw new RestoreLayoutError(`The backup holds a ${asset.kind} asset, which this agent cannot place`);
    if (layout[asset.kind])
      throw new RestoreLayoutError(`The backup holds more than one ${asset.kind} asset`);
    layout[asset.kind] = payloadDir(realTarget, archiveRoot, asset.archivePath);
  }
  if (!layout.state) throw new RestoreLayoutError('The backup holds no state directory');
  return { state: layout.state, ...(layout.workspace ? { workspace: layout.workspace } : {}) };
}

function isOneSegment(name: string): boolean {
  return name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\\') && !name.includes('\0');
}

/** `archivePath` under the target, a real directory reached through no link. */
function payloadDir(realTarget: string, archiveRoot: string, archivePath: string): string {
  const normalized = path.posix.normalize(archivePath);
  if (normalized !== archivePath || !normalized.startsWith(`${archiveRoot}/payload/`))
    throw new RestoreLayoutError(`Unexpected payload path in the manifest: ${archivePath}`);
  const dir = path.join(realTarget, normalized);
  let real: string;
  try {
    real = fs.realpathSync(dir);
  } catch {
    throw new RestoreLayoutError(`The restored archive lacks ${normalized}`);
  }
  if (real !== dir || !fs.lstatSync(dir).isDirectory())
    throw new RestoreLayoutError(`The restored ${normalized} is not a plain directory`);
  return dir;
}

/**
 * Makes the restored directories the claw's: each live one is moved aside into `scratch` and the
 * restored one renamed into its place (same filesystem: both are under the claw's directory), so
 * the swap of each is one rename and a failure puts back what was moved. The gateway must be
 * stopped. Owner and mode end as the claw's directories always are (the claw's user, 0700).
 */
export function activateRestored(
  dirs: GatewayDirs,
  layout: RestoredLayout,
  scratch: string,
  owner: { uid: number; gid: number } | undefined,
): void {
  const moves: [restored: string, live: string][] = [[layout.state, dirs.state]];
  if (layout.workspace) moves.push([layout.workspace, dirs.workspace]);
  const done: { restored: string; live: string; aside: string | undefined }[] = [];
  try {
    for (const [restored, live] of moves) {
      const aside = path.join(scratch, `previous-${path.basename(live)}`);
      const hadLive = fs.existsSync(live);
      if (hadLive) fs.renameSync(live, aside);
      try {
        fs.renameSync(restored, live);
      } catch (err) {
        if (hadLive) fs.renameSync(aside, live);
        throw err;
      }
      done.push({ restored, live, aside: hadLive ? aside : undefined });
      if (owner) fs.lchownSync(live, owner.uid, owner.gid);
      fs.chmodSync(live, 0o700);
    }
  } catch (err) {
    for (const d of done.reverse()) {
      fs.renameSync(d.live, d.restored);
      if (d.aside) fs.renameSync(d.aside, d.live);
    }
    throw err;
  }
}
