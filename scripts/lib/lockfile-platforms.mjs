#!/usr/bin/env node
// The npm registry reachable here does not serve Next's macOS and Windows SWC binaries, so
// `npm install` leaves them out of package-lock.json, and `npm ci` then refuses the lockfile as out
// of sync. These optional, platform-only entries are never installed on Linux; recording them keeps
// `npm ci` working here and lets other platforms resolve them from their own registry.
import fs from 'node:fs';

const file = new URL('../../package-lock.json', import.meta.url);
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const next = lock.packages['node_modules/next'];
const platforms = {
  'swc-darwin-arm64': ['darwin', 'arm64'],
  'swc-darwin-x64': ['darwin', 'x64'],
  'swc-win32-arm64-msvc': ['win32', 'arm64'],
  'swc-win32-x64-msvc': ['win32', 'x64'],
};
let added = 0;
for (const [name, [os, cpu]] of Object.entries(platforms)) {
  const key = `node_modules/@next/${name}`;
  if (lock.packages[key]) continue;
  lock.packages[key] = {
    version: next.version,
    cpu: [cpu],
    license: 'MIT',
    optional: true,
    os: [os],
    engines: { node: '>= 10' },
  };
  added++;
}
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
);
fs.writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
console.log(`lockfile: added ${added} platform entries`);
