#!/usr/bin/env node
// `npm test`: every unit and integration test (node's test runner, via tsx), then the end-to-end
// suite (Playwright in Debian's Chromium) when it exists, then ONE closing line with the real
// totals of everything that ran: `N passed, N failed`. Arguments filter test files by substring.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const filters = process.argv.slice(2);
const skipDirs = new Set(['node_modules', '.next', 'dist', '.data', '.test-data', '.git', 'test-results']);

function findTests(dir, out = []) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (skipDirs.has(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) findTests(full, out);
    else if (/\.(unit|int)\.test\.ts$/.test(entry.name)) out.push(path.relative(root, full));
  }
  return out;
}

function run(cmd, args, env = {}) {
  return new Promise((resolve) => {
    let output = '';
    const child = spawn(cmd, args, {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tee = (stream, sink) =>
      stream.on('data', (chunk) => {
        output += chunk;
        sink.write(chunk);
      });
    tee(child.stdout, process.stdout);
    tee(child.stderr, process.stderr);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

const count = (output, label) => {
  const m = [...output.matchAll(new RegExp(`^\\S* ?${label} (\\d+)$`, 'gm'))].at(-1);
  return m ? Number(m[1]) : 0;
};

let passed = 0;
let failed = 0;
let exitCode = 0;

const files = findTests(root)
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort((a, b) => Number(a.includes('.int.')) - Number(b.includes('.int.')) || a.localeCompare(b));
// Suites that start dozens of gateway processes, or the real OpenClaw gateway (seconds of CPU to
// boot), say `// test: serial` on their first line: they run one at a time after the rest, so two
// of them never starve each other on a small machine.
const isSerial = (f) => /^\/\/ test: serial\b/.test(fs.readFileSync(path.join(root, f), 'utf8'));
const serial = files.filter(isSerial);
const phases = [
  { files: files.filter((f) => !serial.includes(f)), concurrency: process.env.TEST_CONCURRENCY ?? '2' },
  { files: serial, concurrency: '1' },
];
for (const phase of phases) {
  if (phase.files.length === 0) continue;
  const r = await run(process.execPath, [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${phase.concurrency}`,
    '--test-reporter=spec',
    ...phase.files,
  ]);
  const p = count(r.output, 'pass');
  const f = count(r.output, 'fail') + count(r.output, 'cancelled');
  passed += p;
  failed += f;
  if (r.code !== 0) {
    exitCode = 1;
    if (f === 0) failed += 1; // the runner itself failed (a crash outside any test)
  }
}

const e2eDir = path.join(root, 'tests/e2e');
const runE2e =
  process.env.SKIP_E2E !== '1' &&
  fs.existsSync(e2eDir) &&
  (filters.length === 0 || filters.some((x) => 'tests/e2e'.includes(x) || x.includes('e2e')));
const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (runE2e && !fs.existsSync(chromium)) {
  console.error(
    `\nThe end-to-end suite needs Chromium at ${chromium}: apt-get install chromium (bash .ci/run does),`,
  );
  console.error('or set CHROMIUM_PATH, or SKIP_E2E=1 to leave the browser suite out of this run.');
  failed += 1;
  exitCode = 1;
} else if (runE2e) {
  const report = path.join(root, 'test-results/e2e-report.json');
  fs.rmSync(report, { force: true });
  const r = await run(process.execPath, ['node_modules/@playwright/test/cli.js', 'test'], {
    PLAYWRIGHT_JSON_OUTPUT_NAME: report,
  });
  if (fs.existsSync(report)) {
    const stats = JSON.parse(fs.readFileSync(report, 'utf8')).stats ?? {};
    passed += (stats.expected ?? 0) + (stats.flaky ?? 0);
    failed += stats.unexpected ?? 0;
    if ((stats.skipped ?? 0) > 0) console.log(`e2e: ${stats.skipped} skipped`);
  }
  if (r.code !== 0) {
    exitCode = 1;
    if (!fs.existsSync(report)) failed += 1;
  }
}

console.log(`\n${passed} passed, ${failed} failed`);
process.exit(exitCode || (failed > 0 ? 1 : 0));
