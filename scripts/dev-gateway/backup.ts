import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { HISTORY_FILE, parseHistoryFile } from './chat-store';
import { readTar, TarError, writeTar, type TarEntry } from './tar';

/**
 * `dev-gateway backup create|verify|restore`, shaped like `openclaw backup` (docs/cli/backup.md) so
 * the Mini agent drives both with one contract (scripts/mini-agent/gateway-backup.ts):
 *
 *   <archiveRoot>/manifest.json                      schema version 1: paths, assets
 *   <archiveRoot>/payload/posix/<absolute path>/…    the state directory, workspace and config
 *
 * The dev gateway's state is JSON files it replaces atomically (temp file + rename), so reading
 * them while it runs sees whole versions; `.tmp` files (a write in flight) are left out, as the real
 * gateway leaves out its volatile entries. Verify checks the archive's structure and that the
 * gateway's own state files parse, as the real one checks its SQLite snapshots.
 */

export class BackupCommandError extends Error {
  override name = 'BackupCommandError';
}

interface Asset {
  kind: 'state' | 'workspace' | 'config';
  sourcePath: string;
  archivePath: string;
}

interface Manifest {
  schemaVersion: 1;
  createdAt: string;
  archiveRoot: string;
  runtimeVersion: string;
  platform: string;
  nodeVersion: string;
  options: { includeWorkspace: boolean; onlyConfig: boolean };
  paths: { stateDir: string; configPath?: string; workspaceDirs: string[] };
  assets: Asset[];
  skipped: { kind: string; sourcePath: string; reason: string }[];
}

/** Reads OPENCLAW_STATE_DIR and OPENCLAW_CONFIG_PATH, as the gateway itself does. */
export type BackupEnv = Readonly<Record<string, string | undefined>>;

const isVolatile = (name: string) =>
  /\.tmp(\..*)?$/.test(name) || name.endsWith('.pid') || name.endsWith('.sock');

/** Where the config file says the workspace is (`agents.defaults.workspace`), if anywhere. */
function workspaceOf(configPath: string | undefined): string | undefined {
  if (!configPath || !fs.existsSync(configPath)) return undefined;
  try {
    const config = JSON.parse(fs.readFileSync(configPath, 'utf8')) as {
      agents?: { defaults?: { workspace?: unknown } };
    };
    const ws = config.agents?.defaults?.workspace;
    return typeof ws === 'string' && ws ? ws : undefined;
  } catch {
    return undefined;
  }
}

const payloadPath = (root: string, source: string) => `${root}/payload/posix/${source.replace(/^\/+/, '')}`;

