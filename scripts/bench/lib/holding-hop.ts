import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP hop in front of a real Mini agent that, while holding, leaves every `POST /claws`
 * unanswered: a worker that sends one is stuck mid-step, holding that claw's claim, until it is
 * killed. Released, it passes everything through. Held requests are never forwarded: they die
 * with the worker that sent them, as an agent call cut by a crash does.
 */
export async function startHoldingHop(target: string) {
  let holding = true;
  const held: { at: number; req: http.IncomingMessage }[] = [];
  const server = http.createServer((req, res) => {
    if (holding && req.method === 'POST' && req.url === '/claws') {
      held.push({ at: Date.now(), req });
      return;
    }
    const upstream = http.request(
      new URL(req.url ?? '/', target),
      { method: req.method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** When each held request arrived. */
    heldAt: () => held.map((h) => h.at),
    release() {
      holding = false;
      for (const h of held.splice(0)) h.req.socket.destroy();
    },
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}
