import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { benchPostgres } from './lib/postgres';
import { printTable, summarize, writeResults } from './lib/report';

/**
 * `npm run bench:auth` (PostgreSQL, loopback only): a member uses the dashboard (the batched
 * queries of an org page, one after another) while 200 anonymous logins hit the same server, 20 at
 * a time. Scenarios:
 *   baseline           no flood
 *   one address        the flood from one address: the address throttle refuses it before hashing
 *   200 addresses      a forged X-Forwarded-For the server is told to trust, a new address and
 *                      account per login, so every login hashes: the bounded hashing queue
 *                      (PASSWORD_HASH_CONCURRENCY=2) against an effectively unbounded one (64)
 * Reports the member's p50/p95/p99 per scenario. Bounded: 200 logins, and the member's loop ends
 * with the flood (at least 30 requests).
 */
const root = path.resolve(import.meta.dirname, '../..');
const LOGINS = Number(process.env.BENCH_AUTH_LOGINS ?? 200);
const IN_FLIGHT = 20;
const MIN_MEMBER_REQUESTS = 30;

const pgServer = benchPostgres();

async function freshDatabase(): Promise<string> {
  const name = `claws_bench_auth_${randomUUID().slice(0, 8)}`;
  const admin = new pg.Client({ connectionString: pgServer.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(pgServer.url);
  url.pathname = `/${name}`;
  return url.toString();
}

async function startServer(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/bench/auth-load/server.ts'], {
    cwd: root,
    env: {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'error',
      DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'claws-bench-auth-')),
      CLAWS_SECRET_KEYS: `b1:${Buffer.alloc(32, 7).toString('base64')}`,
      CLAWS_ADMIN_EMAILS: 'nobody@example.com', // no bootstrap code to print
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`bench server exited (${code})`)));
  });
  return {
    base: `http://127.0.0.1:${port}/api/trpc`,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

const json = { 'content-type': 'application/json', 'x-claws-csrf': '1' };

async function mutate(base: string, p: string, input: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}/${p}`, {
    method: 'POST',
    headers: { ...json, ...headers },
    body: JSON.stringify({ json: input }),
  });
  await res.arrayBuffer();
  return res;
}

/** The member's session and an org page's worth of data. */
async function member(base: string) {
  const email = `member-${randomUUID().slice(0, 6)}@example.com`;
  const res = await mutate(
    base,
    'auth.signup',
    { email, password: 'password-123', name: 'Member' },
    { 'x-forwarded-for': '198.51.100.1' },
  );
  const cookie = res.headers.getSetCookie()[0]!.split(';')[0]!;
  await mutate(base, 'orgs.create', { name: 'Bench Org', slug: 'bench-org' }, { cookie });
  const input = encodeURIComponent(
    JSON.stringify({
      0: { json: null },
      1: { json: null },
      2: { json: { orgSlug: 'bench-org' } },
      3: { json: { orgSlug: 'bench-org' } },
    }),
  );
  const url = `${base}/auth.me,orgs.list,claws.list,orgs.members?batch=1&input=${input}`;
  return async () => {
    const t0 = performance.now();
    const r = await fetch(url, { headers: { cookie } });
    await r.arrayBuffer();
    if (!r.ok) throw new Error(`member request failed: ${r.status}`);
    return performance.now() - t0;
  };
}

async function flood(base: string, distinct: boolean) {
  const statuses: Record<number, number> = {};
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= LOGINS) return;
      const headers: Record<string, string> = distinct
        ? { 'x-forwarded-for': `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` }
        : {};
      const r = await mutate(
        base,
        'auth.login',
        { email: `nobody-${i}@example.com`, password: 'guess' },
        headers,
      );
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return { statuses, seconds: (performance.now() - t0) / 1000 };
}

interface Scenario {
  name: string;
  flood: 'none' | 'one address' | 'many addresses';
  env: Record<string, string>;
}
const scenarios: Scenario[] = [
  { name: 'baseline', flood: 'none', env: {} },
  { name: 'flood, one address (throttled)', flood: 'one address', env: {} },
  {
    name: 'flood, 200 addresses, hashing bounded (2)',
    flood: 'many addresses',
    env: { PASSWORD_HASH_CONCURRENCY: '2', PASSWORD_HASH_QUEUE: '1000' },
  },
  {
    name: 'flood, 200 addresses, hashing unbounded (64)',
    flood: 'many addresses',
    env: { PASSWORD_HASH_CONCURRENCY: '64', PASSWORD_HASH_QUEUE: '1000' },
  },
];

const rows: Record<string, unknown>[] = [];
try {
  for (const s of scenarios) {
    const server = await startServer({
      DATABASE_URL: await freshDatabase(),
      // The forged header stands in for many clients; only the scenario that needs it trusts it.
      ...(s.flood === 'many addresses' || s.flood === 'none'
        ? { CLAWS_CLIENT_ADDRESS_HEADER: 'x-forwarded-for' }
        : {}),
      ...s.env,
    });
    try {
      const use = await member(server.base);
      for (let i = 0; i < 5; i++) await use(); // warm up
      const samples: number[] = [];
      let floodResult: Awaited<ReturnType<typeof flood>> | null = null;
      if (s.flood === 'none') {
        for (let i = 0; i < 100; i++) samples.push(await use());
      } else {
        let done = false;
        const f = flood(server.base, s.flood === 'many addresses').then((r) => {
          done = true;
          return r;
        });
        while (!done || samples.length < MIN_MEMBER_REQUESTS) samples.push(await use());
        floodResult = await f;
      }
      const stats = summarize(samples);
      rows.push({
        scenario: s.name,
        logins: floodResult ? LOGINS : 0,
        'refused 429': floodResult?.statuses[429] ?? 0,
        'checked (400)': floodResult?.statuses[400] ?? 0,
        'flood s': floodResult ? Number(floodResult.seconds.toFixed(2)) : 0,
        'member n': stats.n,
        'p50 ms': Number(stats.p50.toFixed(1)),
        'p95 ms': Number(stats.p95.toFixed(1)),
        'p99 ms': Number(stats.p99.toFixed(1)),
      });
    } finally {
      await server.stop();
    }
  }
  printTable('A member on the dashboard during 200 anonymous logins (loopback)', rows);
  const p95 = (i: number) => rows[i]!['p95 ms'] as number;
  console.log(
    `\nmember p95: ${p95(1)} ms under a one-address flood, ${p95(2)} ms under a 200-address flood with bounded hashing ` +
      `(${p95(3)} ms unbounded), against ${p95(0)} ms at rest`,
  );
  console.log(`results: ${writeResults('auth-load', { logins: LOGINS, inFlight: IN_FLIGHT, rows })}`);
} finally {
  pgServer.stop();
}
