import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import WebSocket from 'ws';
import { freePort } from '../../tests/fixtures/processes';
import { printTable, summarize, writeResults } from './lib/report';

/**
 * `npm run bench:proxy`: 200-byte frames against an echoing gateway in its own process, three ways
 * in the same run — directly, through a bare `ws` relay process, and through the Claws proxy in its
 * own process: round-trip latency over sequential messages and pipelined throughput.
 */
const SEQUENTIAL = Number(process.env.BENCH_PROXY_SEQUENTIAL ?? 10_000);
const PIPELINED = Number(process.env.BENCH_PROXY_PIPELINED ?? 200_000);
const WINDOW = 512;
const TOKEN = 'bench-proxy-token-0123456789abcdef';
const root = path.resolve(import.meta.dirname, '../..');

function start(script: string, args: string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: root,
      env: { ...process.env, BENCH_TOKEN: TOKEN },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout!.on('data', (d) => String(d).includes('ready') && resolve(child));
    child.once('exit', (code) => reject(new Error(`${script} exited ${code}`)));
  });
}

/** Connects and completes the handshake (the client's own connect goes to whoever answers). */
async function connect(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', function onMsg(data) {
      const f = JSON.parse(data.toString());
      if (f.event === 'connect.challenge')
        ws.send(
          JSON.stringify({
            type: 'req',
            id: 'hello',
            method: 'connect',
            params: {
              minProtocol: 4,
              maxProtocol: 4,
              client: { id: 'gateway-client', version: 'bench', platform: 'linux', mode: 'backend' },
              role: 'operator',
              scopes: ['operator.read', 'operator.write'],
              auth: { token: TOKEN },
            },
          }),
        );
      else if (f.id === 'hello') {
        ws.off('message', onMsg);
        if (f.ok) resolve();
        else reject(new Error(JSON.stringify(f.error)));
      }
    });
  });
  return ws;
}

/** A 200-byte request frame with id `n` (padded). */
function frame(n: number): string {
  const head = `{"type":"req","id":"${n}","method":"chat.send","params":{"sessionKey":"main","message":"`;
  const tail = `","idempotencyKey":"k"}}`;
  return head + 'x'.repeat(200 - head.length - tail.length) + tail;
}

async function measure(url: string) {
  const ws = await connect(url);
  let resolveNext: (() => void) | undefined;
  let received = 0;
  ws.on('message', () => {
    received++;
    resolveNext?.();
  });
  const rtts: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const t = performance.now();
    await new Promise<void>((r) => {
      resolveNext = r;
      ws.send(frame(i));
    });
    rtts.push((performance.now() - t) * 1000);
  }
  resolveNext = undefined;
  received = 0;
  let sent = 0;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (sent < PIPELINED && sent - received < WINDOW) ws.send(frame(sent++));
    };
    ws.on('message', () => {
      if (received >= PIPELINED) resolve();
      else pump();
    });
    pump();
  });
  const seconds = (performance.now() - started) / 1000;
  ws.close();
  return { latency: summarize(rtts), throughput: PIPELINED / seconds };
}

const [gwPort, relayPort, proxyPort] = [await freePort(), await freePort(), await freePort()];
const children: ChildProcess[] = [];
try {
  children.push(await start('scripts/bench/proxy/echo-gateway.ts', [String(gwPort)]));
  children.push(
    await start('scripts/bench/proxy/bare-relay.ts', [String(relayPort), `ws://127.0.0.1:${gwPort}`]),
  );
  children.push(
    await start('scripts/bench/proxy/claws-proxy-server.ts', [String(proxyPort), String(gwPort)]),
  );
  const direct = await measure(`ws://127.0.0.1:${gwPort}`);
  const bare = await measure(`ws://127.0.0.1:${relayPort}`);
  const claws = await measure(`ws://127.0.0.1:${proxyPort}/api/ws/claws/bench/bench`);
  const row = (name: string, r: typeof direct) => ({
    path: name,
    'p50 µs': Math.round(r.latency.p50),
    'p99 µs': Math.round(r.latency.p99),
    'p99 added µs': Math.round(r.latency.p99 - direct.latency.p99),
    'msgs/s': Math.round(r.throughput),
  });
  const rows = [row('direct', direct), row('bare ws relay', bare), row('Claws proxy', claws)];
  printTable(`Proxy: 200-byte frames, ${SEQUENTIAL} sequential round trips, ${PIPELINED} pipelined`, rows);
  console.log(`\nproxy/bare-relay throughput ratio: ${(claws.throughput / bare.throughput).toFixed(2)}`);
  console.log(`bare-relay/direct throughput ratio: ${(bare.throughput / direct.throughput).toFixed(2)}`);
  console.log(
    `p99 latency added over direct: bare relay ${((bare.latency.p99 - direct.latency.p99) / 1000).toFixed(3)} ms, Claws proxy ${((claws.latency.p99 - direct.latency.p99) / 1000).toFixed(3)} ms`,
  );
  console.log(`results: ${writeResults('proxy', { sequential: SEQUENTIAL, pipelined: PIPELINED, rows })}`);
} finally {
  for (const c of children) c.kill('SIGTERM');
}