const inside = (child: string, parent: string) => {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

/** A directory's entries under `archivePath`, files and directories only; links are not followed. */
function collect(source: string, archivePath: string, out: TarEntry[], skipped: Manifest['skipped']): void {
  const st = fs.lstatSync(source);
  if (st.isDirectory()) {
    out.push({ name: archivePath, type: 'dir', mode: st.mode, mtimeMs: st.mtimeMs });
    for (const name of fs.readdirSync(source).sort()) {
      const child = path.join(source, name);
      if (isVolatile(name)) {
        skipped.push({ kind: 'entry', sourcePath: child, reason: 'volatile' });
        continue;
      }
      collect(child, `${archivePath}/${name}`, out, skipped);
    }
  } else if (st.isFile()) {
    let data: Buffer;
    try {
      data = fs.readFileSync(source);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      skipped.push({ kind: 'entry', sourcePath: source, reason: 'vanished' });
      return;
    }
    out.push({ name: archivePath, type: 'file', mode: st.mode, mtimeMs: st.mtimeMs, data });
  } else skipped.push({ kind: 'entry', sourcePath: source, reason: 'unsupported' });
}

export function backupCreate(env: BackupEnv, outputDir: string, verify: boolean) {
  const stateDir = env.OPENCLAW_STATE_DIR ? path.resolve(env.OPENCLAW_STATE_DIR) : undefined;
  if (!stateDir || !fs.existsSync(stateDir))
    throw new BackupCommandError('No state directory to back up (OPENCLAW_STATE_DIR)');
  const configPath = env.OPENCLAW_CONFIG_PATH ? path.resolve(env.OPENCLAW_CONFIG_PATH) : undefined;
  const workspace = workspaceOf(configPath);
  const output = path.resolve(outputDir);
  for (const root of [stateDir, ...(workspace ? [workspace] : [])])
    if (inside(output, root))
      throw new BackupCommandError(`The output ${output} is inside a backed-up directory (${root})`);

  const createdAt = new Date().toISOString();
  const archiveRoot = `${createdAt.replace(/:/g, '-').replace(/Z$/, '+00-00')}-openclaw-backup`;
  const assets: Asset[] = [];
  const entries: TarEntry[] = [];
  const skipped: Manifest['skipped'] = [];
  const add = (kind: Asset['kind'], source: string) => {
    const archivePath = payloadPath(archiveRoot, source);
    assets.push({ kind, sourcePath: source, archivePath });
    collect(source, archivePath, entries, skipped);
  };
  add('state', stateDir);
  if (workspace && fs.existsSync(workspace)) add('workspace', path.resolve(workspace));
  if (configPath && fs.existsSync(configPath) && !inside(configPath, stateDir)) add('config', configPath);

  const manifest: Manifest = {
    schemaVersion: 1,
    createdAt,
    archiveRoot,
    runtimeVersion: 'dev',
    platform: process.platform,
    nodeVersion: process.version,
    options: { includeWorkspace: true, onlyConfig: false },
    paths: {
      stateDir,
      ...(configPath ? { configPath } : {}),
      workspaceDirs: workspace ? [workspace] : [],
    },
    assets,
    skipped,
  };
  entries.unshift({
    name: `${archiveRoot}/manifest.json`,
    type: 'file',
    mode: 0o600,
    mtimeMs: Date.now(),
    data: Buffer.from(JSON.stringify(manifest, null, 2) + '\n'),
  });
  fs.mkdirSync(output, { recursive: true, mode: 0o700 });
  const archivePath = path.join(output, `${archiveRoot}.tar.gz`);
  // Never overwrites, and never shows a half-written archive under its final name.
  const tmp = `${archivePath}.${process.pid}.partial`;
  fs.writeFileSync(tmp, gzipSync(writeTar(entries)), { flag: 'wx', mode: 0o600 });
  try {
    fs.linkSync(tmp, archivePath);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  if (verify) backupVerify(archivePath);
  return {
    createdAt,
    archiveRoot,
    archivePath,
    dryRun: false,
    includeWorkspace: true,
    onlyConfig: false,
    verified: verify,
    assets: assets.map((a) => ({ ...a, displayPath: a.sourcePath })),
    skipped,
  };
}

/** The archive's entries and manifest, or why it is no backup of ours. */
function readArchive(archive: string): { entries: TarEntry[]; manifest: Manifest } {
  let entries: TarEntry[];
  try {
    entries = readTar(gunzipSync(fs.readFileSync(archive)));
  } catch (err) {
    const why = err instanceof TarError ? err.message : (err as Error).message;
    throw new BackupCommandError(
      `Backup archive verification failed: ${archive}. Archive could not be read or parsed. ${why}`,
    );
  }
  const manifests = entries.filter((e) => e.type === 'file' && /^[^/]+\/manifest\.json$/.test(e.name));
  if (manifests.length !== 1)
    throw new BackupCommandError(
      `Backup archive verification failed: ${archive}. Expected exactly one root manifest.json`,
    );
  const root = manifests[0]!.name.split('/')[0]!;
  let manifest: Manifest;
  try {
    manifest = JSON.parse(manifests[0]!.data!.toString('utf8')) as Manifest;
  } catch {
    throw new BackupCommandError(`Backup archive verification failed: ${archive}. manifest.json is not JSON`);
  }
  if (manifest.schemaVersion !== 1 || manifest.archiveRoot !== root || !Array.isArray(manifest.assets))
    throw new BackupCommandError(`Backup archive verification failed: ${archive}. Unsupported manifest`);
  for (const e of entries)
    if (e.name !== root && !e.name.startsWith(`${root}/`))
      throw new BackupCommandError(
        `Backup archive verification failed: ${archive}. Entry outside the archive root: ${e.name}`,
      );
  const names = new Set(entries.map((e) => e.name));
  for (const asset of manifest.assets)
    if (typeof asset.archivePath !== 'string' || !names.has(asset.archivePath))
      throw new BackupCommandError(
        `Backup archive verification failed: ${archive}. Missing payload for ${asset.kind}`,
      );
  // The gateway's own state must be readable, as the real one checks its databases.
  for (const e of entries)
    if (e.type === 'file' && path.posix.basename(e.name) === HISTORY_FILE)
      try {
        parseHistoryFile(e.data!.toString('utf8'));
      } catch {
        throw new BackupCommandError(
          `Backup archive verification failed: ${archive}. ${e.name} is not a chat history`,
        );
      }
  return { entries, manifest };
}

export function backupVerify(archive: string) {
  const { entries, manifest } = readArchive(archive);
  return {
    ok: true,
    archivePath: path.resolve(archive),
    archiveRoot: manifest.archiveRoot,
    createdAt: manifest.createdAt,
    runtimeVersion: manifest.runtimeVersion,
    assetCount: manifest.assets.length,
    entryCount: entries.length,
    symlinkCount: 0,
  };
}

/** Verifies, then extracts into `target` (absent or empty); removes what it wrote if anything fails. */
export function backupRestore(archive: string, targetDir: string) {
  const verified = backupVerify(archive);
  const { entries } = readArchive(archive);
  const target = path.resolve(targetDir);
  const existed = fs.existsSync(target);
  if (existed && fs.readdirSync(target).length > 0)
    throw new BackupCommandError(`The restore target ${target} is not empty`);
  fs.mkdirSync(target, { recursive: true, mode: 0o700 });
  try {
    for (const e of entries) {
      const dest = path.join(target, ...e.name.split('/'));
      if (e.type === 'dir') fs.mkdirSync(dest, { recursive: true, mode: 0o700 });
      else {
        fs.mkdirSync(path.dirname(dest), { recursive: true, mode: 0o700 });
        fs.writeFileSync(dest, e.data ?? Buffer.alloc(0), { flag: 'wx', mode: 0o600 });
        fs.chmodSync(dest, e.mode & 0o777);
      }
    }
    // Directories' own modes last, deepest first: a read-only one must not stop its children.
    for (const e of [...entries].reverse())
      if (e.type === 'dir') fs.chmodSync(path.join(target, ...e.name.split('/')), e.mode & 0o777);
  } catch (err) {
    if (existed)
      for (const name of fs.readdirSync(target))
        fs.rmSync(path.join(target, name), { recursive: true, force: true });
    else fs.rmSync(target, { recursive: true, force: true });
    throw err;
  }
  return { ...verified, targetPath: target, warnings: ['Restoring an archive is time travel.'] };
}

/** The default output directory, as OpenClaw's: the working directory. */
export const defaultOutputDir = () => process.cwd() || os.homedir();
