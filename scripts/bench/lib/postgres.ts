import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const script = path.resolve(import.meta.dirname, '../../../.ci/postgres.sh');

/**
 * The PostgreSQL a benchmark runs on: BENCH_DATABASE_URL / TEST_DATABASE_URL / DATABASE_URL when
 * set, else a throwaway PostgreSQL 15 cluster on 127.0.0.1 started for this run (and stopped after).
 */
export function benchPostgres(): { url: string; stop(): void } {
  const given = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
  if (given) return { url: given, stop() {} };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'claws-bench-pg-'));
  fs.chmodSync(dir, 0o755);
  const out = execFileSync('bash', ['-c', `source "${script}" && pg_start "$1/pg" | tail -n 1`, '_', dir], {
    encoding: 'utf8',
  });
  const url = out.trim().split('\n').at(-1)!;
  return {
    url,
    stop() {
      execFileSync('bash', ['-c', `source "${script}" && pg_stop "$1/pg"`, '_', dir]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
